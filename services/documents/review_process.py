"""The review workflow's side of a document review: opening it (the deadline, the first
emails), planning each turn (the firm's business-hours schedule, whether the quorum can
still be reached), reminding the reviewers who have not voted, escalating to the
document's owner, and publishing on approval (services.documents.reviews holds the rules
people act under; this module is what DocumentReviewWorkflow's activities call).

The schedule counts from the workflow's own start (``started_at``, workflow time) in the
firm's business days and hours (``pure.business_hours``): reminder ``k`` is due
``k * REMIND_EVERY_BUSINESS_DAYS`` business days after it, the deadline ``deadline_days``.
Email is at-least-once: each message id is derived from the review, the kind of email and
the recipient, so a retried activity sends the same message again, which receivers drop.
Each activity reads in one transaction, sends outside any, and records the audit event in
a second one, so a mail server that stalls holds no row lock.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import Approval, ApprovalStatus, Document, Firm, User, VoteDecision
from providers.email import EmailProvider, OutgoingEmail
from pure.business_hours import BusinessHours, add_business_days
from services import approvals, audit
from services.approvals import APPROVALS
from services.automations import approval_steps
from services.documents import review_subject, reviews
from services.identity_repository import USERS
from workflows.documents.review import contracts as review
from workflows.documents.review.contracts import Escalation

log = logging.getLogger("firmflow.documents.review")

MAX_SUBJECT = 200
# Far beyond any review's life (a reminder every 2 business days for 20 years).
MAX_REMINDERS = 2600


@dataclass(frozen=True)
class Mailer:
    email: EmailProvider
    # The base URL of the web app the links point into.
    public_url: str

    def link(self, document_id: uuid.UUID) -> str:
        return f"{self.public_url.rstrip('/')}/documents/{document_id}"


@dataclass(frozen=True)
class Letter:
    """One email to write: to whom, and what it says."""

    user: User
    message_id: str
    subject: str
    lines: list[str]


def message_id(approval_id: uuid.UUID, kind: str, user_id: uuid.UUID) -> str:
    """The same on every attempt; one per review, kind of email and recipient."""
    return f"document-review-{approval_id}-{kind}-{user_id}"


def _principal(approval: Approval) -> Principal:
    # The audit events of a review's process name its workflow where a request id would be.
    workflow_id = review_subject.review_workflow_id(approval)
    return Principal.system(approval.firm_id, request_id=workflow_id)


async def hours_of(session: AsyncSession, firm_id: uuid.UUID) -> BusinessHours:
    firm = await session.get_one(Firm, firm_id)
    return BusinessHours.of(
        firm.time_zone, list(firm.business_days), firm.business_start, firm.business_end
    )


async def _approval(session: AsyncSession, firm_id: uuid.UUID, approval_id: uuid.UUID) -> Approval:
    approval = await APPROVALS.get(session, firm_id, approval_id)
    if approval is None or approval.document_version_id is None:
        raise LookupError(f"no document review {approval_id} in firm {firm_id}")
    return approval


async def waiting_reviewers(session: AsyncSession, approval: Approval) -> list[User]:
    """Active reviewers who have not voted yet (never the submitter, never client-role)."""
    votes = (await approvals.votes_of(session, approval.firm_id, [approval.id]))[approval.id]
    voted = {vote.user_id for vote in votes}
    return [
        user
        for user in await approval_steps.approvers(session, approval)
        if user.id not in voted and user.role in reviews.REVIEWER_ROLES
    ]


def _subject(text: str) -> str:
    return text if len(text) <= MAX_SUBJECT else text[: MAX_SUBJECT - 1] + "…"


def _invitation(mailer: Mailer, approval: Approval, document: Document, user: User) -> Letter:
    needed = "One approval decides" if approval.quorum == 1 else f"{approval.quorum} approvals"
    lines = [f"Hello {user.name or user.email},", "", f"Please review “{document.title}”.", ""]
    if approval.message:
        lines += [approval.message, ""]
    lines += [
        f"Approve or reject it here: {mailer.link(document.id)}",
        "",
        f"{needed} approve it; one rejection sends it back to draft.",
    ]
    if approval.expires_at is not None:
        lines.append(f"Please decide by {approval.expires_at:%Y-%m-%d %H:%M} UTC.")
    return Letter(
        user, message_id(approval.id, "invite", user.id), f"Review needed: {document.title}", lines
    )


async def send(email: EmailProvider, approval: Approval, letters: list[Letter]) -> int:
    """Send each letter; how many the mail server took. A permanent refusal of one address
    (5xx) skips it; anything else raises, and the activity is retried."""
    sent = 0
    for letter in letters:
        try:
            await email.send(
                OutgoingEmail(
                    message_id=letter.message_id,
                    to=letter.user.email,
                    subject=_subject(letter.subject),
                    text="\n".join(letter.lines) + "\n",
                )
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if not all(refused.code >= 500 for refused in exc.recipients):
                raise
            log.warning("review %s: the mail server refused user %s", approval.id, letter.user.id)
            continue
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code < 500:
                raise
            log.warning("review %s: the mail server refused user %s", approval.id, letter.user.id)
            continue
        sent += 1
    return sent


async def open_review(
    session: AsyncSession, mailer: Mailer, request: review.OpenInput
) -> tuple[Approval, list[Letter]]:
    """Fix the deadline (once: a retried activity finds it) and write the invitations."""
    approval = await _approval(session, request.firm_id, request.approval_id)
    if approval.expires_at is None:
        hours = await hours_of(session, request.firm_id)
        approval.expires_at = add_business_days(hours, request.started_at, request.deadline_days)
        await session.flush()
    if approval.status != ApprovalStatus.pending:
        return approval, []
    document = await review_subject.document_of(session, approval)
    users = await waiting_reviewers(session, approval)
    return approval, [_invitation(mailer, approval, document, user) for user in users]


def _reminder_at(hours: BusinessHours, started_at: datetime, reminder: int) -> datetime:
    return add_business_days(hours, started_at, reminder * review.REMIND_EVERY_BUSINESS_DAYS)


async def _binned(session: AsyncSession, approval: Approval) -> Approval:
    """A document moved to the bin while in review: the review ends as withdrawn (votes on
    it were refused already; this stops the reminders at the next turn)."""
    subject = review_subject.DOCUMENT_REVIEW
    principal = _principal(approval)
    view = await approvals.close(session, principal, approval.id, "canceled", subject.audit_fields)
    await subject.decided(session, principal, view.approval, view.votes)
    return view.approval


async def plan(session: AsyncSession, request: review.PlanInput) -> review.ReviewPlan:
    approval = await _approval(session, request.firm_id, request.approval_id)
    hours = await hours_of(session, request.firm_id)
    deadline = approval.expires_at or add_business_days(hours, request.started_at, 0)
    reminder = request.reminders_sent + 1
    next_reminder = _reminder_at(hours, request.started_at, reminder)
    if request.now is not None:
        # After an outage, one reminder for every slot that passed, not a burst of them.
        following = _reminder_at(hours, request.started_at, reminder + 1)
        while following <= request.now and reminder < MAX_REMINDERS:
            reminder, next_reminder = reminder + 1, following
            following = _reminder_at(hours, request.started_at, reminder + 1)
    unreachable = False
    if approval.status == ApprovalStatus.pending:
        document = await review_subject.document_of(session, approval)
        if document.deleted_at is not None:
            approval = await _binned(session, approval)
    if approval.status == ApprovalStatus.pending:
        votes = (await approvals.votes_of(session, approval.firm_id, [approval.id]))[approval.id]
        approved = sum(vote.decision == VoteDecision.approve for vote in votes)
        unreachable = approved + len(await waiting_reviewers(session, approval)) < approval.quorum
    return review.ReviewPlan(
        status=approval.status.value,
        deadline_at=deadline,
        next_reminder_at=next_reminder,
        reminder=reminder,
        quorum_unreachable=unreachable,
    )


def _reminder(
    mailer: Mailer, approval: Approval, document: Document, user: User, reminder: int
) -> Letter:
    lines = [
        f"Hello {user.name or user.email},",
        "",
        f"“{document.title}” still waits for your review.",
        "",
        f"Approve or reject it here: {mailer.link(document.id)}",
    ]
    if approval.expires_at is not None:
        lines.append(f"Please decide by {approval.expires_at:%Y-%m-%d %H:%M} UTC.")
    return Letter(
        user,
        message_id(approval.id, f"reminder{reminder}", user.id),
        f"Reminder: review needed: {document.title}",
        lines,
    )


async def reminders(
    session: AsyncSession, mailer: Mailer, request: review.RemindInput
) -> tuple[Approval, list[Letter]]:
    approval = await _approval(session, request.firm_id, request.approval_id)
    if approval.status != ApprovalStatus.pending:
        return approval, []
    document = await review_subject.document_of(session, approval)
    users = await waiting_reviewers(session, approval)
    return approval, [
        _reminder(mailer, approval, document, user, request.reminder) for user in users
    ]


async def record_reminded(
    session: AsyncSession, request: review.RemindInput, letters: list[Letter], sent: int
) -> None:
    approval = await _approval(session, request.firm_id, request.approval_id)
    await audit.record(
        session,
        _principal(approval),
        action="document.review_reminded",
        record_type="approval",
        record_id=approval.id,
        after={
            "reminder": request.reminder,
            "at": request.at.isoformat(),
            "reviewers": [str(letter.user.id) for letter in letters],
            "sent": sent,
        },
    )


_CAUSES: dict[Escalation, str] = {
    "deadline": "passed its deadline without a decision",
    "quorum": "can no longer reach its quorum: too few active reviewers are left to vote",
}


async def escalation(
    session: AsyncSession, mailer: Mailer, request: review.EscalateInput
) -> tuple[Approval, list[Letter]]:
    """The letter to the document's owner (its creator when it has none); none when that
    user is gone or deactivated (the audit event still records the escalation)."""
    approval = await _approval(session, request.firm_id, request.approval_id)
    document = await review_subject.document_of(session, approval)
    owner_id = document.owner_id or document.created_by
    owner = await USERS.get(session, request.firm_id, owner_id) if owner_id else None
    if owner is None or not owner.is_active or approval.status != ApprovalStatus.pending:
        return approval, []
    votes = (await approvals.votes_of(session, approval.firm_id, [approval.id]))[approval.id]
    approved = sum(vote.decision == VoteDecision.approve for vote in votes)
    lines = [
        f"Hello {owner.name or owner.email},",
        "",
        f"The review of “{document.title}” {_CAUSES[request.cause]}.",
        f"It has {approved} of the {approval.quorum} approvals it needs.",
        "",
        f"Chase the reviewers, or withdraw and resubmit it: {mailer.link(document.id)}",
    ]
    return approval, [
        Letter(
            owner,
            message_id(approval.id, f"escalation-{request.cause}", owner.id),
            f"Review escalated: {document.title}",
            lines,
        )
    ]


async def record_escalated(
    session: AsyncSession, request: review.EscalateInput, letters: list[Letter], sent: int
) -> None:
    approval = await _approval(session, request.firm_id, request.approval_id)
    document = await review_subject.document_of(session, approval)
    await audit.record(
        session,
        _principal(approval),
        action="document.review_escalated",
        record_type="document",
        record_id=document.id,
        after={
            "review_id": str(approval.id),
            "cause": request.cause,
            "at": request.at.isoformat(),
            "to": [str(letter.user.id) for letter in letters],
            "sent": sent,
        },
    )


async def publish(session: AsyncSession, request: review.PublishInput) -> review.PublishOutcome:
    approval = await _approval(session, request.firm_id, request.approval_id)
    published = await reviews.publish_approved(session, _principal(approval), approval)
    return review.PublishOutcome(published=published)
