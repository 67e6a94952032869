"""What the rest of firmflow needs to know of ``DocumentTextWorkflow``: its name, id,
input and result, and its one activity's input and answer."""

import uuid
from typing import Literal

from pydantic import BaseModel

from core.search_attributes import SA_DOCUMENT, ProcessInput, StartAttributes

WORKFLOW_NAME = "DocumentTextWorkflow"
PROCESS = "document-text"
EXTRACT_ACTIVITY = "documents.text.extract"

# What extraction found: the values of models.TextStatus, and ``gone`` when the version
# was deleted before its text was read.
Outcome = Literal["extracted", "no_text", "unsupported", "failed", "gone"]


def workflow_id(version_id: uuid.UUID) -> str:
    return f"document-text-{version_id}"


class DocumentTextInput(ProcessInput):
    firm_id: uuid.UUID
    document_id: uuid.UUID
    version_id: uuid.UUID

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_DOCUMENT: str(self.document_id)})


class ExtractInput(BaseModel):
    firm_id: uuid.UUID
    version_id: uuid.UUID


class ExtractResult(BaseModel):
    outcome: Outcome
    # Characters of text kept (at most services.documents.text.MAX_BODY_CHARS).
    characters: int = 0
    truncated: bool = False
    detail: str | None = None


class DocumentTextResult(BaseModel):
    outcome: Outcome
    characters: int
    truncated: bool
