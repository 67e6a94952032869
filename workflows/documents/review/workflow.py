"""DocumentReviewWorkflow: one review of a document version (``document-review-<version
id>``). It emails the reviewers, then sleeps until the next reminder or the deadline,
whichever comes first, and wakes early when the review is decided or a reviewer leaves.

Every turn starts with the plan activity, which re-reads the approval and its votes and
computes the firm's business-hours schedule (services/documents/review_process.py holds
the rules): a signal carries no state, it only wakes the workflow. Reminders go to
reviewers who have not voted, every ``REMIND_EVERY_BUSINESS_DAYS`` business days; the
deadline escalates to the document's owner once; so does a quorum no remaining active
reviewer can reach any more, at once. An approved review with ``auto_publish`` publishes
the document; a rejected or withdrawn one ends here (the service already moved the
document back to draft in the deciding transaction)."""

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.documents.review.contracts import (
        DECIDED_SIGNAL,
        ESCALATE_ACTIVITY,
        OPEN_ACTIVITY,
        PLAN_ACTIVITY,
        PROGRESS_QUERY,
        PUBLISH_ACTIVITY,
        REMIND_ACTIVITY,
        REVIEWERS_CHANGED_SIGNAL,
        WORKFLOW_NAME,
        EscalateInput,
        Escalation,
        Notified,
        Opened,
        OpenInput,
        PlanInput,
        PublishInput,
        PublishOutcome,
        RemindInput,
        ReviewDecided,
        ReviewInput,
        ReviewPlan,
        ReviewProgress,
        ReviewResult,
    )

READ_TIMEOUT = timedelta(seconds=30)
READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=30,
)
# Emails: a mail server down for hours is retried for about a day.
MAIL_TIMEOUT = timedelta(seconds=60)
MAIL_GIVE_UP = timedelta(days=1)
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    maximum_attempts=50,
)
# Loop turns before a run continues as new, so a review left open for months keeps a
# small history (each reminder is a few events).
TURNS_PER_RUN = 200


@workflow.defn(name=WORKFLOW_NAME)
class DocumentReviewWorkflow:
    def __init__(self) -> None:
        self._wake = False
        self._plan: ReviewPlan | None = None
        self._started_at: datetime | None = None
        self._reminders = 0
        self._escalated: list[Escalation] = []

    @workflow.run
    async def run(self, input: ReviewInput) -> ReviewResult:
        self._reminders = input.reminders_sent
        self._escalated = list(input.escalated)
        if input.started_at is None:
            started_at = workflow.now()
            await workflow.execute_activity(
                OPEN_ACTIVITY,
                OpenInput(
                    firm_id=input.firm_id,
                    approval_id=input.approval_id,
                    started_at=started_at,
                    deadline_days=input.deadline_days,
                ),
                result_type=Opened,
                start_to_close_timeout=MAIL_TIMEOUT,
                schedule_to_close_timeout=MAIL_GIVE_UP,
                retry_policy=MAIL_RETRY,
            )
        else:
            started_at = input.started_at
        self._started_at = started_at
        for _ in range(TURNS_PER_RUN):
            self._wake = False
            plan = await workflow.execute_activity(
                PLAN_ACTIVITY,
                PlanInput(
                    firm_id=input.firm_id,
                    approval_id=input.approval_id,
                    started_at=started_at,
                    reminders_sent=self._reminders,
                    now=workflow.now(),
                ),
                result_type=ReviewPlan,
                start_to_close_timeout=READ_TIMEOUT,
                retry_policy=READ_RETRY,
            )
            self._plan = plan
            if plan.status != "pending":
                return await self._finish(input, plan.status)
            now = workflow.now()
            if plan.quorum_unreachable and "quorum" not in self._escalated:
                await self._escalate(input, "quorum", workflow.now())
                continue
            if now >= plan.deadline_at and "deadline" not in self._escalated:
                await self._escalate(input, "deadline", plan.deadline_at)
                continue
            if now >= plan.next_reminder_at:
                await self._remind(input, plan)
                continue
            wake_at = plan.next_reminder_at
            if "deadline" not in self._escalated:
                wake_at = min(wake_at, plan.deadline_at)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._wake, timeout=wake_at - now)
        workflow.continue_as_new(
            input.model_copy(
                update={
                    "started_at": started_at,
                    "reminders_sent": self._reminders,
                    "escalated": self._escalated,
                }
            )
        )

    async def _remind(self, input: ReviewInput, plan: ReviewPlan) -> None:
        number = max(plan.reminder, self._reminders + 1)
        await workflow.execute_activity(
            REMIND_ACTIVITY,
            RemindInput(
                firm_id=input.firm_id,
                approval_id=input.approval_id,
                reminder=number,
                at=plan.next_reminder_at,
            ),
            result_type=Notified,
            start_to_close_timeout=MAIL_TIMEOUT,
            schedule_to_close_timeout=MAIL_GIVE_UP,
            retry_policy=MAIL_RETRY,
        )
        self._reminders = number

    async def _escalate(self, input: ReviewInput, cause: Escalation, at: datetime) -> None:
        await workflow.execute_activity(
            ESCALATE_ACTIVITY,
            EscalateInput(
                firm_id=input.firm_id,
                approval_id=input.approval_id,
                cause=cause,
                at=at,
            ),
            result_type=Notified,
            start_to_close_timeout=MAIL_TIMEOUT,
            schedule_to_close_timeout=MAIL_GIVE_UP,
            retry_policy=MAIL_RETRY,
        )
        self._escalated = [*self._escalated, cause]

    async def _finish(self, input: ReviewInput, status: str) -> ReviewResult:
        published = False
        if status == "approved" and input.auto_publish:
            outcome = await workflow.execute_activity(
                PUBLISH_ACTIVITY,
                PublishInput(firm_id=input.firm_id, approval_id=input.approval_id),
                result_type=PublishOutcome,
                start_to_close_timeout=READ_TIMEOUT,
                retry_policy=READ_RETRY,
            )
            published = outcome.published
        return ReviewResult(
            status=status,
            published=published,
            reminders_sent=self._reminders,
            escalated=self._escalated,
        )

    @workflow.signal(name=DECIDED_SIGNAL)
    def decided(self, decided: ReviewDecided) -> None:
        self._wake = True

    @workflow.signal(name=REVIEWERS_CHANGED_SIGNAL)
    def reviewers_changed(self) -> None:
        self._wake = True

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> ReviewProgress:
        plan = self._plan
        return ReviewProgress(
            status=plan.status if plan else "pending",
            started_at=self._started_at,
            deadline_at=plan.deadline_at if plan else None,
            next_reminder_at=plan.next_reminder_at if plan else None,
            reminders_sent=self._reminders,
            escalated=self._escalated,
        )
