"""Validation rules of the part-two definition format: foreach bodies, the edges of the
waiting steps, event and schedule triggers, event names, flow-control keys and where
``secrets`` may not be read. One test per rule, each checking the JSON pointer and the
message of the problem."""

import uuid
from typing import Any

import pytest

from services.automations.validation import problems_of, validate
from workflows.automation.definition.base import MAX_STEPS
from workflows.automation.definition.steps import ForeachStep

STOP = {"type": "stop"}


def definition(steps: dict[str, Any], start: str = "a", **top: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": start,
        "steps": steps,
        **top,
    }


def set_step(next_: str | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"type": "set", "params": {"vars": {"x": 1}}}
    if next_ is not None:
        step["next"] = next_
    return step


def foreach(body: dict[str, Any], start: str = "b1", **params: Any) -> dict[str, Any]:
    return {
        "type": "foreach",
        "params": {"items": "trigger.rows", **params},
        "body": {"start": start, "steps": body},
    }


def only(problems: list[dict[str, str]]) -> dict[str, str]:
    assert len(problems) == 1, problems
    return problems[0]


def in_body(body: dict[str, Any], start: str = "b1") -> list[dict[str, str]]:
    return problems_of(definition({"a": foreach(body, start)}))


def test_a_definition_using_every_new_part_is_valid() -> None:
    steps = {
        "each": {
            **foreach(
                {
                    "b1": {
                        "type": "http_request",
                        "params": {
                            "method": "POST",
                            "url": "https://x.test/{{ item.id }}?i={{ index }}",
                            "headers": {"Authorization": "Bearer {{ secrets.crm }}"},
                        },
                        "next": "b2",
                    },
                    "b2": {
                        "type": "condition",
                        "params": {"expression": "steps.b1.output.status == 200"},
                        "then": "b3",
                        "else": "b4",
                    },
                    "b3": {"type": "set", "params": {"vars": {"ok": "{{ item }}"}}},
                    "b4": {"type": "stop", "params": {"status": "failed"}},
                },
                max_concurrency=3,
                on_item_error="continue",
            ),
            "next": "wait",
        },
        "wait": {
            "type": "wait_for_event",
            "params": {"event": "invoice.paid", "key": "{{ trigger.invoice_id }}", "timeout": 60},
            "next": "ask",
            "on_timeout": "ask",
        },
        "ask": {
            "type": "approval",
            "params": {
                "approvers": {"roles": ["admin"]},
                "title": "Pay {{ trigger.amount }}?",
                "form": {"reason": {"type": "text"}},
            },
            "next": "call",
            "rejected": "done",
        },
        "call": {
            "type": "call_automation",
            "params": {"automation_id": str(uuid.uuid4()), "payload": {"id": "{{ run.id }}"}},
            "next": "tell",
        },
        "tell": {
            "type": "emit_event",
            "params": {"name": "custom.paid_checked", "key": "{{ trigger.invoice_id }}"},
            "next": "done",
        },
        "done": STOP,
    }
    parsed = validate(
        definition(
            steps,
            start="each",
            trigger={"type": "event", "event": "invoice.sent", "filter": "event.total > 100"},
            concurrency={"max_runs": 2, "key": "trigger.client_id"},
            debounce={"window": 60, "key": "trigger.client_id"},
        )
    )
    each = parsed.steps["each"]
    assert isinstance(each, ForeachStep) and list(each.body.steps) == ["b1", "b2", "b3", "b4"]


# foreach bodies ---------------------------------------------------------------------------------


def test_body_start_must_name_a_body_step() -> None:
    problem = only(in_body({"b1": STOP}, start="nope"))
    assert problem == {"pointer": "/steps/a/body/start", "detail": "no step 'nope' in steps"}


def test_body_edge_into_the_outer_graph() -> None:
    problem = only(
        problems_of(definition({"a": {**foreach({"b1": set_step("z")}), "next": "z"}, "z": STOP}))
    )
    assert problem["pointer"] == "/steps/a/body/steps/b1/next"
    assert "outside this foreach body" in problem["detail"]


def test_body_edge_to_nowhere() -> None:
    problem = only(in_body({"b1": set_step("nowhere")}))
    assert problem["pointer"] == "/steps/a/body/steps/b1/next"
    assert "'nowhere', which does not exist" in problem["detail"]


def test_body_step_unreachable() -> None:
    problem = only(in_body({"b1": STOP, "b2": STOP}))
    assert problem == {
        "pointer": "/steps/a/body/steps/b2",
        "detail": "unreachable from the start step",
    }


def test_body_cycle() -> None:
    problem = only(in_body({"b1": set_step("b2"), "b2": set_step("b1")}))
    assert problem["pointer"] == "/steps/a/body/steps/b2/next"
    assert "b1 → b2 → b1" in problem["detail"]


def test_body_step_ids_differ_from_the_outer_ones() -> None:
    steps = {"a": {**foreach({"b1": set_step("z"), "z": STOP}), "next": "z"}, "z": STOP}
    problem = only(problems_of(definition(steps)))
    assert problem["pointer"] == "/steps/a/body/steps/z"
    assert "'z' is also a step of the automation" in problem["detail"]


@pytest.mark.parametrize(
    "step",
    [
        {"type": "wait_for_event", "params": {"event": "custom.go"}},
        {"type": "approval", "params": {"approvers": {"roles": ["admin"]}, "title": "t"}},
        foreach({"c1": STOP}, start="c1"),
    ],
)
def test_waits_and_nested_foreach_are_not_allowed_in_a_body(step: dict[str, Any]) -> None:
    problem = only(in_body({"b1": step}))
    assert problem["pointer"] == "/steps/a/body/steps/b1/type"
    assert f"a {step['type']} step is not allowed inside foreach" in problem["detail"]


def test_unknown_body_step_type() -> None:
    problem = only(in_body({"b1": {"type": "teleport"}}))
    assert problem["pointer"] == "/steps/a/body/steps/b1/type"
    assert "unknown step type 'teleport'" in problem["detail"]


def test_body_step_params_are_checked_per_type() -> None:
    problem = only(in_body({"b1": {"type": "http_request", "params": {"method": "GET"}}}))
    assert problem == {"pointer": "/steps/a/body/steps/b1/params/url", "detail": "Field required"}


def test_body_template_syntax() -> None:
    problem = only(in_body({"b1": {"type": "http_request", "params": {"url": "{{ item.x "}}}))
    assert problem["pointer"] == "/steps/a/body/steps/b1/params/url"
    assert problem["detail"].startswith("invalid expression")


def test_body_control_step_may_not_read_secrets() -> None:
    body = {"b1": {"type": "set", "params": {"vars": {"k": "{{ secrets.crm }}"}}}}
    problem = only(in_body(body))
    assert problem == {
        "pointer": "/steps/a/body/steps/b1/params/vars/k",
        "detail": "secrets are only available to action steps, not to control steps",
    }


def test_the_step_limit_counts_the_bodies() -> None:
    outer = MAX_STEPS // 2
    body = {f"b{i}": set_step(f"b{i + 1}") for i in range(MAX_STEPS - outer)}
    body[f"b{MAX_STEPS - outer}"] = STOP
    steps: dict[str, Any] = {f"s{i}": set_step(f"s{i + 1}") for i in range(outer - 1)}
    steps[f"s{outer - 1}"] = foreach(body, start="b0")
    problem = only(problems_of(definition(steps, start="s0")))
    assert problem["pointer"] == "/steps"
    assert problem["detail"] == (
        f"{MAX_STEPS + 1} steps, foreach bodies included; a definition has at most {MAX_STEPS}"
    )


def test_items_is_a_bare_expression() -> None:
    problem = only(
        problems_of(definition({"a": {**foreach({"b1": STOP}), "params": {"items": "{{ x }}"}}}))
    )
    assert problem["pointer"] == "/steps/a/params/items"
    assert problem["detail"].startswith("invalid expression")
    assert (
        problems_of(
            definition({"a": {**foreach({"b1": STOP}), "params": {"items": "range(3) | list"}}})
        )
        == []
    )


def test_items_may_not_read_secrets() -> None:
    step = {**foreach({"b1": STOP}), "params": {"items": "secrets.rows | list"}}
    problem = only(problems_of(definition({"a": step})))
    assert problem["pointer"] == "/steps/a/params/items"
    assert "a foreach step is evaluated by the workflow" in problem["detail"]


# edges of the waiting steps ---------------------------------------------------------------------


def test_wait_timeout_edge_must_name_a_step() -> None:
    wait = {"type": "wait_for_event", "params": {"event": "custom.go"}, "on_timeout": "zz"}
    problem = only(problems_of(definition({"a": wait})))
    assert problem["pointer"] == "/steps/a/on_timeout"
    assert "'zz', which does not exist" in problem["detail"]


def test_approval_rejected_edge_closing_a_cycle() -> None:
    approval = {
        "type": "approval",
        "params": {"approvers": {"roles": ["admin"]}, "title": "ok?"},
        "next": "b",
        "rejected": "fix",
    }
    steps = {"a": approval, "fix": set_step("a"), "b": STOP}
    problem = only(problems_of(definition(steps)))
    assert problem["pointer"] == "/steps/fix/next"
    assert "a → fix → a" in problem["detail"]


# events ---------------------------------------------------------------------------------------


def test_event_trigger_on_an_unknown_firmflow_event() -> None:
    trigger = {"type": "event", "event": "invoice.eaten"}
    problem = only(problems_of(definition({"a": STOP}, trigger=trigger)))
    assert problem["pointer"] == "/trigger/event"
    assert problem["detail"].startswith("unknown event 'invoice.eaten'; firmflow's invoice events")
    assert "invoice.paid" in problem["detail"]
    custom = {"type": "event", "event": "custom.contract_signed"}
    assert problems_of(definition({"a": STOP}, trigger=custom)) == []


def test_event_trigger_filter_syntax() -> None:
    trigger = {"type": "event", "event": "client.created", "filter": "event.name =="}
    problem = only(problems_of(definition({"a": STOP}, trigger=trigger)))
    assert problem["pointer"] == "/trigger/filter"
    assert problem["detail"].startswith("invalid expression")


def test_emit_event_may_not_forge_a_firmflow_event() -> None:
    emit = {"type": "emit_event", "params": {"name": "invoice.paid"}}
    problem = only(problems_of(definition({"a": emit})))
    assert problem == {
        "pointer": "/steps/a/params/name",
        "detail": "invoice.paid is emitted by firmflow itself; an automation cannot emit it",
    }
    emit = {"type": "emit_event", "params": {"name": "client.liked"}}
    problem = only(problems_of(definition({"a": emit})))
    assert problem["pointer"] == "/steps/a/params/name"
    assert "the client. namespace is firmflow's own" in problem["detail"]


def test_emit_event_key_template_syntax() -> None:
    emit = {"type": "emit_event", "params": {"name": "custom.x", "key": "{{ trigger.id"}}
    problem = only(problems_of(definition({"a": emit})))
    assert problem["pointer"] == "/steps/a/params/key"


def test_wait_for_an_unknown_firmflow_event() -> None:
    wait = {"type": "wait_for_event", "params": {"event": "task.exploded"}}
    problem = only(problems_of(definition({"a": wait})))
    assert problem["pointer"] == "/steps/a/params/event"
    assert "unknown event 'task.exploded'" in problem["detail"]


def test_wait_key_template_syntax_and_no_secrets() -> None:
    def wait(key: str) -> dict[str, Any]:
        return {"type": "wait_for_event", "params": {"event": "custom.go", "key": key}}

    assert only(problems_of(definition({"a": wait("{{ x")})))["pointer"] == "/steps/a/params/key"
    problem = only(problems_of(definition({"a": wait("{{ secrets.token }}")})))
    assert problem["pointer"] == "/steps/a/params/key"
    assert "a wait_for_event step is evaluated by the workflow" in problem["detail"]


# schedule trigger -------------------------------------------------------------------------------


def test_schedule_cron_is_checked() -> None:
    trigger = {"type": "schedule", "cron": "0 9 * * * *"}
    problem = only(problems_of(definition({"a": STOP}, trigger=trigger)))
    assert problem["pointer"] == "/trigger/cron"
    assert "5 fields" in problem["detail"]


def test_schedule_time_zone_is_checked() -> None:
    trigger = {"type": "schedule", "cron": "0 9 * * 1-5", "time_zone": "Mars/Olympus"}
    problem = only(problems_of(definition({"a": STOP}, trigger=trigger)))
    assert problem["pointer"] == "/trigger/time_zone"
    assert "'Mars/Olympus' is not an IANA time zone name" in problem["detail"]
    trigger["time_zone"] = "Europe/Berlin"
    assert problems_of(definition({"a": STOP}, trigger=trigger)) == []


# flow-control keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "value"),
    [("concurrency", {"max_runs": 1, "key": "trigger.["}), ("debounce", {"window": 5, "key": ")"})],
)
def test_flow_control_keys_are_bare_expressions(member: str, value: dict[str, Any]) -> None:
    data = {**definition({"a": STOP}), member: value}
    problem = only(problems_of(data))
    assert problem["pointer"] == f"/{member}/key"
    assert problem["detail"].startswith("invalid expression")


# secrets ----------------------------------------------------------------------------------------


def test_approval_title_and_message_may_not_read_secrets() -> None:
    approval = {
        "type": "approval",
        "params": {
            "approvers": {"roles": ["admin"]},
            "title": "Pay {{ secrets.bank }}?",
            "message": "{{ secrets['bank'] }}",
        },
    }
    problems = problems_of(definition({"a": approval}))
    assert [p["pointer"] for p in problems] == ["/steps/a/params/title", "/steps/a/params/message"]
    assert problems[0]["detail"] == (
        "an approval's title and message are stored and emailed to the approvers: "
        "they may not read secrets"
    )


def test_call_payload_may_not_read_secrets() -> None:
    call = {
        "type": "call_automation",
        "params": {"automation_id": str(uuid.uuid4()), "payload": {"k": "{{ secrets.x }}"}},
    }
    problem = only(problems_of(definition({"a": call})))
    assert problem["pointer"] == "/steps/a/params/payload/k"
    assert "a call_automation step is evaluated by the workflow" in problem["detail"]
