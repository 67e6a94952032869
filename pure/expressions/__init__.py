"""Automation expressions: `{{ … }}` inside string params and bare expressions in conditions.

Two kinds of text, checked by `syntax_error(text, kind=...)`:
- "template" (string params): text with `{{ expr }}` placeholders. Only placeholders and
  `{# comments #}`; statements (`{% if %}`, `{% for %}` …) are refused, so nothing loops —
  use the inline `a if cond else b`. `render` returns the expression's own value (number,
  dict, list, bool, null) when the whole string is exactly one `{{ expr }}`, and otherwise a
  string in which non-string values appear as JSON (`true`, `null`, `{"a": 1}`).
- "condition": one bare expression (`trigger.amount > 100`), evaluated by `evaluate`.

The context is a mapping of JSON values: `trigger` (the payload), `steps.<id>.output`,
`vars`, `run` (id, version, started_at as an ISO 8601 string), `firm` (id, time_zone) and
`secrets` (name → value, from services.credentials). Nothing in the environment reads the
clock or randomness, so a workflow replays to the same values. Compiled code is cached per
expression text (an LRU), and every failure — syntax, an undefined name (named in the
message), a sandbox escape, a size limit — is an `ExpressionError`.
"""

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from jinja2 import Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser

from pure.expressions.errors import ExpressionError
from pure.expressions.sandbox import (
    ENVIRONMENT,
    MAX_OUTPUT_BYTES,
    MAX_STRING,
    end_budget,
    start_budget,
    to_json,
)

__all__ = [
    "MAX_OUTPUT_BYTES",
    "ExpressionError",
    "check_output_size",
    "evaluate",
    "has_expression",
    "render",
    "render_params",
    "secret_names",
    "secret_names_in_params",
    "step_names_in_params",
    "syntax_error",
]

Kind = Literal["template", "condition"]
_Compiled = Callable[[Mapping[str, Any]], Any]

# Exceptions a firm's expression can raise at run time; anything else is our bug and stays
# an ordinary exception. NameError is what a literal too big for a float (`1e999`) becomes
# once jinja has folded it into the compiled code.
_RUNTIME_ERRORS = (
    NameError,
    TemplateError,
    ArithmeticError,
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
    RecursionError,
)


def has_expression(text: str) -> bool:
    """Whether a string param needs rendering at all (most do not)."""
    return "{{" in text or "{%" in text or "{#" in text


def _message(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "expression is nested too deeply"
    if isinstance(exc, TemplateSyntaxError):
        return f"{exc.message} (line {exc.lineno})"
    return str(exc) or type(exc).__name__


def _expression_runner(expr: nodes.Expr) -> _Compiled:
    body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
    template = ENVIRONMENT.from_string(nodes.Template(body, lineno=1))
    expression = TemplateExpression(template, undefined_to_none=False)

    def run(context: Mapping[str, Any]) -> Any:
        return to_json(expression(context), MAX_OUTPUT_BYTES)

    return run


def _template_runner(template: Template) -> _Compiled:
    def run(context: Mapping[str, Any]) -> Any:
        result = template.render(context)
        if len(result) > MAX_STRING:
            raise ExpressionError(f"rendered text is longer than {MAX_STRING} characters")
        return result

    return run


def _only_placeholders(tree: nodes.Template) -> None:
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            raise ExpressionError(
                "only {{ … }} placeholders are allowed, not {% … %} statements; "
                "use `a if condition else b` inside {{ }}"
            )


@functools.lru_cache(maxsize=2048)
def _compile_template(source: str) -> _Compiled:
    try:
        tree = ENVIRONMENT.parse(source)
        _only_placeholders(tree)
        if (
            len(tree.body) == 1
            and isinstance(tree.body[0], nodes.Output)
            and len(tree.body[0].nodes) == 1
            and not isinstance(tree.body[0].nodes[0], nodes.TemplateData)
        ):
            return _expression_runner(tree.body[0].nodes[0])
        return _template_runner(ENVIRONMENT.from_string(tree))
    except (TemplateError, RecursionError) as exc:
        raise ExpressionError(f"invalid expression: {_message(exc)}") from None


def _parse_condition(source: str) -> nodes.Expr:
    if not source.strip():
        raise ExpressionError("invalid expression: the condition is empty")
    try:
        parser = Parser(ENVIRONMENT, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression", 1)
        expr.set_environment(ENVIRONMENT)
        return expr
    except (TemplateError, RecursionError) as exc:
        raise ExpressionError(f"invalid expression: {_message(exc)}") from None


@functools.lru_cache(maxsize=2048)
def _compile_condition(source: str) -> _Compiled:
    expr = _parse_condition(source)
    try:
        return _expression_runner(expr)
    except (TemplateError, RecursionError) as exc:
        raise ExpressionError(f"invalid expression: {_message(exc)}") from None


@functools.lru_cache(maxsize=2048)
def _members_read(source: str, kind: Kind, root: str) -> tuple[frozenset[str], bool]:
    """The members of the context entry ``root`` that ``source`` reads by a literal name
    (``root.x``, ``root['x']``), and whether it also uses ``root`` some other way (a
    computed name, the whole mapping)."""
    tree: nodes.Node
    if kind == "condition":
        tree = _parse_condition(source)
    else:
        try:
            tree = ENVIRONMENT.parse(source)
        except (TemplateError, RecursionError) as exc:
            raise ExpressionError(f"invalid expression: {_message(exc)}") from None
    names: set[str] = set()
    literal_uses: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name == root):
            continue
        if isinstance(node, nodes.Getattr):
            names.add(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            names.add(node.arg.value)
        else:
            continue
        literal_uses.add(id(target))
    dynamic = any(
        name.name == root and id(name) not in literal_uses for name in tree.find_all(nodes.Name)
    )
    return frozenset(names), dynamic


def syntax_error(text: str, kind: Kind = "template") -> str | None:
    """The message of what is wrong with `text` as a string param ("template") or as a bare
    condition ("condition"), or None when it compiles. Only syntax is checked: names are
    resolved when the expression runs."""
    if kind == "template" and not has_expression(text):
        return None
    try:
        (_compile_template if kind == "template" else _compile_condition)(text)
    except ExpressionError as exc:
        return exc.message
    return None


def secret_names(text: str, kind: Kind = "template") -> frozenset[str]:
    """The credential names `text` reads (`secrets.crm_api_key`, `secrets['crm_api_key']`),
    so a run resolves exactly those and nothing else. Any other use of `secrets` (a computed
    name, the whole mapping) is an ExpressionError: the names must be known before the run."""
    if kind == "template" and not has_expression(text):
        return frozenset()
    names, dynamic = _members_read(text, kind, "secrets")
    if dynamic:
        raise ExpressionError("secrets must be referenced by a literal name, as secrets.<name>")
    return names


def secret_names_in_params(params: Any) -> frozenset[str]:
    """`secret_names` of every string leaf of a step's params, at any depth."""
    if isinstance(params, str):
        return secret_names(params)
    if isinstance(params, Mapping):
        params = list(params.values())
    if isinstance(params, list):
        return frozenset().union(*(secret_names_in_params(value) for value in params))
    return frozenset()


def step_names_in_params(params: Any) -> frozenset[str] | None:
    """The step ids whose outputs the string leaves of ``params`` read (``steps.<id>``), or
    None when some leaf reads ``steps`` by a computed name and so may need any of them. The
    run passes an action only the outputs it reads: a long run's earlier outputs would
    otherwise ride along in every later step's activity input."""
    found: set[str] = set()
    pending: list[Any] = [params]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if has_expression(value):
                names, dynamic = _members_read(value, "template", "steps")
                if dynamic:
                    return None
                found |= names
        elif isinstance(value, Mapping):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return frozenset(found)


def _run(compiled: _Compiled, context: Mapping[str, Any]) -> Any:
    token = start_budget()
    try:
        return compiled(context)
    except ExpressionError:
        raise
    except _RUNTIME_ERRORS as exc:
        raise ExpressionError(_message(exc)) from None
    finally:
        end_budget(token)


def render(template: str, context: Mapping[str, Any]) -> Any:
    """A string param with its placeholders filled in: the native value when the string is
    exactly one `{{ expr }}`, otherwise a string. Text without placeholders is returned as is."""
    if not has_expression(template):
        return template
    return _run(_compile_template(template), context)


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The value of a bare condition expression; the caller decides truthiness."""
    return _run(_compile_condition(expression), context)


def render_params(params: Any, context: Mapping[str, Any]) -> Any:
    """`params` with every string leaf rendered, at any depth; keys and non-strings are kept."""
    if isinstance(params, str):
        return render(params, context)
    if isinstance(params, Mapping):
        return {key: render_params(value, context) for key, value in params.items()}
    if isinstance(params, list):
        return [render_params(value, context) for value in params]
    return params


def check_output_size(value: Any) -> None:
    """Raises when a step output is over MAX_OUTPUT_BYTES as compact UTF-8 JSON, or is not
    JSON at all. Serialisation stops at the first chunk past the limit."""
    size = 0
    try:
        for chunk in json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).iterencode(value):
            size += len(chunk.encode())
            if size > MAX_OUTPUT_BYTES:
                raise ExpressionError(
                    f"step output is larger than {MAX_OUTPUT_BYTES} bytes serialised"
                )
    except (TypeError, ValueError) as exc:
        raise ExpressionError(f"step output is not JSON: {exc}") from None
