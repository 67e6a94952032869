"""The saved DocumentTextWorkflow history replays against today's code.

``histories/document_text.json`` is one run recorded on the time-skipping server with the
real activity against Postgres and the filesystem storage (``record_history``, which
tests/replay/regenerate.py runs): a plain-text version read from storage, its text stored
and indexed. A change to the workflow that would break executions in flight fails here:
version it with ``workflow.patched``."""

import tempfile
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.documents_text import DocumentTextActivities
from core.db import tenant_session
from providers.storage_filesystem import FilesystemStorage
from tests.fixtures.temporal import payload_text
from tests.integration.documents.test_text_extraction import stored_version
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
from workflows.documents.text import contracts
from workflows.documents.text.contracts import DocumentTextInput
from workflows.documents.text.workflow import DocumentTextWorkflow

HISTORY = HISTORIES / "document_text.json"
CONTENT = b"Minutes of the partners' meeting: the zeppelin account is closed."


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the history as JSON."""
    queue = own_queue()
    principal = await new_firm_owner(maker, "text")
    with tempfile.TemporaryDirectory() as files:
        storage = FilesystemStorage(Path(files))
        async with tenant_session(principal.firm_id, maker) as session:
            version = await stored_version(session, storage, principal, CONTENT)
        activities = DocumentTextActivities(maker, storage)
        async with recording_worker(env, queue, [DocumentTextWorkflow], [activities.extract]):
            handle = await env.client.start_workflow(
                DocumentTextWorkflow.run,
                DocumentTextInput(
                    firm_id=principal.firm_id,
                    document_id=version.document_id,
                    version_id=version.id,
                ),
                id=contracts.workflow_id(version.id),
                task_queue=queue,
            )
            result = await handle.result()
            assert (result.outcome, result.characters) == ("extracted", len(CONTENT))
            return await history_json(handle)


def test_the_history_covers_one_extraction() -> None:
    history = events(HISTORY)
    assert started_type(history) == contracts.WORKFLOW_NAME
    assert activity_names(history) == [contracts.EXTRACT_ACTIVITY]
    completed = history[-1]["workflowExecutionCompletedEventAttributes"]
    assert '"outcome":"extracted"' in payload_text(completed)


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([DocumentTextWorkflow], HISTORY)


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    await assert_tampering_caught(
        [DocumentTextWorkflow], HISTORY, field, first_activity_name=contracts.EXTRACT_ACTIVITY
    )
