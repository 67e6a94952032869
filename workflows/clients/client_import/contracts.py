"""What the API and the import activities need to know of ``ClientImportWorkflow``: its
name, id, input and result, its activities and their models, and the ``progress`` query."""

import uuid
from typing import Literal

from pydantic import BaseModel

from core.search_attributes import SA_CLIENT_IMPORT, ProcessInput, StartAttributes

WORKFLOW_NAME = "ClientImportWorkflow"
PROCESS = "client-import"
STAGE_ACTIVITY = "client_import.stage"
BATCH_ACTIVITY = "client_import.batch"
FINISH_ACTIVITY = "client_import.finish"
PROGRESS_QUERY = "progress"
# The ApplicationError type of a failure whose message may be shown to the importer.
REJECTED = "ImportRejected"


def workflow_id(import_id: uuid.UUID) -> str:
    return f"client-import-{import_id}"


class ImportProgress(BaseModel):
    status: Literal["pending", "running", "completed", "failed"] = "pending"
    total: int = 0
    processed: int = 0
    created: int = 0
    skipped: int = 0
    invalid: int = 0


class ClientImportInput(ProcessInput):
    firm_id: uuid.UUID
    import_id: uuid.UUID

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_CLIENT_IMPORT: str(self.import_id)})


class ClientImportResult(BaseModel):
    progress: ImportProgress


class StageRowsInput(BaseModel):
    firm_id: uuid.UUID
    import_id: uuid.UUID


class StageRowsResult(BaseModel):
    progress: ImportProgress
    remaining: int


class ImportBatchInput(BaseModel):
    firm_id: uuid.UUID
    import_id: uuid.UUID


class ImportBatchResult(BaseModel):
    progress: ImportProgress
    remaining: int


class FinishImportInput(BaseModel):
    firm_id: uuid.UUID
    import_id: uuid.UUID
    # None: the import completed; otherwise why it failed, in words for the importer.
    failure_reason: str | None = None


class FinishImportResult(BaseModel):
    progress: ImportProgress
