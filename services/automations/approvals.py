"""Approvals: the people's side of the ``approval`` step.

A run's workflow opens an approval (services.automations.approval_steps) and waits for the
``approval_decided`` signal. Here approvers list what waits for them and vote. Each vote
locks the approval's row first, so concurrent votes are counted one after the other: one
rejection rejects, ``quorum`` approvals approve. The vote that decides writes the outcome
and, in the same transaction, the outbox message that signals the run, so the run hears of
exactly the decision the database holds. The step's timeout closes an approval under the
same lock (``close``), so a vote landing as the timeout fires ends one way in both places.

Who may vote: an active user of the firm (never a client-role user) whose role is one of
the approval's roles or who is named in it; the run's initiator only when the step allows
it. Every vote, decision and closing is an audit event.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import JsonValue
from sqlalchemy import ColumnElement, Select, Uuid, any_, exists, false, literal, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, Forbidden
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from core.roles import Role
from models import Approval, ApprovalStatus, ApprovalVote, AutomationRun, VoteDecision
from models.automation_run import RunStatus
from services import audit
from services.automations.approval_forms import validate_form
from services.automations.repository import APPROVAL_VOTES, APPROVALS, RUNS
from services.outbox import writer as outbox
from workflows.automation.run import contracts
from workflows.automation.run.contracts import APPROVAL_SIGNAL, ApprovalResult, workflow_id

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


def _approvers_text(approval: Approval) -> str:
    parts = [" or ".join(approval.approver_roles) + " role"] if approval.approver_roles else []
    if approval.approver_user_ids:
        parts.append("the users it names")
    return " or ".join(parts)


def refusal(approval: Approval, principal: Principal) -> Forbidden | None:
    """Why ``principal`` may not vote on ``approval`` (a 403 to raise), or None."""
    if principal.user_id is None or principal.role == Role.client:
        return NotAnApprover("Only the firm's own people vote on approvals")
    named = principal.user_id in approval.approver_user_ids
    if not named and principal.role.value not in approval.approver_roles:
        return NotAnApprover(
            f"You are not an approver of this approval: it takes votes from the "
            f"{_approvers_text(approval)}, and your role is {principal.role.value}"
        )
    if principal.user_id == approval.initiator_id and not approval.allow_initiator:
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


async def _votes(
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
    votes = await _votes(session, principal.firm_id, [approval.id])
    return ApprovalView(approval=approval, votes=votes[approval.id])


def run_approvals_query(principal: Principal, run_id: uuid.UUID) -> Select[Approval]:
    return (
        APPROVALS.select(principal)
        .where(Approval.run_id == run_id)
        .order_by(Approval.created_at, Approval.id)
    )


async def for_run(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID
) -> list[ApprovalView]:
    """The run's approvals, oldest first, with their votes (for the run view)."""
    approvals = list(await session.scalars(run_approvals_query(principal, run_id)))
    votes = await _votes(session, principal.firm_id, [a.id for a in approvals])
    return [ApprovalView(approval=a, votes=votes[a.id]) for a in approvals]


def result_of(approval: Approval, votes: Sequence[ApprovalVote]) -> ApprovalResult:
    """What the run hears: the outcome, the deciding vote's form and every vote."""
    status = approval.status
    if status == ApprovalStatus.pending:
        raise ValueError("a pending approval has no result yet")
    return ApprovalResult(
        approval_id=approval.id,
        status=status.value,
        form=dict(approval.result or {}) if status == ApprovalStatus.approved else {},
        votes=[
            contracts.ApprovalVote(
                user_id=vote.user_id,
                decision=vote.decision.value,
                comment=vote.comment,
                decided_at=vote.created_at,
            )
            for vote in votes
        ],
    )


async def _decided(
    session: AsyncSession,
    principal: Principal,
    approval: Approval,
    votes: list[ApprovalVote],
    status: ApprovalStatus,
    result: dict[str, JsonValue] | None,
) -> None:
    approval.status = status
    approval.decided_at = datetime.now(UTC)
    approval.result = result
    await session.flush()
    signal = result_of(approval, votes)
    await outbox.enqueue_message(
        session,
        approval.firm_id,
        outbox.signal_workflow(
            workflow_id(approval.run_id),
            APPROVAL_SIGNAL,
            dedupe_key=f"approval:{approval.id}:decided",
            arg=signal,
        ),
    )
    await audit.record(
        session,
        principal,
        action=f"approval.{status.value}",
        record_type="approval",
        record_id=approval.id,
        before={"status": ApprovalStatus.pending.value},
        after={
            "status": status.value,
            "run_id": str(approval.run_id),
            "step_id": approval.step_id,
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
) -> ApprovalView:
    """Cast the principal's vote. 404 for another firm's approval, 409 when it is no longer
    pending or its run no longer runs, 403 for someone who may not vote, 409 for a second
    vote, 422 for a form that does not fit the step's fields."""
    approval = await get_approval(session, principal, approval_id, lock=True)
    if approval.status != ApprovalStatus.pending:
        raise ApprovalClosed(f"This approval is already {approval.status.value}")
    run_status = await session.scalar(
        select(AutomationRun.status).where(
            RUNS.owned_by(principal), AutomationRun.id == approval.run_id
        )
    )
    if run_status != RunStatus.running:
        raise ApprovalClosed(
            f"The run this approval belongs to has ended ({run_status}); "
            "a vote would decide nothing"
        )
    refused = refusal(approval, principal)
    if refused is not None:
        raise refused
    assert principal.user_id is not None
    votes = (await _votes(session, principal.firm_id, [approval.id]))[approval.id]
    if any(vote.user_id == principal.user_id for vote in votes):
        raise AlreadyVoted("You have already voted on this approval; a vote cannot be changed")
    validated = validate_form(approval.form, form, approving=decision == "approve")
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
        await _decided(session, principal, approval, votes, ApprovalStatus.rejected, None)
    elif approvals >= approval.quorum:
        await _decided(session, principal, approval, votes, ApprovalStatus.approved, validated)
    return ApprovalView(approval=approval, votes=votes)


async def close(
    session: AsyncSession, principal: Principal, approval_id: uuid.UUID, reason: ClosedStatus
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
            after={"status": reason, "run_id": str(approval.run_id), "step_id": approval.step_id},
        )
    votes = await _votes(session, principal.firm_id, [approval.id])
    return ApprovalView(approval=approval, votes=votes[approval.id])


async def cancel_for_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> int:
    """Mark the run's pending approvals canceled (the run is being canceled); how many."""
    pending = await session.scalars(
        select(Approval.id).where(
            APPROVALS.owned_by(principal),
            Approval.run_id == run_id,
            Approval.status == ApprovalStatus.pending,
        )
    )
    ids = list(pending)
    for approval_id in ids:
        await close(session, principal, approval_id, "canceled")
    return len(ids)


def counts(view: ApprovalView) -> tuple[int, int]:
    """(approvals, rejections) so far."""
    approve = sum(vote.decision == VoteDecision.approve for vote in view.votes)
    return approve, len(view.votes) - approve
