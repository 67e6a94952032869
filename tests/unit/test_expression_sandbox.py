"""Expressions are written by firms, so each known way out of a Jinja2 sandbox, and each way
to make one evaluation eat the worker, must end as an ExpressionError that names no Python
object — never as a value, a hang or a MemoryError."""

import time
from typing import Any

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pure.expressions import ExpressionError, evaluate, render, syntax_error
from pure.expressions.sandbox import MAX_RANGE, MAX_STRING, MAX_WORK

CONTEXT: dict[str, Any] = {
    "trigger": {"name": "Acme", "tags": ["a", "b"], "n": 3},
    "steps": {},
    "vars": {},
    "run": {"id": "r", "version": 1, "started_at": "2026-01-01T00:00:00+00:00"},
    "firm": {"id": "f", "time_zone": "UTC"},
    "secrets": {},
}


def braces(expression: str) -> str:
    return "{{ " + expression + " }}"


ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.mro() }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ trigger.__class__ }}",
    "{{ trigger['__class__'] }}",
    "{{ trigger.tags.__class__.__subclasses__() }}",
    "{{ (1).__class__.__mro__[1].__subclasses__() }}",
    "{{ range.__globals__ }}",
    "{{ range.__globals__['__builtins__'] }}",
    "{{ dict.__init__.__globals__ }}",
    "{{ dict.mro() }}",
    "{{ dict.fromkeys('abc') }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ '{0.__class__}'.format(trigger) }}",
    "{{ '{0.__class__.__mro__}'.format(1) }}",
    "{{ trigger.name.format_map(trigger) }}",
    "{{ '{:999999999}'.format(1) }}",
    "{{ trigger['name']['format']('{0.__class__}') }}",
    "{{ trigger.pop('name') }}",
    "{{ trigger.update({'a': 1}) }}",
    "{{ trigger.tags.append(1) }}",
    "{{ trigger.tags.clear() }}",
    "{{ trigger.name.center(1000000000) }}",
    "{{ trigger.name.zfill(1000000000) }}",
    "{{ trigger.name.encode() }}",
    "{{ trigger.items.__self__ }}",
    "{{ trigger.get.__self__.__class__ }}",
    "{{ (trigger.keys()).mapping }}",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_sandbox_escapes_are_expression_errors(text: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        render(text, CONTEXT)
    message = caught.value.message
    assert "unsafe" in message or "undefined" in message or "has no attribute" in message
    # The message names an attribute, never a Python object's repr.
    assert "<" not in message


@pytest.mark.parametrize(
    "text",
    [
        "{{ x | attr('__class__') }}",
        "{{ trigger | attr('__class__') }}",
        "{{ trigger.tags | map('attr', '__class__') | list }}",
        "{{ lipsum() }}",
        "{{ lipsum }}",
        "{{ cycler(1, 2).next() }}",
        "{{ joiner(',')() }}",
        "{{ namespace(a=1) }}",
        "{{ trigger.tags | random }}",
        "{{ '%s' | format(1) }}",
        "{{ 'x' | center(1000000000) }}",
        "{{ 'x' | indent(1000000000) }}",
        "{{ [1] | batch(1000000000, 0) | list }}",
        "{{ [1] | slice(1000000000, 0) | list }}",
        "{{ trigger | pprint }}",
        "{{ trigger | xmlattr }}",
        "{{ 'x' | urlize }}",
    ],
)
def test_unsafe_or_nondeterministic_filters_and_globals_are_absent(text: str) -> None:
    with pytest.raises(ExpressionError, match=r"No filter named|is undefined|No test named"):
        render(text, CONTEXT)


@pytest.mark.parametrize("name", ["lipsum", "cycler", "joiner", "namespace", "now", "random"])
def test_nondeterministic_or_object_building_globals_are_undefined(name: str) -> None:
    with pytest.raises(ExpressionError, match=f"'{name}' is undefined"):
        evaluate(name, CONTEXT)


def test_a_missing_attr_filter_is_caught_at_validation_time() -> None:
    message = syntax_error("{{ x | attr('__class__') }}")
    assert message is not None and "No filter named 'attr'" in message


def test_range_is_capped() -> None:
    assert len(render(braces(f"range({MAX_RANGE})"), CONTEXT)) == MAX_RANGE
    with pytest.raises(ExpressionError, match="over the limit"):
        render(braces(f"range({MAX_RANGE + 1})"), CONTEXT)
    with pytest.raises(ExpressionError, match="over the limit"):
        render("{{ range(10 ** 18) | length }}", CONTEXT)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ 'a' * 1000000000 }}", "repeated string"),
        ("{{ 1000000000 * 'a' }}", "repeated string"),
        ("{{ ('a' * 200000) * 2 }}", "repeated string"),
        ("{{ [1] * 1000000000 }}", "list repetition"),
        ("{{ trigger.tags * 2 }}", "list repetition"),
        ("{{ 10 ** 100000 }}", "larger than 4096 bits"),
        ("{{ 2 ** 4000 * 2 ** 4000 }}", "larger than 4096 bits"),
        ("{{ ('a' * 200000) + ('a' * 200000) }}", "concatenation"),
        ("{{ ('a' * 200000) ~ ('a' * 200000) }}", "joined string"),
        ("{{ ('a' * 200000) | replace('a', 'bb') }}", "replaced string"),
        ("{{ ('a' * 200000).replace('a', 'bb') }}", "replaced string"),
        ("{{ 'a' | replace('', 'b' * 200000) }}", "replaced string"),
        ("{{ range(10000) | join('x' * 100) }}", "joined string"),
        ("{{ ('x' * 100).join(range(10000) | map('string')) }}", "joined string"),
        ("{{ '%999999999d' % 1 }}", "% string formatting"),
        ("{{ trigger.tags | sum(start=[]) }}", "sum adds numbers only"),
        ("{{ [[1], [2]] | sum(start=[]) }}", "sum adds numbers only"),
        ("{{ ('a' * 262144) | tojson }}", "larger than"),
        (
            "{{ range(10000) | map(attribute='x', default='y' * 200000) | map('upper') | list }}",
            "too much work",
        ),
        ("{{ range(10000) | map(attribute='x', default='y' * 200000) | list }}", "larger than"),
        ("{{ ('a' * 1000).split('') }}", "empty separator"),
    ],
)
def test_bombs_are_capped(text: str, fragment: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=fragment):
        render(text, CONTEXT)
    # A bomb is refused before it is built, not after the worker has churned through it.
    assert time.perf_counter() - started < 2


def test_limits_allow_ordinary_sizes() -> None:
    assert len(render("x" + braces(f"'a' * {MAX_STRING - 1}"), CONTEXT)) == MAX_STRING
    # A native value's cap counts the quotes of its JSON form.
    assert len(render(braces(f"'a' * {MAX_STRING - 2}"), CONTEXT)) == MAX_STRING - 2
    assert render("{{ 2 ** 100 }}", CONTEXT) == 2**100
    assert render("{{ range(100) | map('string') | join(',') }}", CONTEXT).count(",") == 99
    assert render("{{ trigger.tags + ['c'] }}", CONTEXT) == ["a", "b", "c"]
    assert render("{{ [1, 2, 3] | sum }}", CONTEXT) == 6
    assert render("{{ [{'a': {'b': 2}}, {'a': {'b': 3}}] | sum(attribute='a.b') }}", CONTEXT) == 5
    assert render("{{ 7 % 3 }}", CONTEXT) == 1


def test_mixed_text_output_is_capped() -> None:
    half = MAX_STRING // 2 + 1
    with pytest.raises(ExpressionError, match="longer than"):
        render(braces(f"'a' * {half}") + braces(f"'b' * {half}"), CONTEXT)


def test_work_budget_is_per_evaluation() -> None:
    # Each evaluation below does a little under half of the budget; were the budget shared
    # between evaluations, the third would fail.
    chunk = MAX_WORK // (2 * MAX_STRING) - 1
    text = braces(
        f"range({chunk}) | map(attribute='x', default='y' * {MAX_STRING}) | map('upper')"
        " | map('length') | sum"
    )
    for _ in range(3):
        assert render(text, CONTEXT) == chunk * MAX_STRING


def test_python_objects_never_come_back() -> None:
    for text in ["{{ range }}", "{{ dict }}", "{{ trigger.get }}", "{{ self }}", "{{ ''.upper }}"]:
        with pytest.raises(ExpressionError, match="not a JSON value"):
            render(text, CONTEXT)
    with pytest.raises(ExpressionError, match="not a JSON value"):
        render("in text: {{ trigger.keys }}", CONTEXT)


def test_context_is_not_mutated_by_an_expression() -> None:
    before = repr(CONTEXT)
    for text in ["{{ trigger.tags.append(1) }}", "{{ trigger.setdefault('x', 1) }}"]:
        with pytest.raises(ExpressionError):
            render(text, CONTEXT)
    assert repr(CONTEXT) == before


def test_deeply_nested_values_are_refused() -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ExpressionError, match="nested more than"):
        render("{{ trigger }}", {"trigger": deep})


@workflow.defn(sandboxed=True)
class RenderInWorkflow:
    """Renders inside Temporal's workflow sandbox, where pure.expressions is imported
    afresh (not passed through): the module must do no I/O and use nothing the sandbox
    forbids, and the same inputs must give the same outputs on replay."""

    @workflow.run
    async def run(self, context: dict[str, Any]) -> list[Any]:
        results: list[Any] = [
            render("{{ trigger.name | upper }} at {{ run.started_at }}", context),
            render("{{ trigger.tags | sort }}", context),
            evaluate("trigger.n > 2 and 'a' in trigger.tags", context),
        ]
        try:
            render("{{ ''.__class__ }}", context)
        except ExpressionError as exc:
            results.append(exc.message)
        return results


async def test_expressions_run_inside_the_temporal_workflow_sandbox(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> None:
    async with Worker(temporal_env.client, task_queue=task_queue, workflows=[RenderInWorkflow]):
        result = await temporal_env.client.execute_workflow(
            RenderInWorkflow.run, CONTEXT, id=f"expr-{task_queue}", task_queue=task_queue
        )
    assert result == [
        "ACME at 2026-01-01T00:00:00+00:00",
        ["a", "b"],
        True,
        "access to attribute '__class__' of 'str' object is unsafe.",
    ]
