"""The waiting steps end to end on the time-skipping server with the real worker.

wait_for_event: an event sent before its wait begins is kept for it, one sent while the
run waits ends the wait, a wrong key and a repeated event id are ignored, and a timeout
takes the on_timeout branch or, without one, fails the step so that on_error decides.
Events are signalled to the run directly (the REST endpoint and domain-event delivery
have their own tests).

approval, the run's side: the real open/close activities (emails to a real SMTP server),
decisions signalled directly as the vote API does (test_approval_runs.py beside this file
votes through the API): approved → next with the form and votes, a rejection takes the
rejected branch or, without one, fails the run, a timeout takes on_timeout or fails the
step."""

import uuid
from datetime import UTC, datetime
from typing import Any

from httpx import AsyncClient
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.automations import active_automation, definition, finished, handle, start, step_rows
from tests.factories import Actor
from workflows.automation.run.contracts import (
    APPROVAL_SIGNAL,
    EVENT_SIGNAL,
    ApprovalResult,
    ApprovalVote,
    RunEvent,
    RunView,
)
from workflows.automation.run.workflow import AutomationRunWorkflow

# Long enough that the test server never reaches it while a test polls.
HOUR = 3600


def wait_step(event: str, next: str | None = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"event": event}
    for name in ("key", "timeout"):
        if name in extra:
            params[name] = extra.pop(name)
    step: dict[str, Any] = {"type": "wait_for_event", "params": params, **extra}
    if next is not None:
        step["next"] = next
    return step


def done(value: str) -> dict[str, Any]:
    return {"type": "set", "params": {"vars": {"ended": value}}}


async def view_when(
    run_handle: WorkflowHandle[Any, Any], kind: str, step_id: str | None = None
) -> RunView:
    """The run's view once it waits on ``kind`` (time stands still on the test server
    while nothing awaits a result, so a wait it reached stays until the test moves on)."""
    view = RunView(status="running")
    for _ in range(300):
        view = await run_handle.query(AutomationRunWorkflow.progress)
        waiting = view.waiting
        if (
            waiting is not None
            and waiting.kind == kind
            and (step_id is None or waiting.step_id == step_id)
        ):
            return view
    raise AssertionError(f"the run never waited on {kind}: {view}")


async def send(
    run_handle: WorkflowHandle[Any, Any],
    name: str,
    key: str | None = None,
    payload: Any = None,
    event_id: str | None = None,
) -> None:
    event = RunEvent(event_id=event_id or str(uuid.uuid4()), name=name, key=key, payload=payload)
    await run_handle.signal(EVENT_SIGNAL, event)


async def test_an_early_event_is_kept_and_a_wrong_key_or_repeated_id_is_ignored(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    draft = definition(
        "pause",
        pause={"type": "delay", "params": {"seconds": HOUR}, "next": "first"},
        first=wait_step("parcel.arrived", "second", key="{{ trigger.parcel }}", timeout=24 * HOUR),
        second=wait_step(
            "parcel.arrived", "end", key="{{ trigger.parcel }}", timeout=HOUR, on_timeout="late"
        ),
        end=done("both"),
        late=done("late"),
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"parcel": "P-1"})
    run_handle = handle(temporal_env, run_id)
    view = await view_when(run_handle, "timer", "pause")
    assert view.waiting is not None and view.waiting.wakes_at is not None

    # All three arrive before either wait begins.
    await send(run_handle, "parcel.arrived", "P-1", {"n": 1}, event_id="e-1")
    await send(run_handle, "parcel.arrived", "P-2", {"n": 2}, event_id="e-2")
    await send(run_handle, "parcel.arrived", "P-1", {"n": 3}, event_id="e-1")

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert list(rows) == ["pause#1", "first#1", "second#1", "late#1"]
    assert rows["first#1"]["output"] == {
        "event": "parcel.arrived",
        "key": "P-1",
        "payload": {"n": 1},
        "event_id": "e-1",
        "timed_out": False,
    }
    # e-2 has another key, and the second e-1 was a repeat: the second wait timed out.
    assert rows["second#1"]["status"] == "succeeded"
    assert rows["second#1"]["output"] == {
        "event": "parcel.arrived",
        "key": "P-1",
        "timed_out": True,
    }
    assert rows["late#1"]["output"] == {"ended": "late"}


async def test_an_event_sent_while_the_run_waits_ends_the_wait(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    draft = definition(
        "signed",
        signed=wait_step("contract.signed", "end", key="{{ trigger.client }}"),
        end={
            "type": "set",
            "params": {"vars": {"by": "{{ steps.signed.output.payload.by }}"}},
        },
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"client": "C-7"})
    run_handle = handle(temporal_env, run_id)
    view = await view_when(run_handle, "event")
    assert view.waiting is not None
    assert view.waiting.step_id == "signed"
    assert (view.waiting.event, view.waiting.key) == ("contract.signed", "C-7")
    # No timeout: the wait has no wake time.
    assert view.waiting.wakes_at is None

    await send(run_handle, "contract.signed", "C-8", {"by": "someone else"})
    await send(run_handle, "contract.sent", "C-7", {"by": "wrong event"})
    await send(run_handle, "contract.signed", "C-7", {"by": "Ada"})

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert rows["signed#1"]["output"]["payload"] == {"by": "Ada"}
    assert rows["end#1"]["output"] == {"by": "Ada"}


async def test_a_wait_without_a_key_takes_any_key(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    draft = definition("any", any=wait_step("peer.ping", timeout=HOUR))
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id)
    run_handle = handle(temporal_env, run_id)
    view = await view_when(run_handle, "event")
    assert view.waiting is not None and view.waiting.key is None
    assert view.waiting.wakes_at is not None
    await send(run_handle, "peer.ping", "whatever", event_id="p-1")

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    output = step_rows(run)["any#1"]["output"]
    assert (output["key"], output["event_id"], output["timed_out"]) == ("whatever", "p-1", False)


async def test_a_timeout_without_a_branch_fails_the_step_and_on_error_decides(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    draft = definition(
        "paid",
        paid=wait_step("deposit.confirmed", "thanks", timeout=90, on_error={"goto": "chase"}),
        thanks=done("thanks"),
        chase=done("chase"),
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id),
    )
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert list(rows) == ["paid#1", "chase#1"]
    assert rows["paid#1"]["status"] == "failed"
    assert rows["paid#1"]["error"] == "no deposit.confirmed event arrived within 90 s"

    # With the default on_error the run fails with the step's message.
    strict = definition("paid", paid=wait_step("deposit.confirmed", timeout=90))
    automation_id = await active_automation(temporal_api, committed_owner, strict)
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id),
    )
    assert run["status"] == "failed"
    assert run["error"] == {
        "step": "paid",
        "message": "no deposit.confirmed event arrived within 90 s",
    }


def approval_draft(**edges: Any) -> dict[str, Any]:
    """An approval step ``pay`` whose edges lead to ``set`` steps named after them."""
    targets = {name: done(name) for key, name in edges.items() if key != "on_error"}
    return definition(
        "pay",
        pay={
            "type": "approval",
            "params": {
                "approvers": {"roles": ["owner"]},
                "title": "Pay {{ trigger.vendor }}",
                "timeout": 600,
                "form": {"note": {"type": "string"}},
            },
            **edges,
        },
        **targets,
    )


async def approval_of(run_handle: WorkflowHandle[Any, Any]) -> uuid.UUID:
    view = await view_when(run_handle, "approval", "pay")
    assert view.waiting is not None and view.waiting.wakes_at is not None
    assert view.waiting.approval_id is not None
    return view.waiting.approval_id


def decision(approval_id: uuid.UUID, status: str, actor: Actor, **form: Any) -> ApprovalResult:
    vote = ApprovalVote(
        user_id=actor.user.id,
        decision="approve" if status == "approved" else "reject",
        decided_at=datetime.now(UTC),
    )
    return ApprovalResult.model_validate(
        {"approval_id": approval_id, "status": status, "form": form, "votes": [vote]}
    )


async def test_an_approved_decision_takes_next_with_the_form_and_votes(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committed_owner: Actor,
) -> None:
    draft = approval_draft(next="paid", rejected="refused")
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"vendor": "Acme"})
    run_handle = handle(temporal_env, run_id)
    approval_id = await approval_of(run_handle)
    # Another approval's decision (a stale signal) does not end this wait.
    await run_handle.signal(APPROVAL_SIGNAL, decision(uuid.uuid4(), "rejected", committed_owner))
    await run_handle.signal(
        APPROVAL_SIGNAL, decision(approval_id, "approved", committed_owner, note="ok")
    )

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert list(rows) == ["pay#1", "paid#1"]
    output = rows["pay#1"]["output"]
    assert output["approval_id"] == str(approval_id)
    assert (output["status"], output["form"]) == ("approved", {"note": "ok"})
    assert [(v["user_id"], v["decision"]) for v in output["votes"]] == [
        (str(committed_owner.user.id), "approve")
    ]


async def test_a_rejection_fails_the_run_or_takes_the_rejected_branch(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committed_owner: Actor,
) -> None:
    automation_id = await active_automation(
        temporal_api, committed_owner, approval_draft(next="paid")
    )
    run_id = await start(temporal_api, committed_owner, automation_id, {"vendor": "Acme"})
    run_handle = handle(temporal_env, run_id)
    approval_id = await approval_of(run_handle)
    await run_handle.signal(APPROVAL_SIGNAL, decision(approval_id, "rejected", committed_owner))

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "failed"
    assert run["error"] == {"step": "pay", "message": "rejected by the approvers"}
    assert list(step_rows(run)) == ["pay#1"]

    # With a rejected branch the run goes on there.
    branch = approval_draft(next="paid", rejected="refused")
    automation_id = await active_automation(temporal_api, committed_owner, branch)
    run_id = await start(temporal_api, committed_owner, automation_id, {"vendor": "Acme"})
    run_handle = handle(temporal_env, run_id)
    approval_id = await approval_of(run_handle)
    await run_handle.signal(APPROVAL_SIGNAL, decision(approval_id, "rejected", committed_owner))
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert list(rows) == ["pay#1", "refused#1"]
    assert rows["pay#1"]["output"]["status"] == "rejected"


async def test_an_approval_timeout_takes_on_timeout_or_fails_the_step(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committed_owner: Actor,
) -> None:
    branch = approval_draft(next="paid", on_timeout="expired")
    automation_id = await active_automation(temporal_api, committed_owner, branch)
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id, {"vendor": "Acme"}),
    )
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert list(rows) == ["pay#1", "expired#1"]
    assert rows["pay#1"]["output"]["status"] == "expired"

    strict = approval_draft(next="paid", on_error="continue")
    automation_id = await active_automation(temporal_api, committed_owner, strict)
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id, {"vendor": "Acme"}),
    )
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert list(rows) == ["pay#1", "paid#1"]
    assert rows["pay#1"]["status"] == "failed"
    assert rows["pay#1"]["error"] == "the approval was not decided within 600 s"
