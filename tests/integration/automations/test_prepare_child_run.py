"""``automation.prepare_child_run``: the run row a call_automation step or a schedule fire
starts, through the real activity against committed Postgres (a fresh firm per test).

Another firm's automation and a paused one are refused with a reason (never an
exception, never a run in the other firm); a retried call with the same dedupe key finds
the same run; a schedule fire takes its payload from the latest version; flow control and
the depth limit answer as they do for any run."""

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.automation_flow import FlowActivities
from core.db import tenant_session
from core.temporal import fixed_client
from models import AutomationRun, AutomationStatus, RunStatus, RunTrigger
from services.automations import automations
from services.automations.automations import AutomationFields
from services.automations.child_runs import NO_AUTOMATION
from tests.automations import runs_of
from tests.factories import Actor, make_firm, principal_of
from workflows.automation.run.contracts import MAX_EVENT_DEPTH, ChildRunPrepared, ChildRunRequest

Definition = dict[str, Any]


def definition(trigger: dict[str, Any] | None = None, **extra: Any) -> Definition:
    return {
        "schema_version": 1,
        "trigger": trigger or {"type": "manual"},
        "start": "done",
        "steps": {"done": {"type": "stop", "params": {"status": "succeeded"}}},
        **extra,
    }


async def automation(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    *drafts: Definition,
    status: AutomationStatus = AutomationStatus.active,
) -> uuid.UUID:
    """An automation with one published version per draft, then set to ``status``."""
    async with tenant_session(actor.firm.id, maker) as session:
        created = await automations.create_automation(
            session, principal_of(actor), fields=AutomationFields(name="Child"), draft=drafts[0]
        )
        for draft in drafts:
            await automations.save_draft(
                session, principal_of(actor), created.id, raw=json.dumps(draft).encode()
            )
            await automations.publish(session, principal_of(actor), created.id)
        await automations.set_status(
            session, principal_of(actor), created.id, AutomationStatus.active
        )
        if status != AutomationStatus.active:
            await automations.set_status(session, principal_of(actor), created.id, status)
        return created.id


@pytest.fixture
def flow(
    committing_sessionmaker: async_sessionmaker[AsyncSession], temporal_env: WorkflowEnvironment
) -> FlowActivities:
    return FlowActivities(committing_sessionmaker, fixed_client(temporal_env.client))


async def prepare(flow: FlowActivities, **fields: Any) -> ChildRunPrepared:
    request = ChildRunRequest.model_validate({"trigger": "call", **fields})
    prepared: ChildRunPrepared = await ActivityEnvironment().run(flow.prepare_child_run, request)
    return prepared


async def test_a_call_prepares_a_running_run_with_its_input(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
    flow: FlowActivities,
) -> None:
    maker = committing_sessionmaker
    child = await automation(maker, committed_owner, definition())
    parent_run_id = await a_parent_run(maker, flow, committed_owner)
    prepared = await prepare(
        flow,
        firm_id=committed_owner.firm.id,
        caller_firm_id=committed_owner.firm.id,
        automation_id=child,
        payload={"client": "c-1"},
        dedupe_key=f"call:{parent_run_id}:call:1",
        parent_run_id=parent_run_id,
        depth=2,
        initiator_id=committed_owner.user.id,
    )
    assert prepared.admission == "running" and prepared.reason is None
    assert prepared.input is not None
    assert prepared.input.run_id == prepared.run_id
    assert prepared.input.trigger == {"client": "c-1"}
    assert prepared.input.depth == 2 and prepared.input.initiator_id == committed_owner.user.id
    assert prepared.input.definition == definition()
    (run,) = await runs_of(maker, committed_owner, child)
    assert run.id == prepared.run_id
    assert run.trigger == RunTrigger.call and run.status == RunStatus.running
    assert run.parent_run_id == parent_run_id and run.created_by == committed_owner.user.id


async def a_parent_run(
    maker: async_sessionmaker[AsyncSession], flow: FlowActivities, actor: Actor
) -> uuid.UUID:
    parent = await automation(maker, actor, definition())
    prepared = await prepare(
        flow,
        firm_id=actor.firm.id,
        caller_firm_id=actor.firm.id,
        automation_id=parent,
        dedupe_key=f"call:{uuid.uuid4()}",
    )
    assert prepared.run_id is not None
    return prepared.run_id


async def test_another_firms_automation_is_refused_as_unknown(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
    flow: FlowActivities,
) -> None:
    maker = committing_sessionmaker
    async with maker() as session:
        other = await make_firm(session, "Other Firm")
    theirs = await automation(maker, other, definition())
    # Asked in the caller's firm: the other firm's automation is not there.
    in_mine = await prepare(
        flow,
        firm_id=committed_owner.firm.id,
        caller_firm_id=committed_owner.firm.id,
        automation_id=theirs,
        dedupe_key="call:x",
    )
    # Asked for the other firm by a caller of this one: refused before looking.
    in_theirs = await prepare(
        flow,
        firm_id=other.firm.id,
        caller_firm_id=committed_owner.firm.id,
        automation_id=theirs,
        dedupe_key="call:y",
    )
    no_caller = await prepare(
        flow, firm_id=other.firm.id, automation_id=theirs, dedupe_key="call:z"
    )
    for prepared in (in_mine, in_theirs, no_caller):
        assert prepared == ChildRunPrepared(admission="failed", reason=NO_AUTOMATION)
    assert await runs_of(maker, other, theirs) == []


@pytest.mark.parametrize("status", [AutomationStatus.paused, AutomationStatus.archived])
async def test_an_automation_that_is_not_active_is_refused(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
    flow: FlowActivities,
    status: AutomationStatus,
) -> None:
    maker = committing_sessionmaker
    child = await automation(maker, committed_owner, definition(), status=status)
    prepared = await prepare(
        flow,
        firm_id=committed_owner.firm.id,
        caller_firm_id=committed_owner.firm.id,
        automation_id=child,
        dedupe_key="call:paused",
    )
    assert prepared.admission == "failed" and prepared.run_id is None
    assert prepared.reason == (
        f"the automation is {status}; only an active automation with a published version runs"
    )
    assert await runs_of(maker, committed_owner, child) == []


async def test_a_retried_call_finds_the_same_run(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
    flow: FlowActivities,
) -> None:
    maker = committing_sessionmaker
    child = await automation(maker, committed_owner, definition())
    fields: dict[str, Any] = {
        "firm_id": committed_owner.firm.id,
        "caller_firm_id": committed_owner.firm.id,
        "automation_id": child,
        "payload": {"n": 1},
        "dedupe_key": "call:retried",
    }
    first = await prepare(flow, **fields)
    again = await prepare(flow, **fields)
    assert first.admission == again.admission == "running"
    assert again.run_id == first.run_id and again.input == first.input
    assert len(await runs_of(maker, committed_owner, child)) == 1

    # Once the run has ended, a late retry never gets an input to run it again.
    async with tenant_session(committed_owner.firm.id, maker) as session:
        run = await session.get_one(AutomationRun, first.run_id)
        run.status = RunStatus.succeeded
        run.finished_at = func.clock_timestamp()
    late = await prepare(flow, **fields)
    assert late == ChildRunPrepared(
        admission="failed", run_id=first.run_id, reason="its run has already ended (succeeded)"
    )


async def test_a_schedule_fire_takes_the_payload_of_the_latest_version(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
    flow: FlowActivities,
) -> None:
    maker = committing_sessionmaker

    def scheduled(payload: dict[str, Any]) -> Definition:
        return definition({"type": "schedule", "cron": "0 8 * * 1", "payload": payload})

    child = await automation(
        maker, committed_owner, scheduled({"digest": "v1"}), scheduled({"digest": "v2"})
    )
    prepared = await prepare(
        flow,
        trigger="schedule",
        firm_id=committed_owner.firm.id,
        caller_firm_id=committed_owner.firm.id,
        automation_id=child,
        dedupe_key="schedule:2027-03-29T06:00:00+00:00",
    )
    assert prepared.admission == "running" and prepared.input is not None
    assert prepared.input.trigger == {"digest": "v2"} and prepared.input.version == 2
    (run,) = await runs_of(maker, committed_owner, child)
    assert run.trigger == RunTrigger.schedule and run.trigger_payload == {"digest": "v2"}

    # A version that is no longer scheduled (a fire racing the publish) starts nothing.
    async with tenant_session(committed_owner.firm.id, maker) as session:
        await automations.save_draft(
            session, principal_of(committed_owner), child, raw=json.dumps(definition()).encode()
        )
        await automations.publish(session, principal_of(committed_owner), child)
    late = await prepare(
        flow,
        trigger="schedule",
        firm_id=committed_owner.firm.id,
        caller_firm_id=committed_owner.firm.id,
        automation_id=child,
        dedupe_key="schedule:2027-04-05T06:00:00+00:00",
    )
    assert late == ChildRunPrepared(
        admission="failed",
        reason="the automation's latest version is no longer triggered by a schedule",
    )


async def test_flow_control_and_the_depth_limit_answer_for_calls(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
    flow: FlowActivities,
) -> None:
    maker = committing_sessionmaker
    queue = await automation(maker, committed_owner, definition(concurrency={"max_runs": 1}))
    skip = await automation(
        maker, committed_owner, definition(concurrency={"max_runs": 1, "when_full": "skip"})
    )

    async def call(automation_id: uuid.UUID, depth: int = 1) -> ChildRunPrepared:
        return await prepare(
            flow,
            firm_id=committed_owner.firm.id,
            caller_firm_id=committed_owner.firm.id,
            automation_id=automation_id,
            dedupe_key=f"call:{uuid.uuid4()}",
            depth=depth,
        )

    assert (await call(queue)).admission == "running"
    queued = await call(queue)
    assert queued.admission == "queued" and queued.input is None
    assert queued.reason == "waiting for a free slot (1 running)"
    assert (await call(skip)).admission == "running"
    skipped = await call(skip)
    assert skipped.admission == "skipped"
    assert skipped.reason == "skipped: 1 runs already running (limit 1)"

    too_deep = await call(
        await automation(maker, committed_owner, definition()), MAX_EVENT_DEPTH + 1
    )
    assert too_deep.admission == "failed" and too_deep.input is None
    assert too_deep.reason is not None and f"deeper than {MAX_EVENT_DEPTH}" in too_deep.reason
