"""call_automation end to end on the time-skipping server with the real worker and the real
``prepare_child_run`` activity: a waiting call returns the called run's output, a call that
does not wait leaves its child running after the caller ended, a failed child fails the
step with its message, another firm's automation is refused, and each call is one level
deeper (depth and parent are recorded on the called run)."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.db import tenant_session
from models import AutomationRun
from tests.automations import (
    RUNS,
    active_automation,
    definition,
    finished,
    handle,
    start,
    step_rows,
)
from tests.factories import Actor, make_firm
from tests.fixtures.temporal import result_skipping_time
from tests.integration.automations.test_automation_waits import send, view_when, wait_step


def call_step(
    automation_id: str,
    next: str | None = None,
    on_error: Any = None,
    **params: Any,
) -> dict[str, Any]:
    step: dict[str, Any] = {
        "type": "call_automation",
        "params": {"automation_id": automation_id, **params},
    }
    if next is not None:
        step["next"] = next
    if on_error is not None:
        step["on_error"] = on_error
    return step


def done_step() -> dict[str, Any]:
    return {"type": "set", "params": {"vars": {"done": True}}}


async def run_row(
    maker: async_sessionmaker[AsyncSession], firm_id: uuid.UUID, run_id: str
) -> AutomationRun:
    async with tenant_session(firm_id, maker) as session:
        row = await session.scalar(select(AutomationRun).where(AutomationRun.id == run_id))
    assert row is not None
    return row


async def test_a_waiting_call_returns_the_called_runs_output_one_level_deeper(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    leaf = await active_automation(
        temporal_api,
        committed_owner,
        definition(
            "greet",
            greet={"type": "set", "params": {"vars": {"greeting": "hello {{ trigger.name }}"}}},
        ),
    )
    middle = await active_automation(
        temporal_api,
        committed_owner,
        definition("inner", inner=call_step(leaf, payload={"name": "{{ trigger.name }}!"})),
    )
    top = await active_automation(
        temporal_api,
        committed_owner,
        definition(
            "outer",
            outer=call_step(middle, "after", payload={"name": "{{ trigger.name }}"}),
            after={
                "type": "set",
                "params": {"vars": {"said": "{{ steps.outer.output.output.output.greeting }}"}},
            },
        ),
    )
    run_id = await start(temporal_api, committed_owner, top, {"name": "Ada"})
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    outer = rows["outer#1"]["output"]
    assert outer["status"] == "succeeded"
    inner = outer["output"]
    assert inner["status"] == "succeeded"
    assert inner["output"] == {"greeting": "hello Ada!"}
    assert rows["after#1"]["output"] == {"said": "hello Ada!"}

    top_row = await run_row(committing_sessionmaker, committed_owner.firm.id, run_id)
    middle_row = await run_row(committing_sessionmaker, committed_owner.firm.id, outer["run_id"])
    leaf_row = await run_row(committing_sessionmaker, committed_owner.firm.id, inner["run_id"])
    assert [row.depth for row in (top_row, middle_row, leaf_row)] == [0, 1, 2]
    assert middle_row.parent_run_id == top_row.id and leaf_row.parent_run_id == middle_row.id
    assert str(middle_row.trigger) == "call" and str(leaf_row.status) == "succeeded"
    # The called runs start with the initiator of the run that called them.
    assert middle_row.created_by == leaf_row.created_by == committed_owner.user.id
    assert middle_row.trigger_payload == {"name": "Ada"}


async def test_a_call_that_does_not_wait_leaves_its_child_running(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    child = await active_automation(
        temporal_api, committed_owner, definition("hold", hold=wait_step("relay.released"))
    )
    parent = await active_automation(
        temporal_api,
        committed_owner,
        definition("fire", fire=call_step(child, payload={"from": "parent"}, wait=False)),
    )
    parent_id = await start(temporal_api, committed_owner, parent)
    # Awaited without skipping time: the test server would skip years ahead to the idle
    # child's execution timeout.
    await handle(temporal_env, parent_id).result()
    response = await temporal_api.get(f"{RUNS}/{parent_id}", headers=committed_owner.headers)
    assert response.status_code == 200, response.text
    parent_run = response.json()
    assert parent_run["status"] == "succeeded", parent_run
    output = step_rows(parent_run)["fire#1"]["output"]
    assert output["status"] == "running" and output["output"] is None

    # The caller ended; the child still waits, and finishes when its event comes.
    child_handle = handle(temporal_env, output["run_id"])
    await view_when(child_handle, "event", "hold")
    await send(child_handle, "relay.released", payload={"ok": True})
    await result_skipping_time(temporal_env, child_handle)
    child_run = await finished(temporal_api, temporal_env, committed_owner, output["run_id"])
    assert child_run["status"] == "succeeded"
    assert child_run["trigger_payload"] == {"from": "parent"}


async def test_a_failed_child_fails_the_step_with_its_message(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    child = await active_automation(
        temporal_api,
        committed_owner,
        definition("no", no={"type": "stop", "params": {"status": "failed", "message": "nope"}}),
    )
    parent = await active_automation(
        temporal_api,
        committed_owner,
        definition(
            "ask",
            ask=call_step(child, "yes", on_error={"goto": "fallback"}),
            yes={"type": "set", "params": {"vars": {"answer": "yes"}}},
            fallback={"type": "set", "params": {"vars": {"answer": "fallback"}}},
        ),
    )
    run_id = await start(temporal_api, committed_owner, parent)
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert list(rows) == ["ask#1", "fallback#1"]
    assert rows["ask#1"]["status"] == "failed"
    assert rows["ask#1"]["error"] == "nope"


async def test_another_firms_automation_is_refused(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with committing_sessionmaker() as session:
        other = await make_firm(session, "Other Firm")
    theirs = await active_automation(
        temporal_api,
        other,
        definition("x", x={"type": "set", "params": {"vars": {"secret": "theirs"}}}),
    )
    draft = definition("steal", steal=call_step(theirs))
    mine = await active_automation(temporal_api, committed_owner, draft)
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, mine),
    )
    assert run["status"] == "failed"
    assert run["error"] == {"step": "steal", "message": "no automation with this id in your firm"}
    # Nothing ran in the other firm.
    response = await temporal_api.get(
        "/v1/automation-runs", params={"automation_id": theirs}, headers=other.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


async def test_a_call_into_a_full_concurrency_limit_is_queued(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    limited = definition("hold", hold=wait_step("relay.released", timeout=3600))
    limited["concurrency"] = {"max_runs": 1, "when_full": "queue"}
    child = await active_automation(temporal_api, committed_owner, limited)
    holder = await start(temporal_api, committed_owner, child)
    await view_when(handle(temporal_env, holder), "event", "hold")
    parent = await active_automation(
        temporal_api,
        committed_owner,
        definition(
            "later",
            later=call_step(child, "now", wait=False),
            now=call_step(child, on_error="continue"),
        ),
    )
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, parent),
    )
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    later = rows["later#1"]["output"]
    assert later["status"] == "queued" and later["output"] is None
    assert rows["now#1"]["status"] == "failed"
    assert rows["now#1"]["error"].startswith(f"automation {child} queued its run ")
    assert rows["now#1"]["error"].endswith(": waiting for a free slot (1 running)")


async def test_canceling_a_caller_cancels_the_run_it_waits_for(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    child = await active_automation(
        temporal_api, committed_owner, definition("hold", hold=wait_step("relay.released"))
    )
    parent = await active_automation(
        temporal_api,
        committed_owner,
        definition("ask", ask=call_step(child, "after"), after=done_step()),
    )
    parent_id = await start(temporal_api, committed_owner, parent)
    parent_handle = handle(temporal_env, parent_id)
    view = await view_when(parent_handle, "child_run", "ask")
    assert view.waiting is not None and view.waiting.child_run_id is not None
    child_id = str(view.waiting.child_run_id)
    await view_when(handle(temporal_env, child_id), "event", "hold")

    await parent_handle.cancel()
    run = await finished(temporal_api, temporal_env, committed_owner, parent_id)
    assert run["status"] == "canceled", run
    assert [step["step_id"] for step in run["steps"]] == []
    called = await finished(temporal_api, temporal_env, committed_owner, child_id)
    assert called["status"] == "canceled", called
    assert called["parent_run_id"] == parent_id
