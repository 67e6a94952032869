"""A long run continues as new: with the worker's history threshold lowered (the constant
in workflows/automation/run/state.py, which every run on the worker reads), events that match
no wait grow the history until the run continues as new while it waits, and between
steps. The run keeps its step outputs, vars, event buffer and seen event ids across
executions, the same workflow id takes the signals, and ``finish_run`` runs once, in the
last execution. An approval wait resumes with its approval and deadline, never reopened."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.db import tenant_session
from models import Approval
from tests.automations import active_automation, definition, finished, handle, start, step_rows
from tests.factories import Actor
from tests.fixtures.firms import allow_loopback
from tests.http_target import HttpTarget
from tests.integration.automations.test_automation_waits import (
    approval_draft,
    decision,
    send,
    view_when,
    wait_step,
)
from workflows.automation.run import state
from workflows.automation.run.contracts import APPROVAL_SIGNAL


async def executions(env: WorkflowEnvironment, workflow_id: str) -> list[list[Any]]:
    """The events of every execution of the run's workflow, first execution first."""
    chain: list[list[Any]] = []
    run_id: str | None = None
    while True:
        history = await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        events = list(history.events)
        chain.insert(0, events)
        started = events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return chain
        run_id = started.continued_execution_run_id


async def new_execution(run_handle: WorkflowHandle[Any, Any], before: str) -> str:
    for _ in range(300):
        current = (await run_handle.describe()).run_id
        if current is not None and current != before:
            return current
    raise AssertionError("the run never continued as new")


async def test_a_long_run_continues_as_new_keeps_its_state_and_finishes_once(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(state, "HISTORY_LIMIT", 30)
    await allow_loopback(temporal_api, committed_owner)
    draft = definition(
        "fetch",
        fetch={
            "type": "http_request",
            "params": {"method": "POST", "url": target.url("/fetch"), "body": {"a": 1}},
            "next": "note",
        },
        note={"type": "set", "params": {"vars": {"who": "{{ trigger.who }}"}}, "next": "first"},
        first=wait_step("clock.first", "second"),
        second=wait_step("clock.second", "third"),
        third=wait_step("clock.second", "report", timeout=60, on_timeout="report"),
        report={
            "type": "http_request",
            "params": {
                "method": "POST",
                "url": target.url("/report"),
                "body": {
                    "who": "{{ vars.who }}",
                    "fetched": "{{ steps.fetch.output.body.body.a }}",
                    "first": "{{ steps.first.output.payload.n }}",
                    "second": "{{ steps.second.output.payload.n }}",
                    "third_timed_out": "{{ steps.third.output.timed_out }}",
                },
            },
        },
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"who": "Ada"})
    run_handle = handle(temporal_env, run_id)
    await view_when(run_handle, "event", "first")
    first_execution = (await run_handle.describe()).run_id
    assert first_execution is not None

    # Kept in the buffer for the second wait; then events no wait takes grow the history.
    await send(run_handle, "clock.second", payload={"n": 2}, event_id="s-1")
    for index in range(12):
        await send(run_handle, "clock.noise", payload={"i": index}, event_id=f"noise-{index}")
    await new_execution(run_handle, first_execution)
    # The new execution resumed the same wait, and the workflow id still takes signals.
    view = await view_when(run_handle, "event", "first")
    assert view.waiting is not None and view.waiting.event == "clock.first"
    # A repeat of an id the first execution saw is still ignored, so the third wait times out.
    await send(run_handle, "clock.second", payload={"n": 99}, event_id="s-1")
    await send(run_handle, "clock.first", payload={"n": 1}, event_id="f-1")

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert list(rows) == ["fetch#1", "note#1", "first#1", "second#1", "third#1", "report#1"]
    assert [row["position"] for row in run["steps"]] == [1, 2, 3, 4, 5, 6]
    assert rows["second#1"]["output"]["event_id"] == "s-1"
    assert rows["third#1"]["output"]["timed_out"] is True
    assert [request.path for request in target.requests] == ["/fetch", "/report"]
    assert target.requests[1].body == {
        "who": "Ada",
        "fetched": 1,
        "first": 1,
        "second": 2,
        "third_timed_out": True,
    }

    chain = await executions(temporal_env, run_handle.id)
    assert len(chain) >= 2
    closing = [events[-1].event_type for events in chain]
    assert closing[:-1] == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW] * (
        len(chain) - 1
    )
    assert closing[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    # finish_run is the run's only local activity: one marker in the whole chain.
    markers = [
        [event for event in events if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
        for events in chain
    ]
    assert [len(found) for found in markers] == [0] * (len(chain) - 1) + [1]


async def test_an_approval_wait_resumes_after_continue_as_new_without_reopening(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committed_owner: Actor,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(state, "HISTORY_LIMIT", 30)
    draft = approval_draft(next="paid", on_timeout="expired")
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"vendor": "Acme"})
    run_handle = handle(temporal_env, run_id)
    before = await view_when(run_handle, "approval", "pay")
    assert before.waiting is not None
    first_execution = (await run_handle.describe()).run_id
    assert first_execution is not None

    for index in range(12):
        await send(run_handle, "clock.noise", payload={"i": index}, event_id=f"noise-{index}")
    await new_execution(run_handle, first_execution)
    after = await view_when(run_handle, "approval", "pay")
    assert after.waiting is not None
    # The same approval, with the deadline it had: the wait resumed, nothing reopened.
    assert after.waiting.approval_id == before.waiting.approval_id
    assert after.waiting.wakes_at == before.waiting.wakes_at
    approval_id = before.waiting.approval_id
    assert approval_id is not None
    await run_handle.signal(
        APPROVAL_SIGNAL, decision(approval_id, "approved", committed_owner, note="go")
    )

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert list(rows) == ["pay#1", "paid#1"]
    assert rows["pay#1"]["output"]["form"] == {"note": "go"}
    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        opened = await session.scalar(
            select(func.count()).select_from(Approval).where(Approval.run_id == run_id)
        )
    assert opened == 1
    assert len(await executions(temporal_env, run_handle.id)) >= 2
