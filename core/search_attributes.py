"""The search attributes that let ops find any firmflow workflow in the Temporal Web UI.

Every workflow is started with them (in the outbox's start message, a child start or a
Schedule's action), never upserted afterwards: ``FirmflowFirmId`` (the firm; the outbox
relay, which belongs to no firm, has none), ``FirmflowProcess`` (which process it is, one
name per workflow, declared in the workflow's contracts) and its business key. Upserts are
for state changes only (a run's status).

A workflow's input says how the workflow is found (``ProcessInput.search_attributes``), so
every start path takes the attributes from the input it starts with and none can leave them
out. Pure and passed through the sandbox: workflows build their children's attributes too.
"""

import uuid
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

SA_FIRM = "FirmflowFirmId"
SA_PROCESS = "FirmflowProcess"
SA_AUTOMATION = "FirmflowAutomationId"
SA_VERSION = "FirmflowAutomationVersion"
SA_STATUS = "FirmflowRunStatus"
SA_INVOICE = "FirmflowInvoiceId"
SA_CLIENT_IMPORT = "FirmflowClientImportId"
SA_RECURRING_INVOICE = "FirmflowRecurringInvoiceId"
SA_STRIPE_EVENT = "FirmflowStripeEventId"
# The document a review or a text extraction is about.
SA_DOCUMENT = "FirmflowDocumentId"
# The envelope an e-signature process is about. The tenth keyword: the next process must
# share one (a generic subject id) rather than add an eleventh.
SA_ENVELOPE = "FirmflowEnvelopeId"

Kind = Literal["keyword", "int"]
# Every custom attribute and its type (the worker registers them: core.temporal). Kept
# short on purpose: Temporal's SQL visibility stores (the dev server's SQLite among them)
# hold at most 10 custom keyword attributes per namespace.
ATTRIBUTES: dict[str, Kind] = {
    SA_FIRM: "keyword",
    SA_PROCESS: "keyword",
    SA_AUTOMATION: "keyword",
    SA_VERSION: "int",
    SA_STATUS: "keyword",
    SA_INVOICE: "keyword",
    SA_CLIENT_IMPORT: "keyword",
    SA_RECURRING_INVOICE: "keyword",
    SA_STRIPE_EVENT: "keyword",
    SA_DOCUMENT: "keyword",
    SA_ENVELOPE: "keyword",
}

Value = str | int


def typed(values: Mapping[str, Value]) -> TypedSearchAttributes:
    """``values`` (attribute name → value, as an outbox message carries them) in the typed
    form Temporal's start calls take."""
    pairs: list[SearchAttributePair[Any]] = []
    for name, value in values.items():
        if ATTRIBUTES[name] == "int":
            pairs.append(SearchAttributePair(SearchAttributeKey.for_int(name), int(value)))
        else:
            pairs.append(SearchAttributePair(SearchAttributeKey.for_keyword(name), str(value)))
    return TypedSearchAttributes(pairs)


@dataclass(frozen=True)
class StartAttributes:
    """What a workflow is started with: its process, its firm (None only for a system
    workflow) and its business keys (attribute name → value)."""

    process: str
    firm_id: uuid.UUID | None
    keys: Mapping[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = (set(self.keys) - set(ATTRIBUTES)) | (set(self.keys) & {SA_FIRM, SA_PROCESS})
        if unknown:
            raise ValueError(f"not business keys: {sorted(unknown)}")

    def values(self) -> dict[str, Value]:
        values: dict[str, Value] = {SA_PROCESS: self.process}
        if self.firm_id is not None:
            values[SA_FIRM] = str(self.firm_id)
        values.update(self.keys)
        return values

    def typed(self) -> TypedSearchAttributes:
        return typed(self.values())


class ProcessInput(BaseModel):
    """The input of a workflow firmflow starts: it names the attributes the workflow is
    started with, so the outbox, child starts and schedules all take them from here."""

    @abstractmethod
    def search_attributes(self) -> StartAttributes: ...
