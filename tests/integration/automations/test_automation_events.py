"""Events through the outbox: event triggers (with a filter), delivery exactly once after
a crash, nothing for a rolled-back change, the depth cut of an event loop, domain events
reaching the runs waiting for them, and emit_event's key, source and refusals.

Against committed Postgres and the time-skipping Temporal server; the API's outbox fast
path delivers an event right after its request commits, and the tests drive the relay's
own ``dispatch_pending`` where a request is not involved (an activity's event)."""

import asyncio
import contextlib
import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.config import Settings
from core.crypto import Cipher
from core.db import tenant_session
from core.principal import Principal
from core.roles import Role
from core.temporal import fixed_client
from models import OutboxMessage
from services import clients, tasks
from services.automations import event_delivery
from services.outbox import writer as outbox
from services.outbox.dispatch import dispatch_message, dispatch_pending
from services.outbox.kinds import MessageKind
from tests.automations import BASE, create, save_draft
from tests.factories import Actor, add_user, new_client
from tests.fixtures.temporal import result_skipping_time
from tests.integration.automations.test_automation_actions import (
    activities,
    assert_invalid,
    environment,
    failure,
    new_run,
    step_call,
)
from workflows.automation.run.contracts import MAX_EVENT_DEPTH, RunView, WaitView, workflow_id

Maker = async_sessionmaker[AsyncSession]
RUNS = "/v1/automation-runs"
# How long a test waits for a run to begin a wait (it takes milliseconds).
WAIT_DEADLINE = 30.0


@pytest.fixture
def cipher(settings: Settings) -> Cipher:
    return Cipher.from_settings(settings)


def definition(trigger: dict[str, Any], **steps: dict[str, Any]) -> dict[str, Any]:
    """A draft starting at its first step (a lone stop step when none is given)."""
    return {
        "schema_version": 1,
        "trigger": trigger,
        "start": next(iter(steps)) if steps else "done",
        "steps": steps or {"done": {"type": "stop"}},
    }


def on_event(event: str, filter: str | None = None, **steps: dict[str, Any]) -> dict[str, Any]:
    trigger: dict[str, Any] = {"type": "event", "event": event}
    if filter is not None:
        trigger["filter"] = filter
    return definition(trigger, **steps)


def manual(**steps: dict[str, Any]) -> dict[str, Any]:
    return definition({"type": "manual"}, **steps)


async def start(
    http: AsyncClient, actor: Actor, automation_id: str, payload: dict[str, Any] | None = None
) -> str:
    """Starts a run by hand; returns its id."""
    started = await http.post(
        f"{BASE}/{automation_id}/runs", json={"payload": payload or {}}, headers=actor.headers
    )
    assert started.status_code == 201, started.text
    run_id: str = started.json()["id"]
    return run_id


async def active(http: AsyncClient, actor: Actor, draft: dict[str, Any]) -> str:
    automation_id: str = (await create(http, actor))["id"]
    await save_draft(http, actor, automation_id, draft)
    published = await http.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    assert published.status_code == 201, published.text
    activated = await http.post(f"{BASE}/{automation_id}/activate", headers=actor.headers)
    assert activated.status_code == 200, activated.text
    return automation_id


async def runs_of(http: AsyncClient, actor: Actor, automation_id: str) -> list[dict[str, Any]]:
    listed = await http.get(f"{RUNS}?automation_id={automation_id}", headers=actor.headers)
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def run_detail(http: AsyncClient, actor: Actor, run_id: str) -> dict[str, Any]:
    response = await http.get(f"{RUNS}/{run_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


async def pending_events(maker: Maker, actor: Actor) -> list[OutboxMessage]:
    async with tenant_session(actor.firm.id, maker) as session:
        found = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.firm_id == actor.firm.id,
                OutboxMessage.kind == MessageKind.event,
                OutboxMessage.dispatched_at.is_(None),
            )
            .order_by(OutboxMessage.created_at)
        )
        return list(found)


async def test_an_event_trigger_starts_a_run_when_its_filter_holds(
    temporal_api: AsyncClient, committed_owner: Actor
) -> None:
    status_changed = await active(
        temporal_api, committed_owner, on_event("client.updated", "'status' in event.data.fields")
    )
    reactivated = await active(
        temporal_api,
        committed_owner,
        on_event("client.updated", "event.data.changes.status.after == 'active'"),
    )
    broken = await active(
        temporal_api, committed_owner, on_event("client.updated", "event.data.nothing.deeper > 1")
    )
    unfiltered = await active(temporal_api, committed_owner, on_event("client.updated"))
    other_event = await active(temporal_api, committed_owner, on_event("task.created"))
    client_id = await new_client(temporal_api, committed_owner, "Olive Ltd")

    changed = await temporal_api.patch(
        f"/v1/clients/{client_id}", json={"status": "inactive"}, headers=committed_owner.headers
    )
    assert changed.status_code == 200, changed.text

    [run] = await runs_of(temporal_api, committed_owner, status_changed)
    assert run["trigger"] == "event" and run["status"] == "running" and run["depth"] == 0
    detail = await run_detail(temporal_api, committed_owner, run["id"])
    assert detail["trigger_payload"] == {
        "event": "client.updated",
        "key": client_id,
        "data": {
            "client_id": client_id,
            "fields": ["status"],
            "changes": {"status": {"before": "prospect", "after": "inactive"}},
            "source": None,
        },
    }
    assert await runs_of(temporal_api, committed_owner, reactivated) == []
    assert await runs_of(temporal_api, committed_owner, other_event) == []
    assert len(await runs_of(temporal_api, committed_owner, unfiltered)) == 1
    # A filter that fails is the builder's to see, on a run that never started.
    [failed] = await runs_of(temporal_api, committed_owner, broken)
    assert failed["status"] == "failed" and failed["finished_at"] is not None
    assert failed["error"]["message"].startswith("the trigger's filter could not be evaluated")
    assert "nothing" in failed["error"]["message"]

    # Changing nothing emits no event, so it starts nothing.
    same = await temporal_api.patch(
        f"/v1/clients/{client_id}", json={"status": "inactive"}, headers=committed_owner.headers
    )
    assert same.status_code == 200, same.text
    assert len(await runs_of(temporal_api, committed_owner, unfiltered)) == 1


async def test_an_event_of_a_rolled_back_change_starts_nothing(
    temporal_api: AsyncClient, committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    automation_id = await active(temporal_api, committed_owner, on_event("client.updated"))
    client_id = uuid.UUID(await new_client(temporal_api, committed_owner, "Olive Ltd"))
    principal = Principal.system(committed_owner.firm.id)

    with pytest.raises(RuntimeError):
        async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
            await clients.update_client(
                session, principal, client_id, patch=clients.ClientPatch(name="Renamed")
            )
            raise RuntimeError("the request failed after the change")

    assert await pending_events(committing_sessionmaker, committed_owner) == []
    assert await runs_of(temporal_api, committed_owner, automation_id) == []


async def test_a_crash_after_commit_still_starts_the_run_once(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    automation_id = await active(temporal_api, committed_owner, on_event("task.completed"))
    principal = Principal.system(committed_owner.firm.id)
    # Committed without the fast path, as if the process died right after COMMIT.
    async with tenant_session(committed_owner.firm.id, maker) as session:
        task = await tasks.create_task(
            session, principal, fields=tasks.TaskFields(title="File the return")
        )
        await tasks.set_done(session, principal, task.id, done=True)
    pending = await pending_events(maker, committed_owner)
    assert [(m.payload["event"], m.payload["task_id"]) for m in pending] == [
        ("task.created", str(task.id)),
        ("task.completed", str(task.id)),
    ]
    completed = pending[1]
    temporal = fixed_client(temporal_env.client)

    # Delivered, then the relay died before marking the row; it is delivered again.
    await dispatch_message(completed, temporal, maker)
    await dispatch_message(completed, temporal, maker)
    report = await dispatch_pending(maker, temporal, limit=10, ids=[m.id for m in pending])

    assert report.dispatched == 2 and await pending_events(maker, committed_owner) == []
    [run] = await runs_of(temporal_api, committed_owner, automation_id)
    detail = await run_detail(temporal_api, committed_owner, run["id"])
    assert detail["trigger_payload"]["key"] == str(task.id)
    assert detail["trigger_payload"]["data"]["status"] == "done"
    # Its workflow was started (by the first delivery's fast path).
    handle = temporal_env.client.get_workflow_handle(workflow_id(uuid.UUID(run["id"])))
    assert (await handle.describe()).run_id is not None


async def test_an_event_loop_is_cut_at_the_depth_limit(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    """An automation triggered by custom.ping emits custom.ping: each run starts the
    next one hop deeper, until the run past the limit is recorded as failed."""
    ping = {"type": "emit_event", "params": {"name": "custom.ping", "key": "{{ run.id }}"}}
    automation_id = await active(
        temporal_api, committed_owner, on_event("custom.ping", None, ping=ping)
    )
    await start(temporal_api, committed_owner, automation_id)

    chain = await drive_chain(
        temporal_api, temporal_env, committing_sessionmaker, committed_owner, automation_id
    )

    assert_cut(chain)
    assert all(run["trigger"] == "event" for run in chain[1:])
    # The cut run never started a workflow, so nothing emits another ping.
    assert await pending_events(committing_sessionmaker, committed_owner) == []


async def test_an_emitted_event_starts_its_runs_when_the_step_commits_not_at_the_relay(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    """No relay runs in these tests: the event can only arrive through the emitting
    activity's own dispatch after its commit."""
    listener = await active(temporal_api, committed_owner, on_event("custom.hello"))
    hello = {"type": "emit_event", "params": {"name": "custom.hello", "key": "k-1"}}
    emitter = await active(temporal_api, committed_owner, manual(hello=hello))
    run_id = await start(temporal_api, committed_owner, emitter)

    handle = temporal_env.client.get_workflow_handle(workflow_id(uuid.UUID(run_id)))
    await result_skipping_time(temporal_env, handle)

    [heard] = await runs_of(temporal_api, committed_owner, listener)
    assert heard["trigger"] == "event" and heard["depth"] == 1
    assert (await run_detail(temporal_api, committed_owner, heard["id"]))["trigger_payload"][
        "key"
    ] == "k-1"
    assert await pending_events(committing_sessionmaker, committed_owner) == []


async def test_emit_event_carries_key_and_source_and_refuses_firmflow_events(
    committing_sessionmaker: Maker, cipher: Cipher
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    acts = activities(maker, cipher)
    call = step_call(
        run,
        "emit_event",
        {"name": "custom.signed", "key": "{{ 40 + 2 }}", "payload": {"who": "{{ trigger.name }}"}},
        step_id="announce",
    )
    outcome = await environment().run(acts.emit_event, call)
    assert outcome.output == {"event": "custom.signed", "key": "42", "payload": {"who": "Olive"}}
    async with tenant_session(run.firm_id, maker) as session:
        message = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.dedupe_key == f"automation:{run.run_id}:announce:1"
            )
        )
    assert message is not None and message.payload == {
        "event": "custom.signed",
        "key": "42",
        "payload": {"who": "Olive"},
        "source": {"run_id": str(run.run_id), "step_id": "announce", "visit": 1, "depth": 0},
    }
    assert event_delivery.event_key("custom.signed", message.payload) == "42"

    for name in ("invoice.paid", "client.created", "payment.whatever"):
        forged = await failure(
            environment(),
            acts.emit_event,
            step_call(run, "emit_event", {"name": name}, step_id=f"forge{name.split('.')[0]}"),
        )
        assert_invalid(forged, f"{name} is emitted by firmflow itself")


async def test_a_domain_event_reaches_the_run_waiting_for_its_key(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    wait = {
        "type": "wait_for_event",
        # No timeout: awaiting the first run skips time, which would end the other's wait.
        "params": {"event": "client.updated", "key": "{{ trigger.client_id }}"},
        "next": "done",
    }
    automation_id = await active(
        temporal_api, committed_owner, manual(wait=wait, done={"type": "stop"})
    )
    olive, other = (
        await new_client(temporal_api, committed_owner, "Olive Ltd"),
        await new_client(temporal_api, committed_owner, "Olive Ltd"),
    )
    run_ids = {
        client_id: await start(
            temporal_api, committed_owner, automation_id, {"client_id": client_id}
        )
        for client_id in (olive, other)
    }
    for run_id in run_ids.values():
        await waiting_for(temporal_env, run_id, "event")
    # Both runs' version waits for client.updated, so both are told; only one takes it.
    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        before = set(
            await session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.kind == MessageKind.signal_workflow)
            )
        )

    changed = await temporal_api.patch(
        f"/v1/clients/{olive}", json={"tags": ["vip"]}, headers=committed_owner.headers
    )
    assert changed.status_code == 200, changed.text

    handle = temporal_env.client.get_workflow_handle(workflow_id(uuid.UUID(run_ids[olive])))
    await result_skipping_time(temporal_env, handle)
    done = await run_detail(temporal_api, committed_owner, run_ids[olive])
    assert done["status"] == "succeeded"
    [wait_row] = [step for step in done["steps"] if step["step_id"] == "wait"]
    assert wait_row["output"]["event"] == "client.updated"
    assert wait_row["output"]["key"] == olive
    assert wait_row["output"]["payload"]["fields"] == ["tags"]
    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        signals = [
            m
            for m in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == MessageKind.signal_workflow)
            )
            if m.id not in before
        ]
    assert sorted(m.payload["workflow_id"] for m in signals) == sorted(
        workflow_id(uuid.UUID(run_id)) for run_id in run_ids.values()
    )
    assert all(m.dispatched_at is not None for m in signals)

    # The other client's run still waits; cancelling it works and records who did.
    still = await run_detail(temporal_api, committed_owner, run_ids[other])
    assert still["status"] == "running"
    assert still["waiting"]["kind"] == "event" and still["waiting"]["key"] == other
    canceled = await temporal_api.post(
        f"{RUNS}/{run_ids[other]}/cancel", headers=committed_owner.headers
    )
    assert canceled.status_code == 202, canceled.text
    assert canceled.json()["canceled_by"] == str(committed_owner.user.id)
    other_handle = temporal_env.client.get_workflow_handle(workflow_id(uuid.UUID(run_ids[other])))
    with contextlib.suppress(WorkflowFailureError):
        await result_skipping_time(temporal_env, other_handle)
    ended = await run_detail(temporal_api, committed_owner, run_ids[other])
    assert ended["status"] == "canceled" and ended["canceled_by"] == str(committed_owner.user.id)


async def waiting_for(env: WorkflowEnvironment, run_id: str, kind: str) -> WaitView:
    """Polls the run's live view until it waits for ``kind`` (time stands still meanwhile:
    only a test awaiting a result lets the server skip ahead)."""
    handle = env.client.get_workflow_handle(workflow_id(uuid.UUID(run_id)))
    async with asyncio.timeout(WAIT_DEADLINE):
        while True:
            view: RunView = await handle.query("progress", result_type=RunView)
            if view.waiting is not None and view.waiting.kind == kind:
                return view.waiting


async def drive_chain(
    http: AsyncClient,
    env: WorkflowEnvironment,
    maker: Maker,
    actor: Actor,
    automation_id: str,
) -> list[dict[str, Any]]:
    """Runs the automation's runs to their end and delivers what the activities' own fast
    path left pending, as the relay would, until no run is running and no event is left;
    returns the runs by depth. A run's workflow ends only after its action activities
    have delivered (or left pending) the events they caused, so a quiet pass is the end."""
    temporal = fixed_client(env.client)
    for _ in range(2 * MAX_EVENT_DEPTH + 4):
        running = [r for r in await runs_of(http, actor, automation_id) if r["status"] == "running"]
        for run in running:
            handle = env.client.get_workflow_handle(workflow_id(uuid.UUID(run["id"])))
            with contextlib.suppress(WorkflowFailureError):
                await result_skipping_time(env, handle)
        pending = await pending_events(maker, actor)
        if not running and not pending:
            break
        if pending:
            await dispatch_pending(maker, temporal, limit=10, ids=[m.id for m in pending])
    return sorted(await runs_of(http, actor, automation_id), key=lambda r: r["depth"])


def assert_cut(chain: list[dict[str, Any]]) -> None:
    assert [run["depth"] for run in chain] == list(range(MAX_EVENT_DEPTH + 2))
    assert {run["status"] for run in chain[:-1]} == {"succeeded"}
    cut = chain[-1]
    assert cut["status"] == "failed" and cut["depth"] == MAX_EVENT_DEPTH + 1
    assert f"deeper than {MAX_EVENT_DEPTH}" in cut["error"]["message"]


async def test_a_loop_through_a_domain_event_is_cut_too(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    """On client.updated, rename the client: the rename is another client.updated, which
    names the run that caused it, so each run is one hop deeper than the last."""
    rename = {
        "type": "update_client",
        "params": {"client_id": "{{ trigger.key }}", "fields": {"name": "Seen by {{ run.id }}"}},
    }
    automation_id = await active(
        temporal_api, committed_owner, on_event("client.updated", None, rename=rename)
    )
    client_id = await new_client(temporal_api, committed_owner, "Olive Ltd")
    changed = await temporal_api.patch(
        f"/v1/clients/{client_id}", json={"tags": ["loop"]}, headers=committed_owner.headers
    )
    assert changed.status_code == 200, changed.text

    chain = await drive_chain(
        temporal_api, temporal_env, committing_sessionmaker, committed_owner, automation_id
    )

    assert_cut(chain)
    second = await run_detail(temporal_api, committed_owner, chain[1]["id"])
    assert second["trigger_payload"]["data"]["source"] == {"run_id": chain[0]["id"]}
    assert await pending_events(committing_sessionmaker, committed_owner) == []


async def test_a_run_waiting_for_approval_shows_its_votes_and_cancel_closes_it(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    async with committing_sessionmaker() as session:
        first, second = [await add_user(session, committed_owner, Role.staff) for _ in range(2)]
    approval = {
        "type": "approval",
        "params": {"approvers": {"roles": ["staff"]}, "quorum": 2, "title": "Refund"},
        "next": "done",
    }
    automation_id = await active(
        temporal_api, committed_owner, manual(ok=approval, done={"type": "stop"})
    )
    run_id = await start(temporal_api, committed_owner, automation_id)
    wait = await waiting_for(temporal_env, run_id, "approval")
    voted = await temporal_api.post(
        f"/v1/approvals/{wait.approval_id}", json={"decision": "approve"}, headers=first.headers
    )
    assert voted.status_code == 200, voted.text

    shown = await run_detail(temporal_api, committed_owner, run_id)
    assert shown["waiting"]["kind"] == "approval"
    assert shown["waiting"]["approval_id"] == str(wait.approval_id)
    [listed] = shown["approvals"]
    assert listed["id"] == str(wait.approval_id) and listed["status"] == "pending"
    assert [vote["user_id"] for vote in listed["votes"]] == [str(first.user.id)]

    canceled = await temporal_api.post(f"{RUNS}/{run_id}/cancel", headers=second.headers)
    assert canceled.status_code == 202, canceled.text
    closed = await temporal_api.get(
        f"/v1/approvals/{wait.approval_id}", headers=committed_owner.headers
    )
    assert closed.json()["status"] == "canceled"
    handle = temporal_env.client.get_workflow_handle(workflow_id(uuid.UUID(run_id)))
    with contextlib.suppress(WorkflowFailureError):
        await result_skipping_time(temporal_env, handle)
    ended = await run_detail(temporal_api, committed_owner, run_id)
    assert ended["status"] == "canceled" and ended["canceled_by"] == str(second.user.id)


async def test_an_event_sent_through_the_api_wakes_the_waiting_run(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    wait = {
        "type": "wait_for_event",
        "params": {"event": "contract.signed", "key": "{{ trigger.contract }}"},
        "next": "done",
    }
    automation_id = await active(
        temporal_api, committed_owner, manual(wait=wait, done={"type": "stop"})
    )
    run_id = await start(temporal_api, committed_owner, automation_id, {"contract": "c-7"})
    await waiting_for(temporal_env, run_id, "event")
    headers = {**committed_owner.headers, "Idempotency-Key": "signed-c-7"}
    body = {"key": "c-7", "payload": {"by": "Olive"}}

    sent = await temporal_api.post(
        f"{RUNS}/{run_id}/events/contract.signed", json=body, headers=headers
    )

    assert sent.status_code == 202, sent.text
    handle = temporal_env.client.get_workflow_handle(workflow_id(uuid.UUID(run_id)))
    await result_skipping_time(temporal_env, handle)
    run = await run_detail(temporal_api, committed_owner, run_id)
    assert run["status"] == "succeeded"
    [wait_row] = [step for step in run["steps"] if step["step_id"] == "wait"]
    assert wait_row["output"] == {
        "event": "contract.signed",
        "key": "c-7",
        "payload": {"by": "Olive"},
        "event_id": "api:signed-c-7",
        "timed_out": False,
    }
    late = await temporal_api.post(
        f"{RUNS}/{run_id}/events/contract.signed", json=body, headers=committed_owner.headers
    )
    assert late.status_code == 409, late.text


async def test_an_event_too_large_for_a_trigger_records_why_no_run_started(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    automation_id = await active(temporal_api, committed_owner, on_event("custom.bulk"))
    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        await outbox.enqueue_message(
            session,
            committed_owner.firm.id,
            outbox.event("custom.bulk", f"bulk:{uuid.uuid4()}", payload={"blob": "x" * 300_000}),
        )
    [message] = await pending_events(committing_sessionmaker, committed_owner)

    for _ in range(2):
        await dispatch_message(message, fixed_client(temporal_env.client), committing_sessionmaker)

    [run] = await runs_of(temporal_api, committed_owner, automation_id)
    assert run["status"] == "failed" and run["trigger"] == "event"
    assert run["error"]["message"].startswith("not started: The trigger payload takes")
