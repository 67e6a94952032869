"""RetentionSweepWorkflow on the time-skipping server: through the app's own worker
(``worker.build_worker``) as the Schedule starts it, over pages of firms continued as new,
and with one firm's storage failing (that firm is listed as failed after its retries, the
sweep goes on). The Schedule itself, on the dev server: created once by every worker
start, then left as ops set it."""

import uuid
from datetime import UTC, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.documents_retention import RetentionActivities
from core.config import Settings
from core.temporal import TASK_QUEUE
from providers.storage_backends import build_storage
from providers.storage_filesystem import FilesystemStorage
from tests.factories import Actor, make_firm
from tests.fixtures.firms import committed
from tests.integration.documents.test_retention import BrokenStorage, Firm
from tests.integration.platform.test_process_search_attributes import firmflow_attributes
from worker import ensure_retention_schedule
from workflows.documents.retention import contracts as retention
from workflows.documents.retention.contracts import RetentionSweepInput, RetentionSweepResult
from workflows.documents.retention.workflow import RetentionSweepWorkflow
from workflows.registry import workflow_runner

Maker = async_sessionmaker[AsyncSession]
DAY = timedelta(days=1)


async def due_and_reported(firm: Firm) -> tuple[uuid.UUID, uuid.UUID]:
    """A tax return past its policy (no grace: deleted at once) and a memo past its own
    (30 days' grace: only reported)."""
    await firm.policy(document_type="tax_return", retain_days=365, grace_days=0)
    await firm.policy(document_type="memo", retain_days=30, grace_days=30)
    blob = await firm.blob(f"shared by {firm.id}".encode())
    due = await firm.document(blob, await firm.blob(f"own {firm.id}".encode()), age_days=400)
    reported = await firm.document(blob, document_type="memo", age_days=31)
    return due, reported


async def test_the_apps_worker_sweeps_a_firm_as_the_schedule_starts_it(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    committed_owner: Actor,
    committing_sessionmaker: Maker,
) -> None:
    now = await temporal_env.get_current_time()
    firm = Firm(committed_owner, committing_sessionmaker, build_storage(settings), now=now)
    due, reported = await due_and_reported(firm)

    sweep = RetentionSweepInput()
    result: RetentionSweepResult = await temporal_env.client.execute_workflow(
        RetentionSweepWorkflow.run,
        sweep,
        id=f"{retention.SCHEDULE_ID}-{uuid.uuid4()}",
        task_queue=TASK_QUEUE,
        search_attributes=sweep.search_attributes().typed(),
    )

    # Other firms of the test database may be swept too: only this one's rows are asserted.
    assert result.totals.firms >= 1
    assert firm.id not in result.totals.failed_firms
    assert await firm.existing(due, reported) == {reported}
    assert set(await firm.candidates()) == {reported}
    (record,) = await firm.deletions()
    assert (record.document_id, record.versions, len(record.blobs_deleted)) == (due, 2, 1)
    assert record.sweep_id.startswith(f"{retention.SCHEDULE_ID}-")


async def test_pages_of_firms_continue_as_new_and_a_failing_firm_does_not_stop_the_rest(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    tmp_path: Path,
) -> None:
    maker = committing_sessionmaker
    now = await temporal_env.get_current_time()
    storage = FilesystemStorage(tmp_path / "files")
    async with (
        committed(maker, make_firm) as first_actor,
        committed(maker, make_firm) as second_actor,
    ):
        first = Firm(first_actor, maker, storage, now=now)
        second = Firm(second_actor, maker, storage, now=now)
        first_due, _ = await due_and_reported(first)
        second_due, _ = await due_and_reported(second)
        # The worker's storage fails every deletion: each firm's delete step fails after its
        # retries (the rows it committed stay deleted), and each is listed as failed.
        queue = f"retention-{uuid.uuid4()}"
        activities = RetentionActivities(maker, BrokenStorage(storage.root))
        async with Worker(
            temporal_env.client,
            task_queue=queue,
            workflows=[RetentionSweepWorkflow],
            activities=[activities.list_firms, activities.report, activities.delete],
            workflow_runner=workflow_runner(),
        ):
            sweep = RetentionSweepInput(firms_per_page=1)
            handle = await temporal_env.client.start_workflow(
                RetentionSweepWorkflow.run,
                sweep,
                id=f"{retention.SCHEDULE_ID}-{uuid.uuid4()}",
                task_queue=queue,
                search_attributes=sweep.search_attributes().typed(),
            )
            result: RetentionSweepResult = await handle.result()
        assert {first.id, second.id} <= set(result.totals.failed_firms)
        # One firm per run: the run that returned is at least the third (two full pages).
        description = await handle.describe()
        assert description.run_id != handle.first_execution_run_id
        # Each firm's deletions committed before the purge failed; the purge is pending.
        for firm, due in ((first, first_due), (second, second_due)):
            assert await firm.existing(due) == set()
            (record,) = await firm.deletions()
            assert len(record.details["pending_blob_ids"]) == 2


async def test_every_worker_start_ensures_the_schedule_and_keeps_what_ops_changed(
    temporal_dev_server: WorkflowEnvironment,
) -> None:
    client = temporal_dev_server.client
    await ensure_retention_schedule(client)
    handle = client.get_schedule_handle(retention.SCHEDULE_ID)
    try:
        # Temporal keeps the cron as a calendar: the next fires tell the time.
        fires = (await handle.describe()).info.next_action_times
        assert fires
        assert {(t.astimezone(UTC).hour, t.minute, t.second) for t in fires} == {(2, 0, 0)}
        await handle.pause(note="legal review of the policies")
        await ensure_retention_schedule(client)
        schedule = (await handle.describe()).schedule
        assert (schedule.state.paused, schedule.state.note) == (
            True,
            "legal review of the policies",
        )
        assert schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        action = schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.id) == (retention.WORKFLOW_NAME, retention.SCHEDULE_ID)
        assert firmflow_attributes(action.typed_search_attributes) == {
            "FirmflowProcess": retention.PROCESS
        }
    finally:
        await handle.delete()
