"""The approval step's activities. The rules live in services/automations/approval_steps.py
and services/automations/approvals.py; these open the firm's units of work (the approval
commits before any email goes out) and turn a failure into the ``ApplicationError`` the
run workflow expects (contracts.py)."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.automation import application_error
from activities.unit_of_work import firm_transaction
from providers.email import EmailProvider
from services.automations import approval_steps
from services.automations.step_errors import StepError
from workflows.automation.run.contracts import (
    CLOSE_APPROVAL_ACTIVITY,
    OPEN_APPROVAL_ACTIVITY,
    ApprovalClose,
    ApprovalOpen,
    ApprovalOpened,
    ApprovalResult,
)


class ApprovalActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        email: EmailProvider,
        public_url: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._notifier = approval_steps.Notifier(email=email, public_url=public_url)

    @activity.defn(name=OPEN_APPROVAL_ACTIVITY)
    async def open_approval(self, request: ApprovalOpen) -> ApprovalOpened:
        try:
            async with firm_transaction(self._sessionmaker, request.firm_id) as session:
                approval, users = await approval_steps.open_approval(session, request)
            return await approval_steps.notify(self._notifier, approval, users)
        except StepError as exc:
            raise application_error(exc, activity.info().attempt) from None

    @activity.defn(name=CLOSE_APPROVAL_ACTIVITY)
    async def close_approval(self, request: ApprovalClose) -> ApprovalResult:
        try:
            async with firm_transaction(self._sessionmaker, request.firm_id) as session:
                return await approval_steps.close_approval(session, request)
        except StepError as exc:
            raise application_error(exc, activity.info().attempt) from None
