"""Approvals of automation runs: the run's ``approval`` step as an approval's subject
(services.approvals holds the votes and the decision). A run still waits while it runs; the
deciding vote signals it (``approval_decided``) with the outcome, the deciding form and
every vote; the form is the step's (services.automations.approval_forms). Also the run's
side of the lists: a run's approvals, and canceling them with the run."""

import uuid
from collections.abc import Sequence

from pydantic import JsonValue
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import Approval, ApprovalStatus, ApprovalVote, AutomationRun
from models.automation_run import RunStatus
from services import approvals
from services.approvals import APPROVALS, ApprovalView
from services.automations.approval_forms import validate_form
from services.automations.repository import RUNS
from services.outbox import writer as outbox
from workflows.automation.run import contracts
from workflows.automation.run.contracts import APPROVAL_SIGNAL, ApprovalResult, workflow_id


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
    rows = list(await session.scalars(run_approvals_query(principal, run_id)))
    votes = await approvals.votes_of(session, principal.firm_id, [a.id for a in rows])
    return [ApprovalView(approval=a, votes=votes[a.id]) for a in rows]


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


class RunStep:
    """An automation run's approval step as the subject of an approval."""

    async def ended(
        self, session: AsyncSession, principal: Principal, approval: Approval
    ) -> str | None:
        run_status = await session.scalar(
            select(AutomationRun.status).where(
                RUNS.owned_by(principal), AutomationRun.id == approval.run_id
            )
        )
        if run_status != RunStatus.running:
            return (
                f"The run this approval belongs to has ended ({run_status}); "
                "a vote would decide nothing"
            )
        return None

    def validate(
        self, approval: Approval, form: dict[str, JsonValue] | None, *, approving: bool
    ) -> dict[str, JsonValue] | None:
        return validate_form(approval.form, form, approving=approving)

    async def decided(
        self,
        session: AsyncSession,
        principal: Principal,
        approval: Approval,
        votes: Sequence[ApprovalVote],
    ) -> None:
        assert approval.run_id is not None
        await outbox.enqueue_message(
            session,
            approval.firm_id,
            outbox.signal_workflow(
                workflow_id(approval.run_id),
                APPROVAL_SIGNAL,
                dedupe_key=f"approval:{approval.id}:decided",
                arg=result_of(approval, votes),
            ),
        )

    def audit_fields(self, approval: Approval) -> dict[str, str | int | None]:
        return {"run_id": str(approval.run_id), "step_id": approval.step_id}


RUN_STEP = RunStep()


async def close(
    session: AsyncSession,
    principal: Principal,
    approval_id: uuid.UUID,
    reason: approvals.ClosedStatus,
) -> ApprovalView:
    """Close a run's pending approval (the step's timeout, the run canceled)."""
    return await approvals.close(session, principal, approval_id, reason, RUN_STEP.audit_fields)


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
