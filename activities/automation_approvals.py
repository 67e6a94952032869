"""The approval step's activities. The rules live in services/automations/approval_steps.py
and services/automations/approvals.py; these wrappers bind the dependencies and turn a
failure into the ``ApplicationError`` the run workflow expects (contracts.py)."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.automation import application_error
from providers.email import EmailProvider
from services.automations import approval_steps
from services.automations.step_errors import StepError
from workflows.automation.contracts import (
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
            return await approval_steps.open_approval(self._sessionmaker, self._notifier, request)
        except StepError as exc:
            raise application_error(exc, activity.info().attempt) from None

    @activity.defn(name=CLOSE_APPROVAL_ACTIVITY)
    async def close_approval(self, request: ApprovalClose) -> ApprovalResult:
        try:
            return await approval_steps.close_approval(self._sessionmaker, request)
        except StepError as exc:
            raise application_error(exc, activity.info().attempt) from None
