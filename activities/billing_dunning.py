"""DunningWorkflow's activities: plan the next step, carry one out. The rules live in
services/billing/dunning.py; these wrappers bind the dependencies."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from providers.email import EmailProvider
from services.billing import dunning
from workflows.billing.dunning_contracts import (
    PLAN_ACTIVITY,
    SEND_ACTIVITY,
    Plan,
    PlanInput,
    SendInput,
    SendResult,
)


class DunningActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        email: EmailProvider,
        public_url: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._mailer = dunning.Mailer(email=email, public_url=public_url)

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan(self, request: PlanInput) -> Plan:
        return await dunning.plan(self._sessionmaker, request)

    @activity.defn(name=SEND_ACTIVITY)
    async def send_step(self, request: SendInput) -> SendResult:
        return await dunning.send_step(self._sessionmaker, self._mailer, request)
