"""DocumentTextWorkflow: read a new version's text (PDF, DOCX, plain text) and index it for
search, one workflow per version (``document-text-<version id>``), started through the
outbox in the transaction that made the version.

A single activity does the work: it reads the bytes from storage, extracts the text in a
thread, and writes the text, its status and the search vector in one unit of work. What
the file holds (no text, a damaged PDF) is an outcome, not a failure; only an unreachable
store or database is retried."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.documents.text.contracts import (
        EXTRACT_ACTIVITY,
        WORKFLOW_NAME,
        DocumentTextInput,
        DocumentTextResult,
        ExtractInput,
        ExtractResult,
    )

# A large PDF takes a while to parse; the activity heartbeats, so a dead worker is noticed
# within the heartbeat timeout rather than the whole allowance.
_EXTRACT_TIMEOUT = timedelta(minutes=15)
_EXTRACT_HEARTBEAT = timedelta(seconds=30)
_EXTRACT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=10,
)


@workflow.defn(name=WORKFLOW_NAME)
class DocumentTextWorkflow:
    @workflow.run
    async def run(self, text: DocumentTextInput) -> DocumentTextResult:
        result: ExtractResult = await workflow.execute_activity(
            EXTRACT_ACTIVITY,
            ExtractInput(firm_id=text.firm_id, version_id=text.version_id),
            result_type=ExtractResult,
            start_to_close_timeout=_EXTRACT_TIMEOUT,
            heartbeat_timeout=_EXTRACT_HEARTBEAT,
            retry_policy=_EXTRACT_RETRY,
        )
        return DocumentTextResult(
            outcome=result.outcome, characters=result.characters, truncated=result.truncated
        )
