"""DunningWorkflow's activities: plan the next step, carry one out. The rules live in
services/billing/dunning.py; each runs in one unit of work of the invoice's firm (the send's
holds the invoice row lock until the email is out and its reminder row commits)."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.unit_of_work import firm_transaction
from providers.email import EmailProvider
from services.billing import dunning
from services.billing.invoice_pdf import InvoicePdfs
from services.billing.pay_links import PayLinks
from workflows.billing.dunning.contracts import (
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
        pay_links: PayLinks,
        pdfs: InvoicePdfs | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._mailer = dunning.Mailer(email=email, links=pay_links, pdfs=pdfs)

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan(self, request: PlanInput) -> Plan:
        async with firm_transaction(self._sessionmaker, request.firm_id) as session:
            return await dunning.plan(session, request)

    @activity.defn(name=SEND_ACTIVITY)
    async def send_step(self, request: SendInput) -> SendResult:
        async with firm_transaction(self._sessionmaker, request.firm_id) as session:
            return await dunning.send_step(session, self._mailer, request)
