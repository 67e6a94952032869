"""The step records of automation runs and the run's final status.

A step row is keyed by ``(run, step, visit)`` and written once: an action attempt inserts
its own row together with the workflow's ``pending`` records (``Attempt.record``), the
foreach child writes batches of control-step records (``write_records``), and
``finish_run`` writes what remains with the run's final status. A row already there is
kept as it is, so a retried attempt or activity changes nothing. ``Attempt`` lives here
because what an attempt leaves behind (its redacted outcome and row) is a record.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import AutomationRun, AutomationRunStep
from models.automation_run import RunStatus, StepStatus
from pure.expressions import MAX_OUTPUT_BYTES, ExpressionError, check_output_size
from services.automations import admission, approvals
from services.automations.step_errors import StepInvalid
from services.credentials import Redactor
from workflows.automation.run.contracts import (
    FinishRun,
    StepCall,
    StepOutcome,
    StepRecord,
    workflow_id,
)

_STEP_KEY = ["run_id", "step_id", "visit"]


def _record_row(firm_id: uuid.UUID, run_id: uuid.UUID, record: StepRecord) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "firm_id": firm_id,
        "run_id": run_id,
        **record.model_dump(
            include={
                "step_id",
                "step_type",
                "visit",
                "position",
                "status",
                "attempt",
                "input",
                "output",
                "error",
                "started_at",
                "finished_at",
            }
        ),
    }


async def _insert_records(
    session: AsyncSession, firm_id: uuid.UUID, run_id: uuid.UUID, rows: list[dict[str, Any]]
) -> set[tuple[str, int]]:
    """Insert step rows, skipping those already recorded; returns the (step, visit) pairs
    this call inserted."""
    if not rows:
        return set()
    # Rows as parameters (executemany) rather than in VALUES: the statement compiles once
    # and is cached, where a VALUES list of a new length compiled afresh every time.
    result = await session.execute(
        insert(AutomationRunStep)
        .on_conflict_do_nothing(index_elements=_STEP_KEY)
        .returning(AutomationRunStep.step_id, AutomationRunStep.visit),
        rows,
    )
    return {(step_id, visit) for step_id, visit in result.all()}


async def write_records(
    session: AsyncSession, firm_id: uuid.UUID, run_id: uuid.UUID, records: Iterable[StepRecord]
) -> None:
    """The workflow's records of control steps and failed steps (already redacted); a
    record written by an earlier attempt is left as it is."""
    await _insert_records(
        session, firm_id, run_id, [_record_row(firm_id, run_id, r) for r in records]
    )


@dataclass
class Attempt:
    """One attempt of one step. ``secrets`` fills in once resolved, so whatever leaves the
    attempt (outcome, error, log line) is redacted with them."""

    call: StepCall
    attempt: int
    secrets: dict[str, str]

    @property
    def redactor(self) -> Redactor:
        return Redactor.of(self.secrets.values())

    @property
    def principal(self) -> Principal:
        # Audit events of the step name the run where a request id would be.
        return Principal.system(self.call.firm_id, request_id=workflow_id(self.call.run_id))

    def outcome(self, rendered: dict[str, Any], output: Any) -> StepOutcome:
        redactor = self.redactor
        redacted = redactor.redact(to_jsonable_python(output))
        try:
            check_output_size(redacted)
        except ExpressionError:
            raise StepInvalid(
                f"The step output exceeds {MAX_OUTPUT_BYTES // 1024} KB serialised",
                input=rendered,
            ) from None
        return StepOutcome(
            input=redactor.redact(to_jsonable_python(rendered)),
            output=redacted,
            attempt=self.attempt,
        )

    def row(self, outcome: StepOutcome) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "firm_id": self.call.firm_id,
            "run_id": self.call.run_id,
            "step_id": self.call.step_id,
            "step_type": self.call.step_type,
            "visit": self.call.visit,
            "position": self.call.position,
            "status": StepStatus.succeeded.value,
            "attempt": outcome.attempt,
            "input": outcome.input,
            "output": outcome.output,
            "error": None,
            "started_at": self.call.started_at,
            "finished_at": datetime.now(UTC),
        }

    async def record(self, session: AsyncSession, outcome: StepOutcome) -> bool:
        """Insert the step row and the pending records; False when an earlier attempt had
        recorded the step already."""
        call = self.call
        rows = [self.row(outcome)] + [
            _record_row(call.firm_id, call.run_id, r) for r in call.pending
        ]
        inserted = await _insert_records(session, call.firm_id, call.run_id, rows)
        return (call.step_id, call.visit) in inserted


async def require_run(session: AsyncSession, run_id: uuid.UUID, *, lock: bool = False) -> None:
    """Raises unless the run is one of this firm's (row-level security hides the others)."""
    query = select(AutomationRun.id).where(AutomationRun.id == run_id)
    if await session.scalar(query.with_for_update() if lock else query) is None:
        raise StepInvalid("No automation run with this id in this firm")


async def finish_run(session: AsyncSession, finish: FinishRun) -> None:
    """Write the remaining records and the run's final status. Only a run still running
    changes, so a repeated call (a retried local activity) changes nothing; records
    already written are kept as they are. The start of a queued run its end admitted is
    queued in the outbox. A run that ends other than succeeded closes its approvals still
    pending as canceled: a cancel that reaches the workflow before it has heard that its
    approval opened leaves nobody else to close it."""
    if finish.status == RunStatus.running:
        raise StepInvalid("A run cannot finish with the status running")
    # The update locks the row, as the run's end must (admission reads it); only when it
    # changed nothing does the run need looking for (a repeated call, or not this firm's).
    finished = await session.scalar(
        update(AutomationRun)
        .where(AutomationRun.id == finish.run_id, AutomationRun.status == RunStatus.running)
        .values(
            status=RunStatus(finish.status),
            error=finish.error,
            finished_at=func.clock_timestamp(),
        )
        .returning(AutomationRun.id)
    )
    if finished is None:
        await require_run(session, finish.run_id, lock=True)
    await write_records(session, finish.firm_id, finish.run_id, finish.pending)
    await admission.release(session, finish.run_id)
    if finished is not None and finish.status != RunStatus.succeeded:
        await approvals.cancel_for_run(
            session,
            Principal.system(finish.firm_id, request_id=workflow_id(finish.run_id)),
            finish.run_id,
        )
