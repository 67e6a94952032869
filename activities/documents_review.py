"""DocumentReviewWorkflow's activities. The rules live in services/documents/
review_process.py; around each email one unit of work reads what to send (and commits,
so a retry finds the same review), the emails go out outside any transaction, and a
second unit of work records the audit event."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.unit_of_work import firm_transaction
from core.temporal import ClientProvider
from providers.email import EmailProvider
from services.documents import review_process
from workflows.documents.review.contracts import (
    ESCALATE_ACTIVITY,
    OPEN_ACTIVITY,
    PLAN_ACTIVITY,
    PUBLISH_ACTIVITY,
    REMIND_ACTIVITY,
    EscalateInput,
    Notified,
    Opened,
    OpenInput,
    PlanInput,
    PublishInput,
    PublishOutcome,
    RemindInput,
    ReviewPlan,
)


class DocumentReviewActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        temporal: ClientProvider,
        *,
        email: EmailProvider,
        public_url: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal
        self._email = email
        self._mailer = review_process.Mailer(email=email, public_url=public_url)

    @activity.defn(name=OPEN_ACTIVITY)
    async def open_review(self, request: OpenInput) -> Opened:
        async with firm_transaction(self._sessionmaker, request.firm_id) as session:
            approval, letters = await review_process.open_review(session, self._mailer, request)
        assert approval.expires_at is not None
        sent = await review_process.send(self._email, approval, letters)
        return Opened(deadline_at=approval.expires_at, notified=sent)

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan(self, request: PlanInput) -> ReviewPlan:
        async with firm_transaction(self._sessionmaker, request.firm_id) as session:
            return await review_process.plan(session, request)

    @activity.defn(name=REMIND_ACTIVITY)
    async def remind(self, request: RemindInput) -> Notified:
        async with firm_transaction(self._sessionmaker, request.firm_id) as session:
            approval, letters = await review_process.reminders(session, self._mailer, request)
        sent = await review_process.send(self._email, approval, letters)
        async with firm_transaction(self._sessionmaker, request.firm_id) as session:
            await review_process.record_reminded(session, request, letters, sent)
        return Notified(notified=sent)

    @activity.defn(name=ESCALATE_ACTIVITY)
    async def escalate(self, request: EscalateInput) -> Notified:
        async with firm_transaction(self._sessionmaker, request.firm_id) as session:
            approval, letters = await review_process.escalation(session, self._mailer, request)
        sent = await review_process.send(self._email, approval, letters)
        async with firm_transaction(self._sessionmaker, request.firm_id) as session:
            await review_process.record_escalated(session, request, letters, sent)
        return Notified(notified=sent)

    @activity.defn(name=PUBLISH_ACTIVITY)
    async def publish(self, request: PublishInput) -> PublishOutcome:
        # The document.published event goes out right after the commit.
        async with firm_transaction(self._sessionmaker, request.firm_id, self._temporal) as session:
            return await review_process.publish(session, request)
