"""The approval step's activities (part B builds them)."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from providers.email import EmailProvider
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
        self._email = email
        self._public_url = public_url

    @activity.defn(name=OPEN_APPROVAL_ACTIVITY)
    async def open_approval(self, request: ApprovalOpen) -> ApprovalOpened:
        raise NotImplementedError

    @activity.defn(name=CLOSE_APPROVAL_ACTIVITY)
    async def close_approval(self, request: ApprovalClose) -> ApprovalResult:
        raise NotImplementedError
