"""Automation runs through the API: starting by hand (with Idempotency-Key, also raced),
the outbox message that starts the workflow, the list and its filters, one run with its
steps, cancel (before and after the workflow started), retry, resume, tenancy and roles.

The run workflow itself is not needed: these tests assert on the rows and on the
``RunInput`` in the outbox. Runs finish here by setting their row, as the workflow's
``finish_run`` would; step rows are inserted as the activities would write them."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from api.idempotency import REPLAYED_HEADER
from core.config import Settings
from core.db import scope_to_firm, tenant_session
from core.roles import Role
from core.temporal import TASK_QUEUE, LazyClient
from models import (
    AutomationRun,
    AutomationRunStep,
    OutboxMessage,
    RunStatus,
    StepStatus,
)
from services.automations.runs import MAX_PAYLOAD_BYTES, NOT_STARTED
from services.outbox.kinds import MessageKind
from tests.audit import audit_actions
from tests.automations import BASE, active_automation, create, published, save_draft
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, pointers
from workflows.automation.run.contracts import WORKFLOW_NAME, RunInput, workflow_id
from workflows.automation.run.workflow import AutomationRunWorkflow

RUNS = "/v1/automation-runs"


def definition(note: str = "v1") -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "note",
        "steps": {
            "note": {"type": "set", "params": {"vars": {"note": note}}, "next": "done"},
            "done": {"type": "stop"},
        },
    }


async def automation(
    http: AsyncClient, actor: Actor, *, activate: bool = True, draft: dict[str, Any] | None = None
) -> str:
    """A published automation (version 1) of this module's definition, active unless asked
    otherwise."""
    ready = active_automation if activate else published
    return await ready(http, actor, draft or definition())


async def publish_v2(http: AsyncClient, actor: Actor, automation_id: str) -> None:
    await save_draft(http, actor, automation_id, definition("v2"))
    published = await http.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    assert published.json()["version"] == 2


async def start(
    http: AsyncClient,
    actor: Actor,
    automation_id: str,
    payload: Any = None,
    *,
    key: str | None = None,
) -> dict[str, Any]:
    headers = {**actor.headers, **({"Idempotency-Key": key} if key else {})}
    body = {"payload": payload} if payload is not None else None
    response = await http.post(f"{BASE}/{automation_id}/runs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"{RUNS}/{response.json()['id']}"
    run: dict[str, Any] = response.json()
    return run


async def start_message(db: AsyncSession, actor: Actor, run_id: str) -> OutboxMessage:
    await scope_to_firm(db, actor.firm.id)
    message = await db.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.dedupe_key == f"start:{workflow_id(uuid.UUID(run_id))}")
        .execution_options(populate_existing=True)
    )
    assert message is not None
    return message


async def finish(db: AsyncSession, actor: Actor, run_id: str, status: RunStatus) -> None:
    """What the workflow's finish_run records."""
    await scope_to_firm(db, actor.firm.id)
    await db.execute(
        update(AutomationRun)
        .where(AutomationRun.id == uuid.UUID(run_id))
        .values(status=status, finished_at=datetime.now(UTC))
    )
    await db.commit()


async def record_steps(
    db: AsyncSession, actor: Actor, run_id: str, steps: list[tuple[str, StepStatus]]
) -> None:
    """Step rows as the activities write them, one second apart."""
    await scope_to_firm(db, actor.firm.id)
    began = datetime.now(UTC) - timedelta(minutes=5)
    for n, (step_id, status) in enumerate(steps):
        db.add(
            AutomationRunStep(
                firm_id=actor.firm.id,
                run_id=uuid.UUID(run_id),
                step_id=step_id,
                step_type="http_request",
                position=n + 1,
                status=status,
                input={"url": f"https://example.com/{step_id}"},
                output={"status": 200, "step": step_id} if status != StepStatus.failed else None,
                error="boom" if status == StepStatus.failed else None,
                started_at=began + timedelta(seconds=n),
                finished_at=began + timedelta(seconds=n, milliseconds=500),
            )
        )
    await db.commit()


async def test_start_writes_the_run_and_the_message_that_starts_its_workflow(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    automation_id = await automation(client, actor)
    payload = {"client": {"name": "Ada"}, "amount": 120, "tags": ["new"]}

    run = await start(client, actor, automation_id, payload)

    assert run["status"] == "running" and run["trigger"] == "manual"
    assert run["version"] == 1 and run["automation_id"] == automation_id
    assert run["created_by"] == str(actor.user.id) and run["source_run_id"] is None
    await scope_to_firm(db, actor.firm.id)
    row = await db.get(AutomationRun, uuid.UUID(run["id"]))
    assert row is not None and row.trigger_payload == payload
    message = await start_message(db, actor, run["id"])
    assert message.kind == MessageKind.start_workflow
    assert message.payload["workflow"] == WORKFLOW_NAME
    assert message.payload["workflow_id"] == f"automation-run-{run['id']}"
    run_input = RunInput.model_validate(message.payload["arg"])
    assert run_input.run_id == row.id and run_input.firm_id == actor.firm.id
    assert run_input.automation_id == uuid.UUID(automation_id) and run_input.version == 1
    assert run_input.definition == definition()
    assert run_input.trigger == payload and run_input.reuse == {}
    assert run_input.started_at == row.started_at
    assert run_input.firm_time_zone == actor.firm.time_zone
    assert await audit_actions(db, actor.firm.id, record_id=run["id"]) == ["automation_run.started"]


async def test_the_payload_defaults_to_an_empty_object_and_is_capped(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    automation_id = await automation(client, actor)
    url = f"{BASE}/{automation_id}/runs"

    bare = await client.post(url, headers=actor.headers)
    assert bare.status_code == 201, bare.text
    message = await start_message(db, actor, bare.json()["id"])
    assert message.payload["arg"]["trigger"] == {}
    null = await client.post(url, json={"payload": None}, headers=actor.headers)
    assert null.status_code == 201

    too_big = {"payload": {"blob": "x" * (MAX_PAYLOAD_BYTES + 2048)}}
    declared = await client.post(url, json=too_big, headers=actor.headers)
    assert "at most" in assert_problem(declared, 413)["detail"]
    # Many small values: the body is under the transport limit, the payload over the cap.
    wide = {"payload": [0] * (MAX_PAYLOAD_BYTES // 2 + 1)}
    as_json = {**actor.headers, "Content-Type": "application/json"}
    measured = await client.post(
        url, content=json.dumps(wide, separators=(",", ":")), headers=as_json
    )
    assert pointers(assert_problem(measured, 413)) == {"/payload"}

    extra = await client.post(url, json={"payload": {}, "version": 2}, headers=actor.headers)
    assert pointers(assert_problem(extra, 422)) == {"/version"}
    garbled = await client.post(url, content=b"{not json", headers=as_json)
    assert_problem(garbled, 422)
    unstorable = {
        "NUL": b'{"payload": {"name": "a\\u0000b"}}',
        "surrogate": b'{"payload": {"\\ud800": 1}}',
        "NaN": b'{"payload": {"amount": NaN}}',
        "deep": b'{"payload": ' + b"[" * 100 + b"]" * 100 + b"}",
    }
    for case, raw in unstorable.items():
        refused = await client.post(url, content=raw, headers=as_json)
        # api.input_safety finds a NUL before the payload rules, and names its member.
        pointer = "/payload/name" if case == "NUL" else "/payload"
        assert pointers(assert_problem(refused, 422)) == {pointer}, case
    await scope_to_firm(db, actor.firm.id)
    assert len((await db.scalars(select(AutomationRun.id))).all()) == 2


async def test_only_an_active_automation_with_a_published_version_runs(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    unpublished = (await create(client, actor))["id"]
    refused = await client.post(f"{BASE}/{unpublished}/runs", headers=actor.headers)
    assert "no published version" in assert_problem(refused, 409)["detail"]

    automation_id = await automation(client, actor, activate=False)
    for action, state in [(None, "draft"), ("activate", None), ("pause", "paused"),
                          ("archive", "archived")]:  # fmt: skip
        if action is not None:
            changed = await client.post(f"{BASE}/{automation_id}/{action}", headers=actor.headers)
            assert changed.status_code == 200, changed.text
        response = await client.post(f"{BASE}/{automation_id}/runs", headers=actor.headers)
        if state is None:
            assert response.status_code == 201
        else:
            assert f"is {state}" in assert_problem(response, 409)["detail"]
    await scope_to_firm(db, actor.firm.id)
    assert len((await db.scalars(select(AutomationRun.id))).all()) == 1

    missing = await client.post(f"{BASE}/{uuid.uuid4()}/runs", headers=actor.headers)
    assert_problem(missing, 404)


async def test_an_idempotency_key_returns_the_same_run_whoever_repeats_it(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    colleague = await add_user(db, actor, Role.staff)
    automation_id = await automation(client, actor)
    url = f"{BASE}/{automation_id}/runs"
    first = await start(client, actor, automation_id, {"n": 1}, key="order-42")

    again = await client.post(
        url, json={"payload": {"n": 1}}, headers={**actor.headers, "Idempotency-Key": "order-42"}
    )
    assert again.status_code == 201 and again.headers[REPLAYED_HEADER] == "true"
    assert again.json()["id"] == first["id"]
    assert again.headers["location"] == f"{RUNS}/{first['id']}"

    theirs = await client.post(
        url,
        json={"payload": {"n": 1}},
        headers={**colleague.headers, "Idempotency-Key": "order-42"},
    )
    assert theirs.status_code == 200 and theirs.json()["id"] == first["id"]
    # A third person's first use of the key: only the run's payload can tell it apart.
    newcomer = await add_user(db, actor, Role.builder)
    other_payload = await client.post(
        url,
        json={"payload": {"n": 2}},
        headers={**newcomer.headers, "Idempotency-Key": "order-42"},
    )
    assert "another payload" in assert_problem(other_payload, 409)["detail"]

    fresh = await start(client, actor, automation_id, {"n": 1}, key="order-43")
    assert fresh["id"] != first["id"]
    await scope_to_firm(db, actor.firm.id)
    keys = await db.scalars(select(AutomationRun.dedupe_key).order_by(AutomationRun.dedupe_key))
    assert list(keys) == ["manual:order-42", "manual:order-43"]


async def test_concurrent_starts_with_one_key_make_one_run(
    settings: Settings,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
) -> None:
    from api.app import create_app

    app = create_app(settings, sessionmaker=committing_sessionmaker)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with committing_sessionmaker() as session:
        others = [await add_user(session, committed_owner, Role.builder) for _ in range(2)]
    callers = [committed_owner, committed_owner, *others]
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        automation_id = await automation(http, committed_owner)
        responses = await asyncio.gather(
            *(
                http.post(
                    f"{BASE}/{automation_id}/runs",
                    json={"payload": {"race": True}},
                    headers={**caller.headers, "Idempotency-Key": "race"},
                )
                for caller in callers
            )
        )
    assert {r.status_code for r in responses} <= {200, 201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.status_code == 201 and REPLAYED_HEADER not in r.headers for r in responses) == 1
    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        runs = (await session.scalars(select(AutomationRun.id))).all()
        starts = (
            await session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.kind == MessageKind.start_workflow)
            )
        ).all()
    assert len(runs) == 1 and len(starts) == 1


async def test_the_list_filters_and_pages_newest_first(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    first, second = await automation(client, actor), await automation(client, actor)
    made = [await start(client, actor, first, {"i": i}) for i in range(3)]
    made += [await start(client, actor, second, {"i": i}) for i in range(2)]
    await finish(db, actor, made[1]["id"], RunStatus.failed)
    newest_first = [run["id"] for run in reversed(made)]

    async def ids(**params: Any) -> list[str]:
        response = await client.get(RUNS, params=params, headers=actor.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == newest_first
    listed = (await client.get(RUNS, headers=actor.headers)).json()["items"][0]
    assert "trigger_payload" not in listed and listed["status"] == "running"
    assert await ids(automation_id=first) == newest_first[2:]
    assert await ids(status="failed") == [made[1]["id"]]
    assert await ids(automation_id=second, status="failed") == []
    await scope_to_firm(db, actor.firm.id)
    third = await db.get(AutomationRun, uuid.UUID(made[2]["id"]))
    assert third is not None
    at = third.created_at.isoformat()
    assert await ids(started_after=at) == newest_first[:3]
    assert await ids(started_before=at) == newest_first[3:]
    assert await ids(started_after=at, started_before=made[3]["created_at"]) == [made[2]["id"]]

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(RUNS, params=params, headers=actor.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first

    bad: dict[str, tuple[dict[str, Any], int]] = {
        "cursor": ({"cursor": "not-a-cursor"}, 400),
        "status": ({"status": "sleeping"}, 422),
        "automation_id": ({"automation_id": "42"}, 422),
        "started_after": ({"started_after": "yesterday"}, 422),
        "started_before": ({"started_before": "2026-01-01T00:00:00"}, 400),
        "limit": ({"limit": 101}, 422),
    }
    for parameter, (query, status) in bad.items():
        body = assert_problem(await client.get(RUNS, params=query, headers=actor.headers), status)
        assert [e["parameter"] for e in body["errors"]] == [parameter], body
    empty = await client.get(
        RUNS, params={"started_after": at, "started_before": at}, headers=actor.headers
    )
    assert "empty" in assert_problem(empty, 400)["detail"]


async def test_a_run_shows_its_steps_in_order_and_no_live_view_without_temporal(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    run = await start(client, actor, await automation(client, actor), {"who": "Ada"})
    await record_steps(
        db, actor, run["id"], [("fetch", StepStatus.succeeded), ("notify", StepStatus.failed)]
    )

    response = await client.get(f"{RUNS}/{run['id']}", headers=actor.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["trigger_payload"] == {"who": "Ada"} and body["status"] == "running"
    assert [(s["step_id"], s["status"]) for s in body["steps"]] == [
        ("fetch", "succeeded"),
        ("notify", "failed"),
    ]
    assert body["steps"][0]["output"] == {"status": 200, "step": "fetch"}
    assert body["steps"][1]["error"] == "boom" and body["steps"][1]["output"] is None
    assert body["more_steps"] is False
    # This app has no Temporal address: the rows answer, the live view is simply absent.
    assert body["live"] is None
    assert_problem(await client.get(f"{RUNS}/{uuid.uuid4()}", headers=actor.headers), 404)
    assert_problem(await client.get(f"{RUNS}/not-a-uuid", headers=actor.headers), 422)


async def test_cancel_before_the_workflow_started_cancels_the_run_itself(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    run = await start(client, actor, await automation(client, actor))
    # Without Temporal the fast path failed: the start message is still pending.
    assert (await start_message(db, actor, run["id"])).dispatched_at is None

    canceled = await client.post(f"{RUNS}/{run['id']}/cancel", headers=actor.headers)

    assert canceled.status_code == 202, canceled.text
    assert canceled.json()["status"] == "canceled" and canceled.json()["finished_at"]
    message = await start_message(db, actor, run["id"])
    assert message.dispatched_at is not None and message.last_error == NOT_STARTED
    again = await client.post(f"{RUNS}/{run['id']}/cancel", headers=actor.headers)
    assert assert_problem(again, 409)["detail"] == (
        "This run has already been canceled; only a queued or running run can be canceled."
    )
    assert await audit_actions(db, actor.firm.id, record_id=run["id"]) == [
        "automation_run.started",
        "automation_run.canceled",
    ]

    finished = await start(client, actor, run["automation_id"])
    await finish(db, actor, finished["id"], RunStatus.succeeded)
    late = await client.post(f"{RUNS}/{finished['id']}/cancel", headers=actor.headers)
    assert "already succeeded" in assert_problem(late, 409)["detail"]


async def test_cancel_after_the_workflow_started_asks_temporal(
    settings: Settings,
    temporal_dev_server: WorkflowEnvironment,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
) -> None:
    """No worker runs the workflow here: it waits for its first task, which is enough
    for Temporal to take the cancel request (the workflow records ``canceled`` itself).
    On the dev server: the time-skipping server never skips time again once a workflow is
    terminated before its first task ran, which would stall every later test using it."""
    actor = committed_owner
    temporal_env = temporal_dev_server
    app = create_app(
        settings,
        sessionmaker=committing_sessionmaker,
        temporal=LazyClient(settings, client=temporal_dev_server.client),
    )
    async with AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    ) as temporal_api:
        await _cancel_after_start(temporal_api, temporal_env, committing_sessionmaker, actor)


async def _cancel_after_start(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
) -> None:
    run = await start(temporal_api, actor, await automation(temporal_api, actor))
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        message = await start_message(session, actor, run["id"])
    assert message.dispatched_at is not None, "the fast path started the workflow"
    handle = temporal_env.client.get_workflow_handle(workflow_id(uuid.UUID(run["id"])))
    try:
        # The workflow has no worker to answer the progress query: no live view, no error.
        detail = await temporal_api.get(f"{RUNS}/{run['id']}", headers=actor.headers)
        assert detail.status_code == 200 and detail.json()["live"] is None

        canceled = await temporal_api.post(f"{RUNS}/{run['id']}/cancel", headers=actor.headers)

        assert canceled.status_code == 202, canceled.text
        assert canceled.json()["status"] == "running"
        events = [event.event_type async for event in handle.fetch_history_events()]
        assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED in events
    finally:
        await handle.terminate("test over")

    # Terminated in Temporal, the workflow never recorded an outcome: cancel records one.
    ended = await temporal_api.post(f"{RUNS}/{run['id']}/cancel", headers=actor.headers)
    assert ended.status_code == 202, ended.text
    assert ended.json()["status"] == "canceled"
    assert "TERMINATED" in ended.json()["error"]["message"]


async def test_a_running_run_shows_the_live_view_of_its_workflow(
    temporal_api: AsyncClient, temporal_env: WorkflowEnvironment, committed_owner: Actor
) -> None:
    """The real run workflow on a worker; it waits in a one-hour delay (the time-skipping
    server moves time only while someone awaits a result) and answers the query there."""
    actor = committed_owner
    waiting = definition()
    waiting["steps"]["note"]["next"] = "wait"
    waiting["steps"]["wait"] = {"type": "delay", "params": {"seconds": 3600}, "next": "done"}
    automation_id = await automation(temporal_api, actor, draft=waiting)
    async with Worker(
        temporal_env.client, task_queue=TASK_QUEUE, workflows=[AutomationRunWorkflow]
    ):
        run = await start(temporal_api, actor, automation_id, {"who": "Ada"})
        handle = temporal_env.client.get_workflow_handle(workflow_id(uuid.UUID(run["id"])))
        try:
            # Each query waits for the worker's answer, so this loop paces itself; time
            # stands still on the test server, so the run stays in its delay.
            for _ in range(200):
                view = await handle.query(AutomationRunWorkflow.progress)
                if view.current_step == "wait":
                    break
            assert view.current_step == "wait"
            response = await temporal_api.get(f"{RUNS}/{run['id']}", headers=actor.headers)
            assert response.status_code == 200, response.text
            live = response.json()["live"]
        finally:
            await handle.terminate("test over")
    assert live["status"] == "running"
    assert [(s["step_id"], s["status"]) for s in live["steps"]] == [("note", "succeeded")]


async def test_retry_runs_the_payload_again_on_the_original_or_the_latest_version(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    automation_id = await automation(client, actor)
    source = await start(client, actor, automation_id, {"invoice": 7})
    running = await client.post(
        f"{RUNS}/{source['id']}/retry", json={"version": "original"}, headers=actor.headers
    )
    assert "still running" in assert_problem(running, 409)["detail"]
    await finish(db, actor, source["id"], RunStatus.failed)
    await publish_v2(client, actor, automation_id)

    for choice, version, note in [("original", 1, "v1"), ("latest", 2, "v2")]:
        response = await client.post(
            f"{RUNS}/{source['id']}/retry", json={"version": choice}, headers=actor.headers
        )
        assert response.status_code == 201, response.text
        retry = response.json()
        assert response.headers["location"] == f"{RUNS}/{retry['id']}"
        assert retry["trigger"] == "retry" and retry["source_run_id"] == source["id"]
        assert retry["version"] == version and retry["status"] == "running"
        run_input = RunInput.model_validate(
            (await start_message(db, actor, retry["id"])).payload["arg"]
        )
        assert run_input.version == version and run_input.definition == definition(note)
        assert run_input.trigger == {"invoice": 7}
        assert await audit_actions(db, actor.firm.id, record_id=retry["id"]) == [
            "automation_run.retried"
        ]

    bad = await client.post(
        f"{RUNS}/{source['id']}/retry", json={"version": "newest"}, headers=actor.headers
    )
    assert pointers(assert_problem(bad, 422)) == {"/version"}
    missing = await client.post(f"{RUNS}/{source['id']}/retry", headers=actor.headers)
    assert_problem(missing, 422)


async def test_resume_reuses_the_outputs_of_the_steps_that_succeeded(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    automation_id = await automation(client, actor)
    source = await start(client, actor, automation_id, {"client": "Ada"})
    await record_steps(
        db,
        actor,
        source["id"],
        [("fetch", StepStatus.succeeded), ("enrich", StepStatus.reused),
         ("notify", StepStatus.failed)],
    )  # fmt: skip
    not_failed = await client.post(f"{RUNS}/{source['id']}/resume", headers=actor.headers)
    assert "this run's status is running" in assert_problem(not_failed, 409)["detail"]
    await finish(db, actor, source["id"], RunStatus.failed)
    await publish_v2(client, actor, automation_id)

    response = await client.post(f"{RUNS}/{source['id']}/resume", headers=actor.headers)

    assert response.status_code == 201, response.text
    resumed = response.json()
    assert resumed["trigger"] == "resume" and resumed["source_run_id"] == source["id"]
    assert resumed["version"] == 1, "the recorded outputs belong to the source's version"
    run_input = RunInput.model_validate(
        (await start_message(db, actor, resumed["id"])).payload["arg"]
    )
    assert run_input.definition == definition("v1") and run_input.trigger == {"client": "Ada"}
    assert {key: step.model_dump() for key, step in run_input.reuse.items()} == {
        "fetch#1": {
            "output": {"status": 200, "step": "fetch"},
            "input": {"url": "https://example.com/fetch"},
        },
        "enrich#1": {
            "output": {"status": 200, "step": "enrich"},
            "input": {"url": "https://example.com/enrich"},
        },
    }
    assert await audit_actions(db, actor.firm.id, record_id=resumed["id"]) == [
        "automation_run.resumed"
    ]

    succeeded = await start(client, actor, automation_id)
    await finish(db, actor, succeeded["id"], RunStatus.succeeded)
    refused = await client.post(f"{RUNS}/{succeeded['id']}/resume", headers=actor.headers)
    assert "Only a failed run" in assert_problem(refused, 409)["detail"]


async def test_another_firms_runs_are_404_on_every_route(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db, "Alpha")
    stranger = await make_firm(db, "Beta")
    automation_id = await automation(client, owner)
    run = await start(client, owner, automation_id)
    await finish(db, owner, run["id"], RunStatus.failed)

    calls = [
        ("POST", f"{BASE}/{automation_id}/runs", None),
        ("GET", f"{RUNS}/{run['id']}", None),
        ("POST", f"{RUNS}/{run['id']}/cancel", None),
        ("POST", f"{RUNS}/{run['id']}/retry", {"version": "latest"}),
        ("POST", f"{RUNS}/{run['id']}/resume", None),
    ]
    for method, url, body in calls:
        response = await client.request(method, url, json=body, headers=stranger.headers)
        assert_problem(response, 404)
    listed = await client.get(
        RUNS, params={"automation_id": automation_id}, headers=stranger.headers
    )
    assert listed.status_code == 200 and listed.json()["items"] == []
    await scope_to_firm(db, owner.firm.id)
    assert len((await db.scalars(select(AutomationRun.id))).all()) == 1


async def test_roles_without_the_run_permission_are_refused(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    automation_id = await automation(client, owner)
    run = await start(client, owner, automation_id)
    client_user = await add_user(db, owner, Role.client)
    staff = await add_user(db, owner, Role.staff)

    for method, url, body in [
        ("POST", f"{BASE}/{automation_id}/runs", None),
        ("POST", f"{RUNS}/{run['id']}/cancel", None),
        ("POST", f"{RUNS}/{run['id']}/retry", {"version": "latest"}),
        ("POST", f"{RUNS}/{run['id']}/resume", None),
        ("GET", RUNS, None),
        ("GET", f"{RUNS}/{run['id']}", None),
    ]:
        response = await client.request(method, url, json=body, headers=client_user.headers)
        assert "automations:" in assert_problem(response, 403)["detail"]
    # Staff run automations (they do not define them).
    assert (await start(client, staff, automation_id))["created_by"] == str(staff.user.id)
