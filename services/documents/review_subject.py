"""A document review as an approval's subject (``DOCUMENT_REVIEW``, a
``services.approvals.Subject``): does the document still wait for this review when a vote
lands, and what the deciding vote (or the review's withdrawal) does to the document
(approved, or back to draft) and to its review workflow (the ``decided`` signal, in the
same transaction)."""

import uuid
from collections.abc import Sequence

from pydantic import JsonValue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import (
    Approval,
    ApprovalStatus,
    ApprovalVote,
    Document,
    DocumentStatus,
    DocumentVersion,
)
from services import audit
from services.documents.repository import DOCUMENTS, VERSIONS
from services.outbox import writer as outbox
from workflows.documents.review import contracts as review

# What a decided review leaves the document as.
_DOCUMENT_STATUS = {
    ApprovalStatus.approved: DocumentStatus.approved,
    ApprovalStatus.rejected: DocumentStatus.draft,
    ApprovalStatus.canceled: DocumentStatus.draft,
    ApprovalStatus.expired: DocumentStatus.draft,
}


async def document_of(session: AsyncSession, approval: Approval) -> Document:
    """The reviewed version's document, locked (each transition holds it)."""
    stmt = (
        DOCUMENTS.select(approval.firm_id)
        .join(DocumentVersion, DocumentVersion.document_id == Document.id)
        .where(VERSIONS.owned_by(approval.firm_id))
        .where(DocumentVersion.id == approval.document_version_id)
        .with_for_update(of=Document)
    )
    document: Document | None = await session.scalar(stmt)
    if document is None:
        raise LookupError(f"approval {approval.id} reviews no version of this firm")
    return document


async def _ended(session: AsyncSession, approval: Approval) -> str | None:
    """Why a vote on this review would decide nothing, or None while it is open."""
    document = await document_of(session, approval)
    if document.deleted_at is not None:
        return "The document under review was deleted; a vote would decide nothing"
    if (
        document.status != DocumentStatus.in_review
        or document.current_version_id != approval.document_version_id
    ):
        return "The document is no longer in this review; a vote would decide nothing"
    return None


def review_workflow_id(approval: Approval) -> str:
    assert approval.document_version_id is not None and approval.review_round is not None
    return review.workflow_id(approval.document_version_id, approval.review_round)


async def _decided(session: AsyncSession, principal: Principal, approval: Approval) -> None:
    """Move the document as the review ended and wake its workflow."""
    document = await document_of(session, approval)
    before = document.status
    status = _DOCUMENT_STATUS[approval.status]
    if document.status == DocumentStatus.in_review:
        document.status = status.value
        await session.flush()
    await outbox.enqueue_message(
        session,
        approval.firm_id,
        outbox.signal_workflow(
            review_workflow_id(approval),
            review.DECIDED_SIGNAL,
            dedupe_key=f"approval:{approval.id}:decided",
            arg=review.ReviewDecided(approval_id=approval.id, status=approval.status.value),
        ),
    )
    await audit.record(
        session,
        principal,
        action=f"document.review_{approval.status.value}",
        record_type="document",
        record_id=document.id,
        before={"status": before},
        after={
            "status": document.status,
            "review_id": str(approval.id),
            "version_id": str(approval.document_version_id),
        },
    )


class DocumentReview:
    """The review of a document version as the subject of an approval. A vote carries no
    form (only a comment)."""

    async def ended(
        self, session: AsyncSession, principal: Principal, approval: Approval
    ) -> str | None:
        return await _ended(session, approval)

    def validate(
        self, approval: Approval, form: dict[str, JsonValue] | None, *, approving: bool
    ) -> dict[str, JsonValue] | None:
        return None

    async def decided(
        self,
        session: AsyncSession,
        principal: Principal,
        approval: Approval,
        votes: Sequence[ApprovalVote],
    ) -> None:
        await _decided(session, principal, approval)

    def audit_fields(self, approval: Approval) -> dict[str, str | int | None]:
        return {
            "document_version_id": str(approval.document_version_id),
            "review_round": approval.review_round,
        }


DOCUMENT_REVIEW = DocumentReview()


async def document_ids(
    session: AsyncSession, firm_id: uuid.UUID, approvals: Sequence[Approval]
) -> dict[uuid.UUID, uuid.UUID]:
    """The document each review among ``approvals`` is of, by approval id (for lists that
    link a review to its document)."""
    version_ids = {a.document_version_id for a in approvals if a.document_version_id}
    if not version_ids:
        return {}
    rows = await session.execute(
        select(DocumentVersion.id, DocumentVersion.document_id).where(
            VERSIONS.owned_by(firm_id), DocumentVersion.id.in_(version_ids)
        )
    )
    documents = {version_id: document_id for version_id, document_id in rows}
    return {
        a.id: documents[a.document_version_id]
        for a in approvals
        if a.document_version_id in documents
    }
