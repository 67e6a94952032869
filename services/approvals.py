"""Approvals: the people's side of a decision a process waits for, whatever it is.

An approval's subject is an automation run's ``approval`` step (services.automations.
approvals: its workflow waits for ``approval_decided``) or the review of a document version
(services.documents.review_subject: its ``DocumentReviewWorkflow`` waits for ``decided``).
Here approvers list what waits for them and vote. Each vote locks the approval's row first,
so concurrent votes are counted one after the other: one rejection rejects, ``quorum``
approvals approve. The vote that decides writes the outcome and, in the same transaction,
what the subject does with it (the outbox message that signals the process, the document's
new status), so the process hears of exactly the decision the database holds. A step's
timeout or a withdrawn review closes an approval under the same lock (``close``), so a
vote landing at that moment ends one way in both places.

The subject's own rules come in as a ``Subject`` (``services.approval_subjects`` picks it by
the row), so this module imports neither automations nor documents.

Who may vote: an active user of the firm (never a client-role user) whose role is one of
the approval's roles or who is named in it; the run's initiator (a review's submitter) only
when the step allows it (a review never does); a document's reviewer only with
``documents:review``. Every vote, decision and closing is an audit event.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import JsonValue
from sqlalchemy import ColumnElement, Select, Uuid, any_, exists, false, literal, not_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, Forbidden
from core.pagination import Page, PageParams, keyset, to_page
from core.permissions import ROLE_PERMISSIONS, Permission
from core.principal import Principal
from core.roles import Role
from models import Approval, ApprovalStatus, ApprovalVote, VoteDecision
from services import audit
from services.repository import FirmScoped

APPROVALS = FirmScoped(Approval, "approval")
APPROVAL_VOTES = FirmScoped(ApprovalVote, "approval vote")

Decision = Literal["approve", "reject"]
ClosedStatus = Literal["expired", "canceled"]


class NotAnApprover(Forbidden):
    title = "Not an approver"
    slug = "not-an-approver"


class InitiatorMayNotApprove(Forbidden):
    title = "The run's initiator may not approve"
    slug = "initiator-may-not-approve"


class AlreadyVoted(Conflict):
    title = "Already voted"
    slug = "already-voted"


class ApprovalClosed(Conflict):
    title = "Approval closed"
    slug = "approval-closed"


@dataclass(frozen=True)
class ApprovalView:
    """An approval and its votes in the order they were cast."""

    approval: Approval
    votes: list[ApprovalVote]


class Subject(Protocol):
    """What an approval decides on: a run's step or a document's review."""

    async def ended(
        self, session: AsyncSession, principal: Principal, approval: Approval
    ) -> str | None:
        """Why a vote would decide nothing any more (the 409's detail), or None."""
        ...

    def validate(
        self, approval: Approval, form: dict[str, JsonValue] | None, *, approving: bool
    ) -> dict[str, JsonValue] | None:
        """The vote's form as stored (422 for one that does not fit)."""
        ...

    async def decided(
        self,
        session: AsyncSession,
        principal: Principal,
        approval: Approval,
        votes: Sequence[ApprovalVote],
    ) -> None:
        """Tell the subject, in the deciding transaction (the approval's status is set)."""
        ...

    def audit_fields(self, approval: Approval) -> dict[str, str | int | None]:
        """What the approval decides on, for its audit events."""
        ...


Subjects = Callable[[Approval], Subject]


def _approvers_text(approval: Approval) -> str:
    parts = [" or ".join(approval.approver_roles) + " role"] if approval.approver_roles else []
    if approval.approver_user_ids:
        parts.append("the users it names")
    return " or ".join(parts)


def refusal(approval: Approval, principal: Principal) -> Forbidden | None:
    """Why ``principal`` may not vote on ``approval`` (a 403 to raise), or None."""
    if principal.user_id is None or principal.role == Role.client:
        return NotAnApprover("Only the firm's own people vote on approvals")
    if (
        approval.document_version_id is not None
        and Permission.documents_review not in ROLE_PERMISSIONS[principal.role]
    ):
        return NotAnApprover(
            f"Reviewing documents takes the documents:review permission, which the "
            f"{principal.role.value} role does not have"
        )
    named = principal.user_id in approval.approver_user_ids
    if not named and principal.role.value not in approval.approver_roles:
        return NotAnApprover(
            f"You are not an approver of this approval: it takes votes from the "
            f"{_approvers_text(approval)}, and your role is {principal.role.value}"
        )
    if principal.user_id == approval.initiator_id and not approval.allow_initiator:
        if approval.document_version_id is not None:
            return InitiatorMayNotApprove(
                "You submitted this document for review; another reviewer must decide"
            )
        return InitiatorMayNotApprove(
            "You started the run this approval belongs to, and its step does not let the "
            "run's initiator vote (allow_initiator is false); another approver must decide"
        )
    return None


def _mine(principal: Principal) -> list[ColumnElement[bool]]:
    """Conditions for "waits for me": I may vote and have not voted yet."""
    if principal.user_id is None or principal.role == Role.client:
        return [false()]
    user_id = principal.user_id
    return [
        or_(
            literal(principal.role.value) == any_(Approval.approver_roles),
            literal(user_id, Uuid()) == any_(Approval.approver_user_ids),
        ),
        or_(
            Approval.allow_initiator,
            Approval.initiator_id.is_(None),
            Approval.initiator_id != user_id,
        ),
        not_(
            exists().where(
                ApprovalVote.approval_id == Approval.id,
                APPROVAL_VOTES.owned_by(principal),
                ApprovalVote.user_id == user_id,
            )
        ),
    ]


def approvals_query(
    principal: Principal, *, mine: bool, status: ApprovalStatus | None, page: PageParams
) -> Select[Approval]:
    stmt = APPROVALS.select(principal)
    if status is not None:
        stmt = stmt.where(Approval.status == status)
    if mine:
        stmt = stmt.where(*_mine(principal))
    return keyset(stmt, Approval.created_at, Approval.id, page)


async def list_approvals(
    session: AsyncSession,
    principal: Principal,
    *,
    mine: bool = False,
    status: ApprovalStatus | None = None,
    page: PageParams,
) -> Page[Approval]:
    """Newest first. ``mine``: those the principal may vote on and has not voted on yet
    (with ``status=pending``: what waits for them)."""
    rows = (
        await session.scalars(approvals_query(principal, mine=mine, status=status, page=page))
    ).all()
    return to_page(rows, page)


async def get_approval(
    session: AsyncSession, principal: Principal, approval_id: uuid.UUID, *, lock: bool = False
) -> Approval:
    return await APPROVALS.get_or_404(session, principal, approval_id, lock=lock)


async def votes_of(
    session: AsyncSession, firm_id: uuid.UUID, approval_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ApprovalVote]]:
    out: dict[uuid.UUID, list[ApprovalVote]] = {approval_id: [] for approval_id in approval_ids}
    if not approval_ids:
        return out
    rows = await session.scalars(
        APPROVAL_VOTES.select(firm_id)
        .where(ApprovalVote.approval_id.in_(approval_ids))
        .order_by(ApprovalVote.created_at, ApprovalVote.id)
        .execution_options(populate_existing=True)
    )
    for vote in rows:
        out[vote.approval_id].append(vote)
    return out


async def get_view(
    session: AsyncSession, principal: Principal, approval_id: uuid.UUID
) -> ApprovalView:
    approval = await get_approval(session, principal, approval_id)
    votes = await votes_of(session, principal.firm_id, [approval.id])
    return ApprovalView(approval=approval, votes=votes[approval.id])


async def _decided(
    session: AsyncSession,
    principal: Principal,
    subject: Subject,
    approval: Approval,
    votes: list[ApprovalVote],
    status: ApprovalStatus,
    result: dict[str, JsonValue] | None,
) -> None:
    approval.status = status
    approval.decided_at = datetime.now(UTC)
    approval.result = result
    await session.flush()
    await subject.decided(session, principal, approval, votes)
    await audit.record(
        session,
        principal,
        action=f"approval.{status.value}",
        record_type="approval",
        record_id=approval.id,
        before={"status": ApprovalStatus.pending.value},
        after={
            "status": status.value,
            **subject.audit_fields(approval),
            "approvals": sum(v.decision == VoteDecision.approve for v in votes),
            "rejections": sum(v.decision == VoteDecision.reject for v in votes),
        },
    )


async def decide(
    session: AsyncSession,
    principal: Principal,
    approval_id: uuid.UUID,
    *,
    decision: Decision,
    comment: str | None,
    form: dict[str, JsonValue] | None,
    subjects: Subjects,
) -> ApprovalView:
    """Cast the principal's vote. 404 for another firm's approval, 409 when it is no longer
    pending or its subject no longer waits (the run ended, the document left the review),
    403 for someone who may not vote, 409 for a second vote, 422 for a form that does not
    fit the step's fields."""
    approval = await get_approval(session, principal, approval_id, lock=True)
    if approval.status != ApprovalStatus.pending:
        raise ApprovalClosed(f"This approval is already {approval.status.value}")
    subject = subjects(approval)
    ended = await subject.ended(session, principal, approval)
    if ended is not None:
        raise ApprovalClosed(ended)
    refused = refusal(approval, principal)
    if refused is not None:
        raise refused
    assert principal.user_id is not None
    votes = (await votes_of(session, principal.firm_id, [approval.id]))[approval.id]
    if any(vote.user_id == principal.user_id for vote in votes):
        raise AlreadyVoted("You have already voted on this approval; a vote cannot be changed")
    validated = subject.validate(approval, form, approving=decision == "approve")
    vote = ApprovalVote(
        firm_id=principal.firm_id,
        approval_id=approval.id,
        user_id=principal.user_id,
        decision=VoteDecision(decision),
        comment=comment,
        form=validated,
    )
    session.add(vote)
    await session.flush()
    await session.refresh(vote, ["created_at"])
    votes.append(vote)
    await audit.record(
        session,
        principal,
        action="approval.voted",
        record_type="approval",
        record_id=approval.id,
        after={"decision": decision, "comment": comment, "form": validated},
    )
    approvals = sum(v.decision == VoteDecision.approve for v in votes)
    if decision == "reject":
        await _decided(session, principal, subject, approval, votes, ApprovalStatus.rejected, None)
    elif approvals >= approval.quorum:
        await _decided(
            session, principal, subject, approval, votes, ApprovalStatus.approved, validated
        )
    return ApprovalView(approval=approval, votes=votes)


async def close(
    session: AsyncSession,
    principal: Principal,
    approval_id: uuid.UUID,
    reason: ClosedStatus,
    audit_fields: Callable[[Approval], dict[str, str | int | None]],
) -> ApprovalView:
    """Close a pending approval as ``reason`` under its row lock; one already decided (or
    closed) stays as it is. Either way the view says how it ended."""
    approval = await get_approval(session, principal, approval_id, lock=True)
    if approval.status == ApprovalStatus.pending:
        approval.status = ApprovalStatus(reason)
        approval.decided_at = datetime.now(UTC)
        await session.flush()
        await audit.record(
            session,
            principal,
            action=f"approval.{reason}",
            record_type="approval",
            record_id=approval.id,
            before={"status": ApprovalStatus.pending.value},
            after={"status": reason, **audit_fields(approval)},
        )
    votes = await votes_of(session, principal.firm_id, [approval.id])
    return ApprovalView(approval=approval, votes=votes[approval.id])


def counts(view: ApprovalView) -> tuple[int, int]:
    """(approvals, rejections) so far."""
    approve = sum(vote.decision == VoteDecision.approve for vote in view.votes)
    return approve, len(view.votes) - approve
