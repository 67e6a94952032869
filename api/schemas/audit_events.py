"""The audit trail, read-only."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    # "user" or "system"
    actor_type: str
    actor_id: uuid.UUID | None
    action: str
    record_type: str
    record_id: uuid.UUID | None
    # {"before": {...}, "after": {...}} with the fields the action changed.
    summary: dict[str, Any]
    request_id: str | None
    created_at: datetime
