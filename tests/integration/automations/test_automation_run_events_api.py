"""Acting on runs through the API: ``POST /v1/automation-runs/{id}/events/{name}`` (also
``/v1/runs/{id}/events/{name}``; the signal message it enqueues, idempotency, its 4xx
paths), cancel recording who canceled (before its workflow started, and a queued run whose
place in the queue goes to the next
one), and what the run view shows of a run's depth, queue reason and approvals.

No Temporal here: the API's fast path cannot reach one, so the outbox messages stay
pending and the tests read them (the run workflow taking the event is covered in
test_automation_events.py and test_automation_waits.py)."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.idempotency import REPLAYED_HEADER
from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent, OutboxMessage, RunStatus
from services.automations.runs import MAX_PAYLOAD_BYTES
from services.outbox.kinds import MessageKind
from tests.factories import Actor, add_user, make_firm
from tests.integration.automations.test_automation_runs_api import automation, finish, start
from tests.problems import assert_problem
from workflows.automation.run.contracts import EVENT_SIGNAL, RunEvent, workflow_id

RUNS = "/v1/automation-runs"


def waiting(event: str = "custom.signed", **extra: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "wait",
        "steps": {
            "wait": {
                "type": "wait_for_event",
                "params": {"event": event, "key": "{{ trigger.contract }}"},
                "next": "done",
            },
            "done": {"type": "stop"},
        },
        **extra,
    }


async def waiting_run(client: AsyncClient, actor: Actor) -> dict[str, Any]:
    automation_id = await automation(client, actor, draft=waiting())
    return await start(client, actor, automation_id, {"contract": "c-7"})


async def signals(db: AsyncSession, actor: Actor, run_id: str) -> list[OutboxMessage]:
    await scope_to_firm(db, actor.firm.id)
    found = await db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == MessageKind.signal_workflow)
        .execution_options(populate_existing=True)
    )
    return [m for m in found if m.payload["workflow_id"] == workflow_id(uuid.UUID(run_id))]


def send(
    client: AsyncClient,
    actor: Actor,
    run_id: str,
    body: Any = None,
    *,
    name: str = "custom.signed",
    key: str | None = None,
) -> Any:
    headers = {**actor.headers, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"{RUNS}/{run_id}/events/{name}", json=body, headers=headers)


async def test_an_event_sent_to_a_waiting_run_becomes_its_signal(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    run = await waiting_run(client, actor)

    response = await send(client, actor, run["id"], {"key": "c-7", "payload": {"signed": True}})

    assert response.status_code == 202, response.text
    event_id = response.json()["event_id"]
    assert event_id.startswith("api:")
    [message] = await signals(db, actor, run["id"])
    assert message.payload["signal"] == EVENT_SIGNAL
    assert RunEvent.model_validate(message.payload["arg"]) == RunEvent(
        event_id=event_id, name="custom.signed", key="c-7", payload={"signed": True}
    )
    # Without a body: no key (any waiting step takes it) and no payload.
    bare = await send(client, actor, run["id"])
    assert bare.status_code == 202, bare.text
    assert len(await signals(db, actor, run["id"])) == 2


async def test_the_short_path_named_in_the_issue_sends_the_same_event(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    run = await waiting_run(client, actor)
    path = f"/v1/runs/{run['id']}/events"

    response = await client.post(
        f"{path}/custom.signed", json={"key": "c-7"}, headers=actor.headers
    )

    assert response.status_code == 202, response.text
    [message] = await signals(db, actor, run["id"])
    assert RunEvent.model_validate(message.payload["arg"]).key == "c-7"
    assert message.payload["arg"]["event_id"] == response.json()["event_id"]
    never = await client.post(f"{path}/custom.other", headers=actor.headers)
    assert "never waits for custom.other" in assert_problem(never, 409)["detail"]


async def test_an_idempotency_key_sends_one_event(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    run = await waiting_run(client, actor)
    body = {"key": "c-7", "payload": [1, 2]}

    first = await send(client, actor, run["id"], body, key="sig-1")
    again = await send(client, actor, run["id"], body, key="sig-1")

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json() == {"event_id": "api:sig-1"}
    assert again.headers[REPLAYED_HEADER] == "true"
    assert len(await signals(db, actor, run["id"])) == 1
    other_body = await send(client, actor, run["id"], {"key": "c-8"}, key="sig-1")
    assert_problem(other_body, 409)


async def test_a_run_that_does_not_wait_for_the_event_is_a_409(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    run = await waiting_run(client, actor)

    never = await send(client, actor, run["id"], name="custom.other")
    assert "never waits for custom.other" in assert_problem(never, 409)["detail"]

    await finish(db, actor, run["id"], RunStatus.succeeded)
    over = await send(client, actor, run["id"])
    assert "send events to a running run only" in assert_problem(over, 409)["detail"]

    canceled = await waiting_run(client, actor)
    response = await client.post(f"{RUNS}/{canceled['id']}/cancel", headers=actor.headers)
    assert response.status_code == 202, response.text
    assert_problem(await send(client, actor, canceled["id"]), 409)
    assert await signals(db, actor, run["id"]) == []


async def test_another_firms_run_and_an_unknown_run_are_404(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    run = await waiting_run(client, owner)
    stranger = await make_firm(db, "Other Firm")

    assert_problem(await send(client, stranger, run["id"]), 404)
    assert_problem(await send(client, owner, str(uuid.uuid4())), 404)
    assert await signals(db, owner, run["id"]) == []


async def test_bad_events_are_refused(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    run = await waiting_run(client, actor)

    too_big = {"payload": {"blob": "x" * MAX_PAYLOAD_BYTES}}
    assert_problem(await send(client, actor, run["id"], too_big), 413)
    nul = assert_problem(await send(client, actor, run["id"], {"payload": {"a": "\x00"}}), 422)
    assert nul["errors"][0]["pointer"] == "/payload/a"
    deep: Any = "leaf"
    for _ in range(70):
        deep = [deep]
    assert_problem(await send(client, actor, run["id"], {"payload": deep}), 422)
    long_key = {"key": "k" * 201}
    assert_problem(await send(client, actor, run["id"], long_key), 422)
    unknown_field = {"payload": {}, "extra": 1}
    assert_problem(await send(client, actor, run["id"], unknown_field), 422)
    bad_name = assert_problem(await send(client, actor, run["id"], name="NotDotted"), 422)
    assert bad_name["errors"][0]["parameter"] == "name"
    # An event of firmflow's own may not be forged into a run.
    forged = assert_problem(await send(client, actor, run["id"], name="invoice.paid"), 422)
    assert "emitted by firmflow itself" in forged["detail"]
    assert await signals(db, actor, run["id"]) == []


async def test_sending_an_event_needs_the_run_permission(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    run = await waiting_run(client, actor)
    outsider = await add_user(db, actor, Role.client)
    staff = await add_user(db, actor, Role.staff)

    assert_problem(await send(client, outsider, run["id"]), 403)
    assert (await send(client, staff, run["id"])).status_code == 202


async def test_cancel_records_who_canceled(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    staff = await add_user(db, actor, Role.staff)
    run = await waiting_run(client, actor)

    canceled = await client.post(f"{RUNS}/{run['id']}/cancel", headers=staff.headers)

    assert canceled.status_code == 202, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["canceled_by"] == str(staff.user.id)
    shown = (await client.get(f"{RUNS}/{run['id']}", headers=actor.headers)).json()
    assert shown["canceled_by"] == str(staff.user.id)
    await scope_to_firm(db, actor.firm.id)
    audit = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.record_id == uuid.UUID(run["id"]),
            AuditEvent.action == "automation_run.canceled",
        )
    )
    assert audit is not None and audit.actor_id == staff.user.id
    assert audit.summary["after"]["canceled_by"] == str(staff.user.id)


async def test_a_queued_run_is_canceled_at_once_and_the_queue_moves_on(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    one_at_a_time = waiting(concurrency={"max_runs": 1, "when_full": "queue"})
    automation_id = await automation(client, actor, draft=one_at_a_time)
    first, second, third = [
        await start(client, actor, automation_id, {"contract": f"c-{n}"}) for n in range(3)
    ]
    assert first["status"] == "running"
    assert second["status"] == third["status"] == "queued"
    assert second["reason"] is not None and "waiting for a free slot" in second["reason"]
    detail = (await client.get(f"{RUNS}/{second['id']}", headers=actor.headers)).json()
    assert detail["reason"] == second["reason"] and detail["waiting"] is None

    canceled = await client.post(f"{RUNS}/{second['id']}/cancel", headers=actor.headers)
    assert canceled.status_code == 202, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["canceled_by"] == str(actor.user.id)
    assert canceled.json()["reason"] is None and canceled.json()["finished_at"] is not None
    # A queued run is not waiting for events.
    assert_problem(await send(client, actor, second["id"]), 409)

    # The running one ends (its workflow never started): its slot goes to the third run.
    stop = await client.post(f"{RUNS}/{first['id']}/cancel", headers=actor.headers)
    assert stop.json()["status"] == "canceled"
    after = (await client.get(f"{RUNS}/{third['id']}", headers=actor.headers)).json()
    assert after["status"] == "running"
    again = (await client.get(f"{RUNS}/{second['id']}", headers=actor.headers)).json()
    assert again["status"] == "canceled"


async def test_the_run_view_shows_depth_parent_key_and_approvals(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    keyed = waiting(concurrency={"max_runs": 2, "key": "trigger.contract"})
    run = await start(client, actor, await automation(client, actor, draft=keyed), {"contract": 7})

    detail = (await client.get(f"{RUNS}/{run['id']}", headers=actor.headers)).json()

    assert detail["depth"] == 0 and detail["parent_run_id"] is None
    assert detail["concurrency_key"] == "7"
    assert detail["canceled_by"] is None and detail["reason"] is None
    assert detail["approvals"] == [] and detail["waiting"] is None
    listed = (await client.get(f"{RUNS}?status=running", headers=actor.headers)).json()
    assert listed["items"][0]["concurrency_key"] == "7"
