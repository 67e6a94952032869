"""An automation's Temporal Schedule, read back: state, next fire times, recent fires.

Included by api.routes.automations under its ``/automations`` prefix."""

import uuid
from typing import Annotated

from fastapi import APIRouter

from api.deps import Requires, SessionDep, TemporalDep
from api.openapi import errors
from api.schemas.automations import ScheduleRead
from core.permissions import Permission
from core.principal import Principal
from services.automations.runs import TemporalUnavailable
from services.automations.schedule_view import schedule_view

router = APIRouter()


@router.get(
    "/{automation_id}/schedule",
    responses=errors(TemporalUnavailable),
)
async def get_schedule(
    automation_id: uuid.UUID,
    principal: Annotated[Principal, Requires(Permission.automations_read)],
    session: SessionDep,
    temporal: TemporalDep,
) -> ScheduleRead:
    """State ``absent`` (200, with ``reason``) for an automation without a schedule
    trigger; 404 for another firm's automation; 503 when Temporal does not answer."""
    return ScheduleRead.of(await schedule_view(session, principal, temporal, automation_id))
