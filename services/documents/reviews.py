"""Document review and approval (T-089): draft → in review → approved → published, and a
rejection back to draft with the reviewers' comments kept.

A review is an approval row (``models.approval``, subject ``document_version_id``), so the
votes, the quorum, the "waits for me" list and the row-locked decision are the approvals
service's (services.approvals); this module submits, withdraws and publishes,
and scopes each review to its document. Submitting writes the approval and, in the same
transaction, the outbox message that starts the version's ``DocumentReviewWorkflow``, which
notifies, reminds and escalates (services/documents/review_process.py). The deciding vote
moves the document (services/documents/review_subject.py); publishing is a separate step
unless the submitter chose ``auto_publish``, which the workflow carries out.

Who: ``documents:submit`` submits and withdraws, ``documents:review`` votes (and only the
review's reviewers: users named and users of the roles named, active, never client-role,
never the submitter), ``documents:publish`` publishes an approved document.
"""

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, NotFound, Unprocessable
from core.permissions import ROLE_PERMISSIONS, Permission
from core.principal import Principal
from core.roles import Role
from models import Approval, ApprovalStatus, Document, DocumentStatus, DocumentVersion, User
from pure import event_catalogue
from services import approvals, audit
from services.approvals import APPROVALS, ApprovalView, Decision
from services.documents import review_subject
from services.documents.repository import DOCUMENTS, VERSIONS
from services.identity_repository import USERS
from services.outbox import writer as outbox
from workflows.documents.review import contracts as review

DEFAULT_DEADLINE_DAYS = 5
MAX_DEADLINE_DAYS = 60
MAX_REVIEWERS = 50
# The roles whose members may review (documents:review), in the order the docs list them.
REVIEWER_ROLES = [role for role in Role if Permission.documents_review in ROLE_PERMISSIONS[role]]
Message = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class ReviewNotOpen(Conflict):
    title = "Review not open"
    slug = "review-not-open"


class NotApproved(Conflict):
    title = "Document not approved"
    slug = "document-not-approved"


class ReviewFields(BaseModel):
    """A submission. Naming reviewers (roles, users or both) replaces the document's own
    (its ``reviewer_roles`` and ``reviewer_user_ids``), which apply when neither is given;
    the quorum defaults to its ``review_quorum``."""

    model_config = ConfigDict(extra="forbid")

    reviewer_roles: list[Role] | None = Field(default=None, max_length=len(Role))
    reviewer_user_ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_REVIEWERS)
    quorum: int | None = Field(default=None, ge=1, le=MAX_REVIEWERS)
    # Business days (the firm's) until the review escalates to the document's owner.
    deadline_days: int = Field(default=DEFAULT_DEADLINE_DAYS, ge=1, le=MAX_DEADLINE_DAYS)
    message: Message = ""
    # Publish as soon as the quorum approves.
    auto_publish: bool = True


def _invalid(pointer: str, detail: str) -> Unprocessable:
    return Unprocessable(detail, errors=[{"pointer": pointer, "detail": detail}])


async def _document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> Document:
    document = await DOCUMENTS.get_or_404(session, principal, document_id, lock=True)
    if document.deleted_at is not None:
        raise Conflict("This document is in the bin; restore it first")
    return document


async def check_reviewers(
    session: AsyncSession,
    principal: Principal,
    roles: list[Role],
    user_ids: list[uuid.UUID],
    quorum: int,
    *,
    submitter: uuid.UUID | None,
    quorum_pointer: str = "/quorum",
) -> None:
    """422 unless every role and named user may review and enough of them, ``submitter``
    aside, can vote. Pointers name the submission's members (``/quorum``); a document's
    own reviewers are checked the same way when they are set."""
    for index, role in enumerate(roles):
        if role not in REVIEWER_ROLES:
            raise _invalid(
                f"/reviewer_roles/{index}", f"the {role.value} role may not review documents"
            )
    named = {
        user.id: user
        for user in await session.scalars(USERS.select(principal).where(User.id.in_(user_ids)))
    }
    for index, user_id in enumerate(user_ids):
        user = named.get(user_id)
        if user is None:
            raise _invalid(f"/reviewer_user_ids/{index}", "no user with this id in your firm")
        if not user.is_active:
            raise _invalid(f"/reviewer_user_ids/{index}", "this user is deactivated")
        if user.role not in REVIEWER_ROLES:
            raise _invalid(
                f"/reviewer_user_ids/{index}",
                f"this user's role ({user.role.value}) may not review documents",
            )
    conditions = [
        USERS.owned_by(principal),
        User.is_active,
        User.role.in_(REVIEWER_ROLES),
        or_(User.role.in_(roles), User.id.in_(user_ids)),
    ]
    if submitter is not None:
        # The submitter never reviews their own submission.
        conditions.append(User.id != submitter)
    eligible = await session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    if not eligible:
        raise _invalid("/reviewer_user_ids", "nobody but you could review: name reviewers")
    if eligible < quorum:
        raise _invalid(
            quorum_pointer, f"the quorum is {quorum} but only {eligible} reviewers could vote"
        )


async def _round(session: AsyncSession, principal: Principal, version_id: uuid.UUID) -> int:
    taken = await session.scalar(
        select(func.coalesce(func.max(Approval.review_round), 0)).where(
            APPROVALS.owned_by(principal), Approval.document_version_id == version_id
        )
    )
    return int(taken or 0) + 1


def summarize(approval: Approval) -> dict[str, Any]:
    return {
        "review_id": str(approval.id),
        "version_id": str(approval.document_version_id),
        "round": approval.review_round,
        "reviewer_roles": list(approval.approver_roles),
        "reviewer_user_ids": [str(u) for u in approval.approver_user_ids],
        "quorum": approval.quorum,
        "auto_publish": approval.auto_publish,
    }


async def submit(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID, fields: ReviewFields
) -> ApprovalView:
    """Submit the document's current version: 409 unless it is a draft with a version, 422
    for reviewers who could not vote or too few for the quorum."""
    document = await _document(session, principal, document_id)
    if document.status != DocumentStatus.draft:
        raise Conflict(f"Only a draft can be submitted; this document is {document.status}")
    if document.current_version_id is None:
        raise Conflict("This document has no version to review yet")
    if fields.reviewer_roles is None and fields.reviewer_user_ids is None:
        roles = [Role(role) for role in document.reviewer_roles]
        named = list(document.reviewer_user_ids)
    else:
        roles = list(fields.reviewer_roles or [])
        named = list(fields.reviewer_user_ids or [])
    user_ids = list(dict.fromkeys(named))
    quorum = fields.quorum or document.review_quorum
    await check_reviewers(session, principal, roles, user_ids, quorum, submitter=principal.user_id)
    version_id = document.current_version_id
    version = await VERSIONS.get_or_404(session, principal, version_id)
    approval = Approval(
        firm_id=principal.firm_id,
        document_version_id=version_id,
        review_round=await _round(session, principal, version_id),
        auto_publish=fields.auto_publish,
        status=ApprovalStatus.pending,
        title=f"Review: {document.title} (version {version.number})"[:500],
        message=fields.message,
        approver_roles=[role.value for role in dict.fromkeys(roles)],
        approver_user_ids=user_ids,
        quorum=quorum,
        allow_initiator=False,
        initiator_id=principal.user_id,
        form={},
    )
    session.add(approval)
    document.status = DocumentStatus.in_review.value
    await session.flush()
    assert approval.review_round is not None
    start = review.ReviewInput(
        firm_id=principal.firm_id,
        document_id=document.id,
        version_id=version_id,
        approval_id=approval.id,
        deadline_days=fields.deadline_days,
        auto_publish=fields.auto_publish,
    )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.start_workflow(
            review.WORKFLOW_NAME, review.workflow_id(version_id, approval.review_round), start
        ),
    )
    await audit.record(
        session,
        principal,
        action="document.submitted",
        record_type="document",
        record_id=document.id,
        before={"status": DocumentStatus.draft.value},
        after={"status": document.status, **summarize(approval)},
    )
    return ApprovalView(approval=approval, votes=[])


async def _review(
    session: AsyncSession,
    principal: Principal,
    document_id: uuid.UUID,
    review_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Approval:
    """The review ``review_id`` of this document (404 for any other approval)."""
    stmt = (
        APPROVALS.select(principal)
        .join(DocumentVersion, DocumentVersion.id == Approval.document_version_id)
        .where(
            VERSIONS.owned_by(principal),
            Approval.id == review_id,
            DocumentVersion.document_id == document_id,
        )
    )
    approval: Approval | None = await session.scalar(
        stmt.with_for_update(of=Approval) if lock else stmt
    )
    if approval is None:
        raise NotFound("No review with this id on this document")
    return approval


async def list_reviews(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> list[ApprovalView]:
    """Every review of the document's versions, oldest first, with votes and comments."""
    await DOCUMENTS.get_or_404(session, principal, document_id)
    rows = list(
        await session.scalars(
            APPROVALS.select(principal)
            .join(DocumentVersion, DocumentVersion.id == Approval.document_version_id)
            .where(VERSIONS.owned_by(principal), DocumentVersion.document_id == document_id)
            .order_by(Approval.created_at, Approval.id)
        )
    )
    votes = await approvals.votes_of(session, principal.firm_id, [a.id for a in rows])
    return [ApprovalView(approval=a, votes=votes[a.id]) for a in rows]


async def decide(
    session: AsyncSession,
    principal: Principal,
    document_id: uuid.UUID,
    review_id: uuid.UUID,
    *,
    decision: Decision,
    comment: str | None,
) -> ApprovalView:
    """A reviewer's vote (the approvals service's rules: 403 not a reviewer, 409 a second
    vote or a closed review)."""
    await _review(session, principal, document_id, review_id)
    return await approvals.decide(
        session,
        principal,
        review_id,
        decision=decision,
        comment=comment,
        form=None,
        subjects=lambda _: review_subject.DOCUMENT_REVIEW,
    )


async def withdraw(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID, review_id: uuid.UUID
) -> ApprovalView:
    """Close a pending review as canceled; the document goes back to draft and the review
    workflow ends. 409 when the review is no longer pending."""
    approval = await _review(session, principal, document_id, review_id, lock=True)
    if approval.status != ApprovalStatus.pending:
        raise ReviewNotOpen(f"This review is already {approval.status.value}")
    subject = review_subject.DOCUMENT_REVIEW
    view = await approvals.close(session, principal, review_id, "canceled", subject.audit_fields)
    await subject.decided(session, principal, view.approval, view.votes)
    return view


async def _publish(session: AsyncSession, principal: Principal, document: Document) -> None:
    document.status = DocumentStatus.published.value
    await session.flush()
    await audit.record(
        session,
        principal,
        action="document.published",
        record_type="document",
        record_id=document.id,
        before={"status": DocumentStatus.approved.value},
        after={"status": document.status, "version_id": str(document.current_version_id)},
    )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.event(
            "document.published",
            f"document.published:{document.current_version_id}",
            document_id=str(document.id),
            version_id=str(document.current_version_id),
            title=document.title,
            document_type=document.document_type,
            client_id=str(document.client_id) if document.client_id else None,
            source=event_catalogue.run_source(principal.request_id),
        ),
    )


async def publish(session: AsyncSession, principal: Principal, document_id: uuid.UUID) -> Document:
    """Publish an approved document; 409 from any other status."""
    document = await _document(session, principal, document_id)
    if document.status != DocumentStatus.approved:
        raise NotApproved(
            f"Only an approved document can be published; this one is {document.status}"
        )
    await _publish(session, principal, document)
    return document


async def publish_approved(session: AsyncSession, principal: Principal, approval: Approval) -> bool:
    """The review workflow's auto-publish: publish when the document is still approved at
    the version this review approved (not when it moved on meanwhile); whether it did."""
    document = await review_subject.document_of(session, approval)
    if (
        approval.status != ApprovalStatus.approved
        or document.deleted_at is not None
        or document.status != DocumentStatus.approved
        or document.current_version_id != approval.document_version_id
    ):
        return False
    await _publish(session, principal, document)
    return True


async def reviewers_changed(session: AsyncSession, principal: Principal, user: User) -> int:
    """Wake the open reviews ``user`` may be a reviewer of (they were deactivated or their
    role changed): each re-plans and escalates at once if the quorum is out of reach. How
    many were told."""
    rows = list(
        await session.scalars(
            APPROVALS.select(principal).where(
                Approval.document_version_id.is_not(None),
                Approval.status == ApprovalStatus.pending,
            )
        )
    )
    woken = 0
    for approval in rows:
        if user.id not in approval.approver_user_ids and not approval.approver_roles:
            continue
        await outbox.enqueue_message(
            session,
            principal.firm_id,
            outbox.signal_workflow(
                review_subject.review_workflow_id(approval),
                review.REVIEWERS_CHANGED_SIGNAL,
                dedupe_key=f"approval:{approval.id}:reviewers:{uuid.uuid4()}",
            ),
        )
        woken += 1
    return woken
