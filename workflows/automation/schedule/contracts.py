"""What the schedules service needs to know of ``AutomationScheduleWorkflow``: its name,
the input a schedule's action carries, what a fire returns, and the dedupe key of a fire's
run. Its ids are the schedule's own (Temporal names each fire)."""

import uuid
from datetime import datetime

from pydantic import BaseModel

from core.search_attributes import SA_AUTOMATION, ProcessInput, StartAttributes
from workflows.automation.run.contracts import AdmissionName, RunStatusName

WORKFLOW_NAME = "AutomationScheduleWorkflow"
PROCESS = "automation-schedule-fire"


class ScheduleFire(ProcessInput):
    """The input the schedule's action carries."""

    firm_id: uuid.UUID
    automation_id: uuid.UUID

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_AUTOMATION: str(self.automation_id)})


class FireResult(BaseModel):
    """What became of one fire: the run's admission and, when it ran, how it ended."""

    scheduled_at: datetime
    admission: AdmissionName
    run_id: uuid.UUID | None = None
    status: RunStatusName | None = None
    reason: str | None = None


def dedupe_key(scheduled_at: datetime) -> str:
    return "schedule:" + scheduled_at.isoformat()
