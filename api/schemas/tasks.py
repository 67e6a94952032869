"""Tasks: the request bodies are the service's field rules, so the API and the
``create_task`` automation step accept exactly the same values."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from models import TaskStatus
from services.tasks import TaskFields, TaskPatch


class TaskCreate(TaskFields):
    """A new, open task. The assignee must be an active staff member of the firm and the
    client a client of the firm."""


class TaskUpdate(TaskPatch):
    """Only the fields sent change; send null to clear description, assignee, client or
    due date. Use the complete and reopen actions to change the status."""


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    status: TaskStatus
    assignee_id: uuid.UUID | None
    client_id: uuid.UUID | None
    due_date: date | None
    created_by: uuid.UUID | None
    completed_at: datetime | None
    completed_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
