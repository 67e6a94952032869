"""Client imports: the state and counts of an import, and its row errors."""

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, Field

from models import ImportStatus, RowOutcome
from services.client_imports import ImportReport, ImportSummary


class ClientImportRead(BaseModel):
    id: uuid.UUID
    filename: str
    status: ImportStatus
    total: int = Field(description="Data rows in the file.")
    processed: int = Field(description="Rows decided so far: created + skipped + invalid.")
    created: int
    skipped: int = Field(description="Duplicates, of an earlier row or of an existing client.")
    invalid: int
    unknown_columns: list[str] = Field(
        description="Header columns that match no client field; they are ignored."
    )
    failure_reason: str | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_summary(cls, summary: ImportSummary) -> Self:
        imported, progress = summary.client_import, summary.progress
        return cls(
            id=imported.id,
            filename=imported.filename,
            status=imported.status,
            total=progress.total,
            processed=progress.processed,
            created=progress.created,
            skipped=progress.skipped,
            invalid=progress.invalid,
            unknown_columns=imported.unknown_columns,
            failure_reason=imported.failure_reason,
            created_at=imported.created_at,
            finished_at=imported.finished_at,
        )


class ImportRowErrorRead(BaseModel):
    line: int = Field(description="Line of the file where the row starts (the header is 1).")
    outcome: RowOutcome
    reason: str


class ClientImportReportRead(ClientImportRead):
    errors: list[ImportRowErrorRead] = Field(
        description="The first 1,000 skipped or invalid rows, by line."
    )

    @classmethod
    def from_report(cls, report: ImportReport) -> Self:
        summary = ClientImportRead.from_summary(report)
        return cls(
            **summary.model_dump(),
            errors=[
                ImportRowErrorRead(line=row.line, outcome=row.outcome, reason=row.reason or "")
                for row in report.errors
            ],
        )
