"""The saved RetentionSweepWorkflow history replays against today's code.

``histories/retention_sweep.json`` is one sweep recorded on the time-skipping server with
the real activities against Postgres and a filesystem store (``record_history``, which
tests/replay/regenerate.py runs): one firm with a tax-return policy and a document past it
(no grace), listed, reported and deleted with its blob (a page of one firm ends the run). A
change to the workflow that would break executions in flight fails here: version it with
``workflow.patched``."""

import hashlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.documents_retention import RetentionActivities
from core.db import tenant_session
from models import Document, DocumentBlob, DocumentVersion
from providers.storage_filesystem import FilesystemStorage
from services.documents import retention as policies
from services.documents.blobs import blob_key
from services.documents.retention import PolicyFields
from tests.fixtures.temporal import payload_text
from tests.replay.recording import (
    HISTORIES,
    Maker,
    activity_names,
    assert_tampering_caught,
    events,
    history_json,
    new_firm_owner,
    own_queue,
    recording_worker,
    replay_saved,
    started_type,
)
from workflows.documents.retention import contracts as retention
from workflows.documents.retention.contracts import RetentionSweepInput
from workflows.documents.retention.workflow import RetentionSweepWorkflow

HISTORY = HISTORIES / "retention_sweep.json"
CONTENT = b"a tax return kept past its time"


async def _chunks() -> AsyncIterator[bytes]:
    yield CONTENT


async def due_document(maker: Maker, storage: FilesystemStorage, env: WorkflowEnvironment) -> None:
    """A firm whose only tax return is a day past its one-year policy."""
    principal = await new_firm_owner(maker, "retention")
    firm_id = principal.firm_id
    sha = hashlib.sha256(CONTENT).hexdigest()
    await storage.write(blob_key(firm_id, sha), _chunks())
    created = await env.get_current_time() - timedelta(days=366)
    async with tenant_session(firm_id, maker) as session:
        await policies.create_policy(
            session,
            principal,
            fields=PolicyFields(document_type="tax_return", retain_days=365, grace_days=0),
        )
        blob = DocumentBlob(
            firm_id=firm_id,
            sha256=sha,
            size=len(CONTENT),
            content_type="text/plain",
            storage_key=blob_key(firm_id, sha),
        )
        document = Document(
            firm_id=firm_id, title="Return 2020", document_type="tax_return", created_at=created
        )
        session.add_all([blob, document])
        await session.flush()
        session.add(
            DocumentVersion(
                firm_id=firm_id,
                document_id=document.id,
                number=1,
                blob_id=blob.id,
                file_name="return.txt",
                sha256=sha,
                size=len(CONTENT),
                content_type="text/plain",
            )
        )


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the history as JSON. The database must hold no other firm with
    retention work (the recording database holds none)."""
    queue = own_queue()
    with tempfile.TemporaryDirectory() as files:
        storage = FilesystemStorage(Path(files))
        await due_document(maker, storage, env)
        activities = RetentionActivities(maker, storage)
        async with recording_worker(
            env,
            queue,
            [RetentionSweepWorkflow],
            [activities.list_firms, activities.report, activities.delete],
        ):
            sweep = RetentionSweepInput()
            handle = await env.client.start_workflow(
                RetentionSweepWorkflow.run,
                sweep,
                id=f"{retention.SCHEDULE_ID}-{uuid.uuid4()}",
                task_queue=queue,
                search_attributes=sweep.search_attributes().typed(),
            )
            result = await handle.result()
            totals = result.totals
            assert (totals.firms, totals.reported, totals.deleted, totals.blobs_deleted) == (
                1,
                1,
                1,
                1,
            )
            return await history_json(handle)


def test_the_history_lists_one_firm_then_reports_and_deletes_its_document() -> None:
    history = events(HISTORY)
    assert started_type(history) == retention.WORKFLOW_NAME
    assert activity_names(history) == [
        retention.LIST_FIRMS_ACTIVITY,
        retention.REPORT_ACTIVITY,
        retention.DELETE_ACTIVITY,
    ]
    completed = history[-1]["workflowExecutionCompletedEventAttributes"]
    assert '"deleted":1' in payload_text(completed)
    assert '"blobs_deleted":1' in payload_text(completed)


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([RetentionSweepWorkflow], HISTORY)


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    await assert_tampering_caught(
        [RetentionSweepWorkflow], HISTORY, field, first_activity_name=retention.LIST_FIRMS_ACTIVITY
    )
