"""The Jinja2 environment automation expressions run in, and the limits that keep a
firm-written expression from reaching Python objects or exhausting the worker.

Layers, outermost first:
- `ImmutableSandboxedEnvironment`: no underscore attributes, no mutation of lists and dicts.
- An allow-list of attributes: only a few read-only methods of str, dict and list are
  reachable at all (so `format`, `format_map`, `mro`, `__class__` … never are), and on a dict
  a key wins over a method of the same name (`trigger.items` is the payload's `items`).
- An allow-list of filters and globals: nothing random (`random`), nothing that builds an
  object (`cycler`, `joiner`, `namespace`, `lipsum`, `attr`), nothing whose output size an
  argument alone decides (`center`, `indent`, `format`, `batch`, `slice`); `range` is capped.
- Size guards on every operation that can grow a value faster than its input (`*`, `**`,
  `+`, `~`, `replace`, `join`), and a per-evaluation work budget charged with the size of
  every string, list and dict a filter or method returns, so no chain of individually small
  steps (e.g. `map` over a capped range) adds up to gigabytes.

Everything here is pure Python and jinja2 with no I/O, so the module is safe to import in a
Temporal workflow sandbox.
"""

import contextvars
import functools
import json
import math
import types
from collections.abc import Callable, ItemsView, Iterable, KeysView, Mapping, ValuesView
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_environment

from pure.expressions.errors import ExpressionError

# A string an expression builds, and the text a template renders, stay under this many
# characters; the value an expression returns stays under the step output cap.
MAX_STRING = 256 * 1024
MAX_OUTPUT_BYTES = 256 * 1024
MAX_RANGE = 10_000
MAX_INT_BITS = 4096
MAX_DEPTH = 100
# Characters plus items all filters and methods of one evaluation may produce in total.
MAX_WORK = 4 * 1024 * 1024

_ALLOWED_METHODS: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    (
        str,
        frozenset(
            [
                "lower",
                "upper",
                "title",
                "capitalize",
                "casefold",
                "strip",
                "lstrip",
                "rstrip",
                "split",
                "rsplit",
                "splitlines",
                "startswith",
                "endswith",
                "count",
                "find",
                "rfind",
                "removeprefix",
                "removesuffix",
                "partition",
                "rpartition",
                "isdigit",
                "isdecimal",
                "isnumeric",
                "isalpha",
                "isalnum",
                "isspace",
                "islower",
                "isupper",
                "replace",
                "join",
            ]
        ),
    ),
    (dict, frozenset({"keys", "values", "items", "get"})),
    ((list, tuple), frozenset({"count", "index"})),
)

_FILTERS = [
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "filesizeformat",
    "first",
    "float",
    "groupby",
    "int",
    "items",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "round",
    "select",
    "selectattr",
    "sort",
    "striptags",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
    "wordwrap",
]

_work: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "expression_work", default=None
)


def start_budget() -> contextvars.Token[list[int] | None]:
    return _work.set([0])


def end_budget(token: contextvars.Token[list[int] | None]) -> None:
    _work.reset(token)


def _charge(units: int) -> None:
    budget = _work.get()
    if budget is None:
        return
    budget[0] += units
    if budget[0] > MAX_WORK:
        raise ExpressionError(
            f"expression does too much work (more than {MAX_WORK} characters and items)"
        )


def _charge_result(value: Any) -> Any:
    if isinstance(value, str | list | tuple | dict):
        _charge(len(value))
    return value


def _check_length(length: int, what: str) -> None:
    if length > MAX_STRING:
        raise ExpressionError(f"{what} would be {length} long; the limit is {MAX_STRING}")


def to_json(value: Any, limit: int) -> Any:
    """A plain JSON copy of an expression's value (str, int, float, bool, None, list, dict),
    refusing anything else by type name and anything whose serialised size passes `limit`.
    The walk stops as soon as the size passes, so a value made of many references to one
    big value costs no more than `limit` to reject."""
    used = 0

    def add(units: int) -> None:
        nonlocal used
        used += units
        if used > limit:
            raise ExpressionError(f"value is larger than {limit} bytes serialised")

    def walk(item: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"value is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, Undefined):
            # Raises the UndefinedError or SecurityError the undefined value stands for.
            item._fail_with_undefined_error()
        if item is None or isinstance(item, bool):
            add(5)
            return item
        if isinstance(item, int):
            if item.bit_length() > MAX_INT_BITS:
                raise ExpressionError(f"integer is larger than {MAX_INT_BITS} bits")
            add(len(str(item)))
            return int(item)
        if isinstance(item, float):
            if not math.isfinite(item):
                raise ExpressionError(f"{item} is not a JSON number")
            add(24)
            return float(item)
        if isinstance(item, str):
            add(len(item) + 2)
            return "".join((item,))
        if isinstance(item, Mapping):
            add(2)
            out: dict[str, Any] = {}
            for key, member in item.items():
                if not isinstance(key, str):
                    raise ExpressionError("object keys must be strings")
                add(len(key) + 4)
                out["".join((key,))] = walk(member, depth + 1)
            return out
        if isinstance(
            item, list | tuple | range | types.GeneratorType | KeysView | ValuesView | ItemsView
        ):
            add(2)
            members = []
            for member in item:
                add(1)
                members.append(walk(member, depth + 1))
            return members
        raise ExpressionError(f"expression produced a {type(item).__name__}, not a JSON value")

    return walk(value, 0)


def text(value: Any) -> str:
    """How a value reads inside text: a string as itself, anything else as JSON (`true`,
    `null`, `{"a": 1}`), so a template can build a JSON body from typed values."""
    if isinstance(value, str) and not isinstance(value, Undefined):
        return "".join((value,))
    return json.dumps(to_json(value, MAX_STRING), ensure_ascii=False)


def _capped_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise ExpressionError(f"range of {len(rng)} items is over the limit of {MAX_RANGE}")
    _charge(len(rng))
    return rng


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    source, old_text, new_text = text(value), text(old), text(new)
    hits = source.count(old_text) if old_text else len(source) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    _check_length(len(source) + hits * (len(new_text) - len(old_text)), "replaced string")
    result = source.replace(old_text, new_text, -1 if count is None else count)
    return _charge_result(result)  # type: ignore[no-any-return]


def _join_texts(separator: str, items: Iterable[Any]) -> str:
    texts: list[str] = []
    length = 0
    for item in items:
        piece = text(item)
        length += len(piece) + (len(separator) if texts else 0)
        _check_length(length, "joined string")
        texts.append(piece)
    return _charge_result(separator.join(texts))  # type: ignore[no-any-return]


@pass_environment
def _join(
    environment: ImmutableSandboxedEnvironment,
    value: Iterable[Any],
    d: str = "",
    attribute: str | int | None = None,
) -> str:
    if attribute is not None:
        value = map(make_attrgetter(environment, attribute), value)
    return _join_texts(text(d), value)


def _tojson(value: Any, indent: int | None = None) -> str:
    if indent is not None and not 0 <= indent <= 8:
        raise ExpressionError("tojson indent must be between 0 and 8")
    result = json.dumps(to_json(value, MAX_STRING), ensure_ascii=False, indent=indent)
    return _charge_result(result)  # type: ignore[no-any-return]


@pass_environment
def _sum(
    environment: ImmutableSandboxedEnvironment,
    value: Iterable[Any],
    attribute: str | int | None = None,
    start: int | float = 0,
) -> Any:
    # Summing lists or strings would be repetition by another name; only numbers add up.
    if not isinstance(start, int | float):
        raise ExpressionError("sum adds numbers only")
    if attribute is not None:
        value = map(make_attrgetter(environment, attribute), value)
    total: int | float = start
    for member in value:
        if isinstance(member, Undefined):
            member._fail_with_undefined_error()
        if not isinstance(member, int | float):
            raise ExpressionError("sum adds numbers only")
        total += member
    return total


def _float(value: Any, default: float = 0.0) -> float:
    result = float(FILTERS["float"](value, default))
    if not math.isfinite(result):
        raise ExpressionError(f"{value!r} is not a finite number")
    return result


def _charging(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps jinja's pass_context/pass_environment marker
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _charge_result(function(*args, **kwargs))

    return wrapper


def _multiply(left: Any, right: Any) -> Any:
    if isinstance(left, list | tuple) or isinstance(right, list | tuple):
        raise ExpressionError("list repetition with * is not supported")
    if isinstance(left, str) and isinstance(right, int):
        _check_length(len(left) * max(right, 0), "repeated string")
        return _charge_result(left * right)
    if isinstance(left, int) and isinstance(right, str):
        return _multiply(right, left)
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_INT_BITS
    ):
        raise ExpressionError(f"product is larger than {MAX_INT_BITS} bits")
    return left * right


def _power(left: Any, right: Any) -> Any:
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and abs(left) > 1
        and left.bit_length() * right > MAX_INT_BITS
    ):
        raise ExpressionError(f"power is larger than {MAX_INT_BITS} bits")
    return left**right


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        _check_length(len(left) + len(right), "concatenation")
    return _charge_result(left + right)


def _modulo(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        raise ExpressionError("% string formatting is not supported; use ~ to join text")
    return left % right


class _CodeGenerator(CodeGenerator):
    """Routes `a ~ b` through `environment.concat_text`, so joining text is size-checked and
    renders typed values the same way as `{{ }}` does."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_text((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class ExpressionEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=text,
            cache_size=0,
        )
        self.globals.clear()
        self.globals.update(range=_capped_range, dict=dict)
        self.filters.clear()
        self.filters.update({name: _charging(FILTERS[name]) for name in _FILTERS})
        self.filters.update(
            replace=_replace,
            join=_join,
            tojson=_tojson,
            string=_charging(text),
            sum=_sum,
            float=_float,
        )
        self.binop_table.update({"*": _multiply, "**": _power, "+": _add, "%": _modulo})

    def concat_text(self, values: Iterable[Any]) -> str:
        return _join_texts("", values)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_"):
            return False
        for owner, names in _ALLOWED_METHODS:
            if isinstance(obj, owner):
                return attr in names
        return False

    def wrap_str_format(self, value: Any) -> None:
        # Jinja would hand out a sandboxed str.format here, before the attribute check; its
        # field widths (`"{:999999999}"`) are a memory bomb, so format stays unreachable.
        return None

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call(
        # Jinja's signature: the double underscores keep callers' kwargs from clashing.
        __self,
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(__obj, types.BuiltinMethodType) and isinstance(owner, str):
            if __obj.__name__ == "replace":
                return _replace(owner, *args, **kwargs)
            if __obj.__name__ == "join" and not kwargs and len(args) == 1:
                return _join_texts(owner, args[0])
        return _charge_result(super().call(__context, __obj, *args, **kwargs))


ENVIRONMENT = ExpressionEnvironment()
