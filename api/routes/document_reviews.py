"""Document reviews: submit the current version, list a document's reviews with their
votes and comments, vote, withdraw, and publish an approved document. Each review is also
an approval, so it shows in ``GET /v1/approvals`` (the "waits for me" inbox) too."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import IdempotencyDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.document_reviews import PublishedRead, ReviewDecision, ReviewRead, ReviewSubmit
from core.errors import Conflict, NotFound, Unprocessable
from core.permissions import Permission
from core.principal import Principal
from services.approvals import (
    AlreadyVoted,
    ApprovalClosed,
    InitiatorMayNotApprove,
    NotAnApprover,
)
from services.documents import reviews
from services.documents.reviews import NotApproved, ReviewNotOpen

router = APIRouter(prefix="/documents/{document_id}")

Reader = Annotated[Principal, Requires(Permission.documents_read)]
Submitter = Annotated[Principal, Requires(Permission.documents_submit)]
Reviewer = Annotated[Principal, Requires(Permission.documents_review)]
Publisher = Annotated[Principal, Requires(Permission.documents_publish)]


@router.post(
    "/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewRead,
    responses=errors(Conflict, NotFound, Unprocessable),
)
async def submit_review(
    document_id: uuid.UUID,
    body: ReviewSubmit,
    principal: Submitter,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Submit the current version for review: the document goes from draft to in review
    and its reviewers are emailed. 409 unless it is a draft with a version; 422 for a
    reviewer who could not vote (client role, deactivated, another firm's) or a quorum
    out of reach. Accepts an ``Idempotency-Key``."""

    async def submit() -> ReviewRead:
        view = await reviews.submit(session, principal, document_id, body)
        return ReviewRead.of(view, document_id)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=submit
    )


@router.get("/reviews", responses=errors(NotFound))
async def list_reviews(
    document_id: uuid.UUID, principal: Reader, session: SessionDep
) -> list[ReviewRead]:
    """Every review of the document's versions, oldest first, with votes and comments."""
    views = await reviews.list_reviews(session, principal, document_id)
    return [ReviewRead.of(view, document_id) for view in views]


@router.post(
    "/reviews/{review_id}/decision",
    responses=errors(NotAnApprover, InitiatorMayNotApprove, NotFound, AlreadyVoted, ApprovalClosed),
)
async def decide_review(
    document_id: uuid.UUID,
    review_id: uuid.UUID,
    body: ReviewDecision,
    principal: Reviewer,
    session: SessionDep,
) -> ReviewRead:
    """Approve or reject. 403 when you are not one of its reviewers (or submitted it), 409
    when you already voted or the review is closed. One rejection sends the document back
    to draft; the quorum's approvals approve it (and publish it, with auto_publish)."""
    view = await reviews.decide(
        session, principal, document_id, review_id, decision=body.decision, comment=body.comment
    )
    return ReviewRead.of(view, document_id)


@router.post("/reviews/{review_id}/withdraw", responses=errors(NotFound, ReviewNotOpen))
async def withdraw_review(
    document_id: uuid.UUID, review_id: uuid.UUID, principal: Submitter, session: SessionDep
) -> ReviewRead:
    """Withdraw a pending review: the document goes back to draft, its process ends. 409
    when the review is no longer pending."""
    view = await reviews.withdraw(session, principal, document_id, review_id)
    return ReviewRead.of(view, document_id)


@router.post("/publish", responses=errors(NotFound, NotApproved, Conflict))
async def publish_document(
    document_id: uuid.UUID, principal: Publisher, session: SessionDep
) -> PublishedRead:
    """Publish an approved document (emits ``document.published``). 409 from any other
    status."""
    return PublishedRead.of(await reviews.publish(session, principal, document_id))
