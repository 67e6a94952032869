"""``GET /v1/automations/{id}/schedule``: the automation's schedule as Temporal holds it
(state, next fire times, recent fires) beside what firmflow wants it to be.

Apart from services.automations.schedules because it answers with runs' 503 problem, and
runs imports the automations module that imports schedules."""

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from core.principal import Principal
from core.temporal import ClientProvider
from services.automations import schedules
from services.automations.repository import AUTOMATIONS
from services.automations.runs import TemporalUnavailable

log = logging.getLogger("firmflow.automations.schedules")


async def schedule_view(
    session: AsyncSession, principal: Principal, temporal: ClientProvider, automation_id: uuid.UUID
) -> schedules.ScheduleView:
    """404 for another firm's automation; 200 with state ``absent`` (and the reason) for one
    without a schedule; 503 when Temporal does not answer."""
    await AUTOMATIONS.require(session, principal, automation_id)
    desired = await schedules.desired_state(session, principal.firm_id, automation_id)
    try:
        client = await temporal()
        return await schedules.describe(client, desired)
    except RPCError as exc:
        log.warning("describing schedule of %s failed: %s", automation_id, exc.status.name)
        raise TemporalUnavailable("The workflow service refused the request; try again") from exc
    except Exception as exc:
        log.warning("describing schedule of %s failed: %s", automation_id, type(exc).__name__)
        raise TemporalUnavailable("The workflow service is not reachable; try again") from exc
