"""The definition format and its validation rules: one test per rule, each checking the
JSON pointer and the message of the problem."""

import json
from typing import Any

import pytest

from services.automations.validation import InvalidDefinition, parse_json, problems_of, validate
from workflows.automation.definition import Definition
from workflows.automation.definition.base import MAX_STEPS
from workflows.automation.definition.steps import (
    ConditionStep,
    CreateTaskStep,
    HttpRequestStep,
    SwitchStep,
)


def definition(steps: dict[str, Any], start: str = "a", **top: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": start,
        "steps": steps,
        **top,
    }


def set_step(next_: str | None = None, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"type": "set", "params": {"vars": {"x": 1}}, **extra}
    if next_ is not None:
        step["next"] = next_
    return step


STOP = {"type": "stop"}


def only(problems: list[dict[str, str]]) -> dict[str, str]:
    assert len(problems) == 1, problems
    return problems[0]


def test_a_definition_using_every_step_type_is_valid() -> None:
    steps = {
        "fetch": {
            "type": "http_request",
            "params": {
                "method": "POST",
                "url": "https://crm.example.com/{{ trigger.id }}",
                "headers": {"Authorization": "Bearer {{ secrets.crm }}"},
                "body": {"name": "{{ trigger.name }}", "n": [1, 2]},
                "expected_statuses": [200, 201],
            },
            "retry": {"max_attempts": 5, "initial_interval": 2, "backoff": 2, "max_interval": 60},
            "timeout": 30,
            "on_error": {"goto": "failed"},
            "next": "check",
        },
        "check": {
            "type": "condition",
            "params": {"expression": "steps.fetch.output.status == 200"},
            "then": "route",
            "else": "failed",
        },
        "route": {
            "type": "switch",
            "params": {"value": "trigger.kind"},
            "cases": {"vip": "mail", "task": "todo"},
            "default": "remember",
        },
        "mail": {
            "type": "send_email",
            "params": {"to": ["{{ trigger.email }}"], "subject": "Hi", "body": "Hello"},
            "next": "wait",
        },
        "todo": {
            "type": "create_task",
            "params": {"title": "Call {{ trigger.name }}", "due_date": "2026-12-01"},
            "on_error": "continue",
            "next": "wait",
        },
        "remember": set_step("wait"),
        "wait": {"type": "delay", "params": {"seconds": 3600}, "next": "touch"},
        "touch": {
            "type": "update_client",
            "params": {"client_id": "{{ trigger.client_id }}", "fields": {"status": "active"}},
            "next": "announce",
        },
        "announce": {
            "type": "emit_event",
            "params": {"name": "automation.done", "payload": {"id": "{{ run.id }}"}},
        },
        "failed": {"type": "stop", "params": {"status": "failed", "message": "CRM down"}},
    }
    parsed = validate(definition(steps, start="fetch"))
    assert isinstance(parsed, Definition)
    assert isinstance(parsed.steps["fetch"], HttpRequestStep)
    check = parsed.steps["check"]
    assert isinstance(check, ConditionStep) and check.edges() == {
        "then": "route",
        "else": "failed",
    }
    route = parsed.steps["route"]
    assert isinstance(route, SwitchStep)
    assert route.edges() == {"cases/vip": "mail", "cases/task": "todo", "default": "remember"}


def test_unknown_step_type() -> None:
    problem = only(problems_of(definition({"a": {"type": "teleport", "params": {}}})))
    assert problem["pointer"] == "/steps/a/type"
    assert "unknown step type 'teleport'" in problem["detail"]


def test_step_without_a_type() -> None:
    assert only(problems_of(definition({"a": {"params": {}}})))["pointer"] == "/steps/a/type"


def test_missing_edge() -> None:
    steps = {"a": {"type": "condition", "params": {"expression": "true"}, "then": "b"}, "b": STOP}
    problem = only(problems_of(definition(steps)))
    assert problem == {"pointer": "/steps/a/else", "detail": "Field required"}


def test_dangling_edge() -> None:
    problem = only(problems_of(definition({"a": set_step("nowhere")})))
    assert problem["pointer"] == "/steps/a/next"
    assert "'nowhere'" in problem["detail"] and "does not exist" in problem["detail"]


def test_dangling_switch_case_pointer_is_escaped() -> None:
    steps = {
        "a": {"type": "switch", "params": {"value": "trigger.x"}, "cases": {"a/b~c": "zz"}},
    }
    assert only(problems_of(definition(steps)))["pointer"] == "/steps/a/cases/a~1b~0c"


def test_dangling_on_error_goto() -> None:
    steps = {"a": {**set_step(), "on_error": {"goto": "zz"}}}
    assert only(problems_of(definition(steps)))["pointer"] == "/steps/a/on_error/goto"


def test_start_must_name_a_step() -> None:
    problem = only(problems_of(definition({"a": STOP}, start="b")))
    assert problem["pointer"] == "/start"


def test_unreachable_step() -> None:
    problem = only(problems_of(definition({"a": STOP, "orphan": STOP})))
    assert problem == {"pointer": "/steps/orphan", "detail": "unreachable from the start step"}


def test_cycle() -> None:
    steps = {"a": set_step("b"), "b": set_step("c"), "c": set_step("a")}
    problem = only(problems_of(definition(steps)))
    assert problem["pointer"] == "/steps/c/next"
    assert "a → b → c → a" in problem["detail"]


def test_self_loop_through_a_branch() -> None:
    steps = {
        "a": {"type": "condition", "params": {"expression": "x"}, "then": "a", "else": "b"},
        "b": STOP,
    }
    assert only(problems_of(definition(steps)))["pointer"] == "/steps/a/then"


def test_diamond_is_not_a_cycle() -> None:
    steps = {
        "a": {"type": "condition", "params": {"expression": "x"}, "then": "b", "else": "c"},
        "b": set_step("d"),
        "c": set_step("d"),
        "d": STOP,
    }
    assert problems_of(definition(steps)) == []


def test_bad_template_syntax() -> None:
    steps = {
        "notify": {
            "type": "send_email",
            "params": {"to": ["{{ trigger.email "], "subject": "s", "body": "b"},
        }
    }
    problem = only(problems_of(definition(steps, start="notify")))
    assert problem["pointer"] == "/steps/notify/params/to/0"
    assert problem["detail"].startswith("invalid expression")


def test_bad_bare_expression() -> None:
    steps = {
        "a": {"type": "condition", "params": {"expression": "x >"}, "then": "b", "else": "b"},
        "b": STOP,
    }
    problem = only(problems_of(definition(steps)))
    assert problem["pointer"] == "/steps/a/params/expression"
    assert problem["detail"].startswith("invalid expression")


def test_secrets_in_a_control_step() -> None:
    steps = {
        "a": {
            "type": "condition",
            "params": {"expression": "secrets.crm_key == 'x'"},
            "then": "b",
            "else": "b",
        },
        "b": {"type": "set", "params": {"vars": {"k": ["{{ secrets['crm_key'] }}"]}}, "next": "c"},
        "c": {"type": "stop", "params": {"message": "{{ secrets.crm_key }}"}},
    }
    problems = problems_of(definition(steps))
    assert [p["pointer"] for p in problems] == [
        "/steps/a/params/expression",
        "/steps/b/params/vars/k/0",
        "/steps/c/params/message",
    ]
    assert {p["detail"] for p in problems} == {
        "secrets are only available to action steps, not to control steps"
    }
    # The same reference in an action step is what secrets are for.
    action = {"type": "http_request", "params": {"url": "https://x.test/{{ secrets.crm_key }}"}}
    assert problems_of(definition({"a": action})) == []


def test_duplicate_step_ids() -> None:
    raw = b'{"schema_version": 1, "steps": {"a": {"type": "stop"}, "a": {"type": "stop"}}}'
    with pytest.raises(InvalidDefinition) as caught:
        parse_json(raw)
    assert caught.value.problems == [{"pointer": "/steps/a", "detail": "duplicate step id 'a'"}]


def test_duplicate_keys_elsewhere() -> None:
    raw = b'{"steps": {"a": {"type": "stop", "params": {"status": "failed", "status": "x"}}}}'
    with pytest.raises(InvalidDefinition) as caught:
        parse_json(raw)
    assert caught.value.problems[0]["pointer"] == "/steps/a/params/status"


def test_too_many_steps() -> None:
    steps = {f"s{i}": set_step(f"s{i + 1}") for i in range(MAX_STEPS)}
    steps[f"s{MAX_STEPS}"] = STOP
    problem = only(problems_of(definition(steps, start="s0")))
    assert problem["pointer"] == "/steps" and "at most 2000" in problem["detail"]


def test_exactly_the_step_limit_is_valid() -> None:
    steps = {f"s{i}": set_step(f"s{i + 1}") for i in range(MAX_STEPS - 1)}
    steps[f"s{MAX_STEPS - 1}"] = STOP
    assert problems_of(definition(steps, start="s0")) == []


def test_invalid_step_id() -> None:
    problems = problems_of(definition({"a": set_step("9 lives"), "9 lives": STOP}))
    # Both the id itself and the edge naming it.
    assert {p["pointer"] for p in problems} == {"/steps/9 lives", "/steps/a/next"}


def test_unknown_member_of_a_step() -> None:
    problem = only(problems_of(definition({"a": {**STOP, "colour": "red"}})))
    assert problem == {"pointer": "/steps/a/colour", "detail": "unknown member"}


def test_params_are_checked_per_type() -> None:
    steps = {"a": {"type": "http_request", "params": {"method": "BREW", "url": "https://x"}}}
    assert only(problems_of(definition(steps)))["pointer"] == "/steps/a/params/method"


def test_delay_needs_exactly_one_of_seconds_or_until() -> None:
    steps = {"a": {"type": "delay", "params": {"seconds": 5, "until": "{{ trigger.at }}"}}}
    assert only(problems_of(definition(steps)))["pointer"] == "/steps/a/params"


def test_retry_policy_bounds() -> None:
    steps = {"a": {**STOP, "retry": {"max_attempts": 0}}}
    assert only(problems_of(definition(steps)))["pointer"] == "/steps/a/retry/max_attempts"


def test_on_error_must_be_fail_continue_or_goto() -> None:
    assert (
        only(problems_of(definition({"a": {**STOP, "on_error": "ignore"}})))["pointer"]
        == "/steps/a/on_error"
    )


def test_unknown_trigger_type() -> None:
    problem = only(problems_of(definition({"a": STOP}, trigger={"type": "telepathy"})))
    assert problem["pointer"] == "/trigger"


def test_unknown_trigger_member_names_the_member_not_the_union_tag() -> None:
    data = definition({"a": STOP}, trigger={"type": "webhook", "secret": "x"})
    assert only(problems_of(data))["pointer"] == "/trigger/secret"


def test_schema_version_must_be_1() -> None:
    assert (
        only(problems_of(definition({"a": STOP}, schema_version=2)))["pointer"] == "/schema_version"
    )


def test_no_steps() -> None:
    assert only(problems_of(definition({})))["pointer"] == "/steps"


def test_not_an_object() -> None:
    assert problems_of([1, 2]) == [{"pointer": "", "detail": "the definition must be an object"}]
    with pytest.raises(InvalidDefinition):
        parse_json(b"[1, 2]")
    with pytest.raises(InvalidDefinition):
        parse_json(b"{not json")


def test_a_later_stage_waits_for_the_earlier_one() -> None:
    """A bad step type and a dangling edge elsewhere: only the first is reported, so one
    mistake does not bury the others in noise."""
    steps = {"a": {"type": "nope"}, "b": set_step("zz")}
    assert [p["pointer"] for p in problems_of(definition(steps))] == ["/steps/a/type"]


def test_the_problem_detail_names_each_pointer() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        validate(definition({"a": set_step("zz")}))
    assert caught.value.status == 422
    assert caught.value.detail.startswith("/steps/a/next: ")
    assert json.dumps(caught.value.errors)


def test_statements_in_templates_are_refused() -> None:
    """Templates hold placeholders only: a {% for %} would loop inside the workflow."""
    steps = {
        "a": {
            "type": "send_email",
            "params": {
                "to": ["x@example.com"],
                "subject": "s",
                "body": "{% for i in x %}{% endfor %}",
            },
        }
    }
    assert only(problems_of(definition(steps)))["pointer"] == "/steps/a/params/body"


@pytest.mark.parametrize("depth", [33, 900, 100_000])
def test_nesting_too_deep(depth: int) -> None:
    """Refused before anything walks the document recursively (a 500 otherwise)."""
    raw = b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(InvalidDefinition) as caught:
        parse_json(raw)
    assert caught.value.problems[0]["pointer"] == ""
    deep: Any = []
    for _ in range(depth if depth < 1000 else 40):
        deep = [deep]
    assert problems_of({"a": deep})[0]["detail"].startswith("objects and arrays nest more")


def test_nesting_at_the_limit_is_fine() -> None:
    deep: Any = 1
    for _ in range(31):
        deep = [deep]
    # The document, then "a", then 31 arrays: 32 levels.
    assert parse_json(json.dumps({"a": deep}).encode()) == {"a": deep}


def _http(**extra: Any) -> dict[str, Any]:
    return {"type": "http_request", "params": {"url": "https://crm.example.com/"}, **extra}


def _action(step: dict[str, Any]) -> HttpRequestStep:
    parsed = Definition.model_validate(definition({"a": step}))
    action = parsed.steps["a"]
    assert isinstance(action, HttpRequestStep)
    return action


def test_a_short_action_runs_locally_and_a_long_one_as_an_activity() -> None:
    # The HTTP timeout (30 s by default) is the step's work unless the step bounds it.
    assert not _action(_http()).runs_locally()
    assert _action(_http(params={"url": "https://x.example/", "timeout": 10})).runs_locally()
    assert _action(_http(timeout=5)).runs_locally()
    assert not _action(_http(timeout=10.5)).runs_locally()
    assert not _action(_http(timeout=5, execution="activity")).runs_locally()
    assert _action(_http(timeout=5, execution="local")).runs_locally()
    create = Definition.model_validate(
        definition({"a": {"type": "create_task", "params": {"title": "Call back"}}})
    ).steps["a"]
    assert isinstance(create, CreateTaskStep) and create.runs_locally()


def test_a_local_step_must_fit_in_a_workflow_task() -> None:
    problem = only(problems_of(definition({"a": _http(execution="local")})))
    assert problem["pointer"] == "/steps/a"
    assert "must finish within 10 seconds" in problem["detail"], problem
    other = only(problems_of(definition({"a": _http(execution="sometimes")})))
    assert other["pointer"] == "/steps/a/execution"
