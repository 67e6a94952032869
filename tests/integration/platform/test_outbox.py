"""The outbox: enqueueing, dispatch of each kind, SKIP LOCKED, and the relay workflow that
dispatches what the fast path never did (the process died between commit and dispatch)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import OutboxActivities
from core.db import APP_ROLE, SystemPurpose, system_session, tenant_session
from core.temporal import OUTBOX_RELAY_ID, ensure_search_attributes, fixed_client
from models import OutboxMessage
from services.outbox import writer as outbox
from services.outbox.dispatch import dispatch_message, dispatch_pending
from services.outbox.kinds import MessageKind
from services.outbox.writer import pop_outbox_ids
from tests.factories import Actor
from tests.fixtures import db as db_fixtures
from tests.fixtures.temporal import BIN
from tests.integration.platform.outbox_target import TargetInput, TargetWorkflow
from worker import ensure_outbox_relay
from workflows.outbox.relay.contracts import OutboxRelayInput, OutboxRelayResult
from workflows.outbox.relay.workflow import OutboxRelayWorkflow

Maker = async_sessionmaker[AsyncSession]
TIMEOUT = 60


@pytest.fixture(scope="module")
async def relay_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own: the relay dispatches every pending
    row in the database, and the workflows that starts must not outlive these tests."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    await ensure_search_attributes(env.client)
    yield env
    await env.shutdown()


@asynccontextmanager
async def relay_worker(
    env: WorkflowEnvironment, maker: Maker, task_queue: str
) -> AsyncIterator[Worker]:
    activities = OutboxActivities(maker, fixed_client(env.client))
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[OutboxRelayWorkflow, TargetWorkflow],
        activities=[activities.dispatch_pending],
    ) as worker:
        yield worker


async def run_relay(
    env: WorkflowEnvironment, task_queue: str, relay: OutboxRelayInput
) -> OutboxRelayResult:
    async with asyncio.timeout(TIMEOUT):
        result: OutboxRelayResult = await env.client.execute_workflow(
            OutboxRelayWorkflow.run, relay, id=f"relay-{uuid.uuid4()}", task_queue=task_queue
        )
    return result


async def commit_message(maker: Maker, actor: Actor, message: outbox.NewMessage) -> uuid.UUID:
    """Commit a message and skip the fast path, as if the process died right after COMMIT."""
    async with tenant_session(actor.firm.id, maker) as session:
        message_id = await outbox.enqueue_message(session, actor.firm.id, message)
        assert message_id is not None
        assert pop_outbox_ids(session) == [message_id]
    return message_id


async def load(maker: Maker, message_id: uuid.UUID) -> OutboxMessage:
    async with system_session(SystemPurpose.outbox_relay, maker) as session:
        found = await session.get(OutboxMessage, message_id)
    assert found is not None
    return found


def start_target(task_queue: str, target_id: str) -> outbox.NewMessage:
    return outbox.start_workflow(
        "TargetWorkflow", target_id, TargetInput(greeting="hello"), task_queue=task_queue
    )


async def test_relay_dispatches_a_message_the_fast_path_never_saw_exactly_once(
    relay_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker, client = committing_sessionmaker, relay_env.client
    target_id = f"target-{uuid.uuid4()}"
    message_id = await commit_message(maker, committed_owner, start_target(task_queue, target_id))
    assert (await load(maker, message_id)).dispatched_at is None

    # Skipping time would jump to the target's run timeout: nothing else is pending.
    with relay_env.auto_time_skipping_disabled():
        async with relay_worker(relay_env, maker, task_queue):
            first = await run_relay(relay_env, task_queue, OutboxRelayInput(max_passes=1))
            dispatched = await load(maker, message_id)
            started = await client.get_workflow_handle(target_id).describe()
            second = await run_relay(relay_env, task_queue, OutboxRelayInput(max_passes=1))
            again = await load(maker, message_id)
            still = await client.get_workflow_handle(target_id).describe()

            # The relay died between starting the workflow and marking the row: dispatching
            # the same message again reuses the running workflow...
            await dispatch_message(again, fixed_client(client), maker)
            reused = await client.get_workflow_handle(target_id).describe()
            target = client.get_workflow_handle_for(TargetWorkflow.run, target_id)
            await target.signal(TargetWorkflow.finish, "world")
            async with asyncio.timeout(TIMEOUT):
                assert await target.result() == "hello world"
            # ...and never starts a closed one again.
            await dispatch_message(again, fixed_client(client), maker)
            closed = await client.get_workflow_handle(target_id).describe()

    assert first.passes == 1 and first.dispatched >= 1
    assert second.passes == 1
    assert dispatched.dispatched_at is not None
    assert (dispatched.attempts, dispatched.last_error) == (0, None)
    assert again.dispatched_at == dispatched.dispatched_at
    assert started.status is WorkflowExecutionStatus.RUNNING
    assert still.run_id == reused.run_id == closed.run_id == started.run_id
    assert closed.status is WorkflowExecutionStatus.COMPLETED


async def test_signal_message_reaches_the_running_workflow(
    relay_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker, client = committing_sessionmaker, relay_env.client
    target_id = f"target-{uuid.uuid4()}"
    async with relay_worker(relay_env, maker, task_queue):
        target = await client.start_workflow(
            TargetWorkflow.run, TargetInput(greeting="hi"), id=target_id, task_queue=task_queue
        )
        signal = outbox.NewMessage(
            kind=MessageKind.signal_workflow,
            dedupe_key=f"finish:{target_id}",
            payload={"workflow_id": target_id, "signal": "finish", "arg": "outbox"},
        )
        message_id = await commit_message(maker, committed_owner, signal)
        report = await dispatch_pending(maker, fixed_client(client), limit=1, ids=[message_id])
        async with asyncio.timeout(TIMEOUT):
            assert await target.result() == "hi outbox"
    assert (report.picked, report.dispatched, report.failed) == (1, 1, 0)


async def test_signal_to_no_running_workflow_is_dropped_not_retried(
    relay_env: WorkflowEnvironment, committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    maker, client = committing_sessionmaker, relay_env.client
    signal = outbox.NewMessage(
        kind=MessageKind.signal_workflow,
        dedupe_key=f"nobody:{uuid.uuid4()}",
        payload={"workflow_id": f"never-started-{uuid.uuid4()}", "signal": "finish"},
    )
    message_id = await commit_message(maker, committed_owner, signal)
    report = await dispatch_pending(maker, fixed_client(client), limit=1, ids=[message_id])
    assert (report.picked, report.dispatched, report.failed) == (1, 1, 0)
    assert (await load(maker, message_id)).last_error is None


async def test_a_signal_to_a_workflow_whose_start_is_pending_waits_for_the_start(
    relay_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker, temporal = committing_sessionmaker, fixed_client(relay_env.client)
    target_id = f"target-{uuid.uuid4()}"
    start = await commit_message(maker, committed_owner, start_target(task_queue, target_id))
    signal = await commit_message(
        maker,
        committed_owner,
        outbox.NewMessage(
            kind=MessageKind.signal_workflow,
            dedupe_key=f"finish:{target_id}",
            payload={"workflow_id": target_id, "signal": "finish", "arg": "early"},
        ),
    )

    early = await dispatch_pending(maker, temporal, limit=1, ids=[signal])

    assert (early.picked, early.dispatched, early.failed) == (1, 0, 1)
    kept = await load(maker, signal)
    assert kept.dispatched_at is None and kept.attempts == 1
    assert (
        kept.last_error == f"StartPending: {target_id} is not started yet; the signal waits for it"
    )
    async with relay_worker(relay_env, maker, task_queue):
        later = await dispatch_pending(maker, temporal, limit=5, ids=[start, signal])
        assert (later.picked, later.dispatched, later.failed) == (2, 2, 0)
        async with asyncio.timeout(TIMEOUT):
            assert await relay_env.client.get_workflow_handle(target_id).result() == "hello early"


async def no_temporal() -> Client:
    raise ConnectionError("Temporal is unreachable")


async def test_events_need_no_temporal_and_are_marked_dispatched(
    committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    maker = committing_sessionmaker
    message_id = await commit_message(
        maker,
        committed_owner,
        outbox.event("client.created", f"client.created:{uuid.uuid4()}", x=1),
    )
    report = await dispatch_pending(maker, no_temporal, limit=5, ids=[message_id])
    assert (report.picked, report.dispatched, report.failed) == (1, 1, 0)
    assert (await load(maker, message_id)).dispatched_at is not None
    again = await dispatch_pending(maker, no_temporal, limit=5, ids=[message_id])
    assert again.picked == 0


async def test_failures_count_attempts_and_leave_the_row_pending(
    committing_sessionmaker: Maker, committed_owner: Actor, task_queue: str
) -> None:
    maker = committing_sessionmaker
    unknown = await commit_message(
        maker, committed_owner, outbox.NewMessage("carrier_pigeon", f"pigeon:{uuid.uuid4()}", {})
    )
    start = await commit_message(
        maker, committed_owner, start_target(task_queue, f"t-{uuid.uuid4()}")
    )
    for attempt in (1, 2):
        report = await dispatch_pending(maker, no_temporal, limit=5, ids=[unknown, start])
        assert (report.picked, report.dispatched, report.failed) == (2, 0, 2)
        pigeon, starting = await load(maker, unknown), await load(maker, start)
        assert (pigeon.attempts, starting.attempts) == (attempt, attempt)
    async with system_session(SystemPurpose.outbox_relay, maker) as session:
        # Rows no dispatcher can carry out would be retried by every later relay.
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([unknown, start])))
    assert pigeon.dispatched_at is None and starting.dispatched_at is None
    assert pigeon.last_error == "UnknownMessageKind: unknown outbox message kind 'carrier_pigeon'"
    assert starting.last_error == "ConnectionError: Temporal is unreachable"


async def test_a_row_another_dispatcher_holds_is_skipped_not_waited_for(
    committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    maker = committing_sessionmaker
    message_id = await commit_message(
        maker, committed_owner, outbox.event("client.created", f"client.created:{uuid.uuid4()}")
    )
    async with system_session(SystemPurpose.outbox_relay, maker) as holder:
        await holder.get(OutboxMessage, message_id, with_for_update=True)
        async with asyncio.timeout(TIMEOUT):
            skipped = await dispatch_pending(maker, no_temporal, limit=5, ids=[message_id])
    taken = await dispatch_pending(maker, no_temporal, limit=5, ids=[message_id])
    assert skipped.picked == 0
    assert (taken.picked, taken.dispatched) == (1, 1)


async def test_enqueue_twice_with_one_dedupe_key_keeps_one_row(
    committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    key = f"client.created:{uuid.uuid4()}"
    other = f"client.created:{uuid.uuid4()}"
    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        first = await outbox.enqueue_message(
            session, committed_owner.firm.id, outbox.event("e", key)
        )
        repeat = await outbox.enqueue_message(
            session, committed_owner.firm.id, outbox.event("e", key)
        )
        many = await outbox.enqueue_many(
            session, committed_owner.firm.id, [outbox.event("e", key), outbox.event("e", other)]
        )
        remembered = pop_outbox_ids(session)
    assert first is not None and repeat is None
    assert len(many) == 1
    assert remembered == [first, many[0]]


async def test_messages_of_one_transaction_are_dispatched_in_the_order_written(
    committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    names = ["task.created", "task.updated", "task.completed"]
    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        for name in names:
            await outbox.enqueue_message(
                session, committed_owner.firm.id, outbox.event(name, f"{name}:{uuid.uuid4()}")
            )
        written = pop_outbox_ids(session)
    async with system_session(SystemPurpose.outbox_relay, committing_sessionmaker) as session:
        rows = {
            row.id: row
            for row in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_(written))
            )
        }
    stamps = [rows[message_id].created_at for message_id in written]
    # The relay picks by created_at: equal stamps would leave the order to chance.
    assert stamps == sorted(stamps) and len(set(stamps)) == len(names)
    assert [rows[message_id].payload["event"] for message_id in written] == names


async def test_relay_loops_on_a_timer_and_continues_as_new(
    relay_env: WorkflowEnvironment, committing_sessionmaker: Maker, task_queue: str
) -> None:
    client = relay_env.client
    relay = OutboxRelayInput(max_passes=3, passes_per_run=2, interval_seconds=0.05)
    # Real (short) timers: workflows other tests' rows started would stall skipped time.
    with relay_env.auto_time_skipping_disabled():
        async with relay_worker(relay_env, committing_sessionmaker, task_queue):
            handle = await client.start_workflow(
                OutboxRelayWorkflow.run, relay, id=f"relay-{uuid.uuid4()}", task_queue=task_queue
            )
            async with asyncio.timeout(TIMEOUT):
                result = await handle.result()
    first_run = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    events = [event.event_type async for event in first_run.fetch_history_events()]
    assert result.passes == 3
    # Pass 1, timer, pass 2, then a fresh run (passes_per_run=2) for pass 3.
    assert events.count(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 2
    assert events.count(EventType.EVENT_TYPE_TIMER_FIRED) == 1
    assert events[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


async def test_relay_outlives_a_database_outage(
    relay_env: WorkflowEnvironment, test_database: db_fixtures.TestDatabase, task_queue: str
) -> None:
    engine = create_async_engine(test_database.server.url(APP_ROLE, "no_such_database"))
    try:
        with relay_env.auto_time_skipping_disabled():
            async with relay_worker(relay_env, async_sessionmaker(engine), task_queue):
                handle = await relay_env.client.start_workflow(
                    OutboxRelayWorkflow.run,
                    OutboxRelayInput(max_passes=1),
                    id=f"relay-{uuid.uuid4()}",
                    task_queue=task_queue,
                )
                async with asyncio.timeout(TIMEOUT):
                    result = await handle.result()
    finally:
        await engine.dispose()
    events = [event.event_type async for event in handle.fetch_history_events()]
    # Three attempts failed, the pass was given up, and the relay went on to completion.
    assert events.count(EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED) == 1
    assert (result.passes, result.dispatched) == (1, 0)


async def test_every_worker_ensures_one_relay(
    relay_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = relay_env.client
    relay = client.get_workflow_handle(OUTBOX_RELAY_ID)
    try:
        await ensure_outbox_relay(client, task_queue=task_queue)
        first = await relay.describe()
        await ensure_outbox_relay(client, task_queue=task_queue)
        second = await relay.describe()
    finally:
        await relay.terminate("test over")
    assert first.status is WorkflowExecutionStatus.RUNNING
    assert second.run_id == first.run_id
    assert first.workflow_type == "OutboxRelayWorkflow"
