"""Which subject an approval decides on, read from its row: the seam between the generic
approvals (services.approvals) and the two kinds of approval, so that neither automations
nor documents imports the other. The approvals inbox (``/v1/approvals``) votes through
here; a document's own review routes go through services.documents.reviews."""

import uuid

from pydantic import JsonValue
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import Approval
from services import approvals
from services.approvals import ApprovalView, Decision, Subject
from services.automations.approvals import RUN_STEP
from services.documents.review_subject import DOCUMENT_REVIEW


def subject_of(approval: Approval) -> Subject:
    return RUN_STEP if approval.run_id is not None else DOCUMENT_REVIEW


async def decide(
    session: AsyncSession,
    principal: Principal,
    approval_id: uuid.UUID,
    *,
    decision: Decision,
    comment: str | None,
    form: dict[str, JsonValue] | None,
) -> ApprovalView:
    """A vote on any approval of the firm (services.approvals.decide)."""
    return await approvals.decide(
        session,
        principal,
        approval_id,
        decision=decision,
        comment=comment,
        form=form,
        subjects=subject_of,
    )
