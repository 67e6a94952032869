"""What the worker, the Schedule and the activities need to know of
``RetentionSweepWorkflow``: its name, the Schedule that starts it nightly, its input and
result, and its activities' models. It serves every firm, one at a time, so it is a system
workflow: no firm id to be found by, each firm's work in activity calls of their own."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from core.search_attributes import ProcessInput, StartAttributes

WORKFLOW_NAME = "RetentionSweepWorkflow"
PROCESS = "retention-sweep"
LIST_FIRMS_ACTIVITY = "documents.retention.list_firms"
REPORT_ACTIVITY = "documents.retention.report"
DELETE_ACTIVITY = "documents.retention.delete"
PROGRESS_QUERY = "progress"

# The Temporal Schedule that starts a sweep nightly at 02:00 UTC; each run's workflow id
# is this with the scheduled time appended by Temporal.
SCHEDULE_ID = "retention-sweep"
SCHEDULE_CRON = "0 2 * * *"


class SweepTotals(BaseModel):
    firms: int = 0
    reported: int = 0
    deleted: int = 0
    blobs_deleted: int = 0
    # Firms whose steps failed after their retries; the next night tries them again.
    failed_firms: list[uuid.UUID] = Field(default_factory=list)


class RetentionSweepInput(ProcessInput):
    # Firms listed per activity call, and per run before continuing as new.
    firms_per_page: int = Field(default=200, ge=1, le=1000)
    # Where a run continued as new resumes: the last firm swept.
    after_firm_id: uuid.UUID | None = None
    # The sweep's moment, fixed when it starts so every firm is judged at the same time
    # (and a continued run keeps it).
    at: datetime | None = None
    totals: SweepTotals = Field(default_factory=SweepTotals)

    def search_attributes(self) -> StartAttributes:
        # A system workflow: it serves every firm.
        return StartAttributes(PROCESS, None)


class RetentionSweepResult(BaseModel):
    at: datetime
    totals: SweepTotals


class ListFirmsInput(BaseModel):
    after_firm_id: uuid.UUID | None
    limit: int


class ListFirmsResult(BaseModel):
    firm_ids: list[uuid.UUID]


class SweepFirmInput(BaseModel):
    firm_id: uuid.UUID
    at: datetime
    # The sweep's workflow id, written into each deletion record.
    sweep_id: str


class ReportResult(BaseModel):
    reported: int
    new: int
    dropped: int
    deletable: int


class DeleteResult(BaseModel):
    deleted: int
    blobs_deleted: int
