"""What passes between the run's foreach step (workflows/automation/run/foreach/step.py),
``AutomationForeachWorkflow`` and its activity. Pure pydantic, imported inside the workflow
sandbox."""

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue

from core.search_attributes import SA_AUTOMATION, ProcessInput, StartAttributes
from workflows.automation.run.contracts import RunInput, StepRecord

WORKFLOW_NAME = "AutomationForeachWorkflow"
PROCESS = "automation-foreach"
# Writes item records no action activity carried: RecordsToWrite → None.
WRITE_RECORDS_ACTIVITY = "automation.write_records"
PROGRESS_QUERY = "progress"


def workflow_id(run_id: uuid.UUID, step_id: str, visit: int) -> str:
    return f"automation-run-{run_id}-foreach-{step_id}-{visit}"


class ItemError(BaseModel):
    index: int
    # The body step that failed.
    step: str
    message: str


class ForeachInput(ProcessInput):
    # The run's input without its definition (the body travels on its own).
    run: RunInput
    step_id: str
    visit: int
    position: int
    body: dict[str, Any]
    items: list[JsonValue]
    max_concurrency: int
    on_item_error: Literal["fail", "continue"]
    # The run's context, with only the outer step outputs the body reads.
    context: dict[str, Any]
    # Carried across continue-as-new.
    next_index: int = 0
    outputs: list[JsonValue] = Field(default_factory=list)
    errors: list[ItemError] = Field(default_factory=list)
    output_bytes: int = 0

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(
            PROCESS, self.run.firm_id, {SA_AUTOMATION: str(self.run.automation_id)}
        )


class ForeachResult(BaseModel):
    outputs: list[JsonValue]
    errors: list[ItemError]
    # Records not written yet: the run writes them with its next activity.
    pending: list[StepRecord] = Field(default_factory=list)
    # Why the step failed (the first failed item with on_item_error "fail", or too big).
    failure: str | None = None


class RecordsToWrite(BaseModel):
    """The input of ``automation.write_records``."""

    run_id: uuid.UUID
    firm_id: uuid.UUID
    records: list[StepRecord]


class ForeachProgress(BaseModel):
    done: int
    total: int
