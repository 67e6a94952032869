"""Envelopes of the caller's firm: the list, a draft's creation, details, changes and
deletion, and the steps after it (send, void, re-send, remind now), the trail and the audit
certificate. Documents and pages are in ``api.routes.envelope_documents``; recipients and
fields in ``api.routes.envelope_recipients``."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep, StorageDep
from api.openapi import errors
from api.schemas.common import Page, page_of
from api.schemas.envelopes import (
    EnvelopeCreate,
    EnvelopeEventRead,
    EnvelopeRead,
    EnvelopeSummary,
    EnvelopeUpdate,
    ResendBody,
    VoidBody,
    envelope_read,
)
from core.errors import BadRequest, Conflict, NotFound, Unprocessable
from core.permissions import Permission
from core.principal import Principal
from models import EnvelopeStatus
from services.esignature import certificate, envelopes, lifecycle
from services.esignature.envelopes import EnvelopeFilters

router = APIRouter(prefix="/envelopes")

Reader = Annotated[Principal, Requires(Permission.esignature_read)]
Sender = Annotated[Principal, Requires(Permission.esignature_send)]


async def _read(session: SessionDep, principal: Principal, envelope_id: uuid.UUID) -> EnvelopeRead:
    return envelope_read(await envelopes.view(session, principal, envelope_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EnvelopeRead,
    responses=errors(NotFound, Unprocessable),
)
async def create_envelope(
    body: EnvelopeCreate,
    principal: Sender,
    session: SessionDep,
    storage: StorageDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Create a draft of library documents (their current versions pinned) and recipients.
    Accepts an ``Idempotency-Key``."""

    async def create() -> EnvelopeRead:
        envelope = await envelopes.create_envelope(session, storage, principal, fields=body)
        return await _read(session, principal, envelope.id)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=create
    )


@router.get("", responses=errors(BadRequest))
async def list_envelopes(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status: EnvelopeStatus | None = None,
    client_id: uuid.UUID | None = None,
) -> Page[EnvelopeSummary]:
    """Newest first, keyset-paginated; by status and by client."""
    result = await envelopes.list_envelopes(
        session,
        principal,
        filters=EnvelopeFilters(status=status, client_id=client_id),
        page=page,
        into=EnvelopeSummary.model_validate,
    )
    return page_of(result.items, result)


@router.get("/{envelope_id}")
async def get_envelope(
    envelope_id: uuid.UUID, principal: Reader, session: SessionDep
) -> EnvelopeRead:
    return await _read(session, principal, envelope_id)


@router.patch("/{envelope_id}", responses=errors(Conflict, NotFound))
async def update_envelope(
    envelope_id: uuid.UUID, body: EnvelopeUpdate, principal: Sender, session: SessionDep
) -> EnvelopeRead:
    """Change a draft's details (409 once sent)."""
    await envelopes.update_envelope(session, principal, envelope_id, patch=body)
    return await _read(session, principal, envelope_id)


@router.delete("/{envelope_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(Conflict))
async def delete_envelope(envelope_id: uuid.UUID, principal: Sender, session: SessionDep) -> None:
    """Delete a draft (a sent envelope is voided instead: 409)."""
    await envelopes.delete_envelope(session, principal, envelope_id)


@router.post("/{envelope_id}/send", responses=errors(Conflict, Unprocessable))
async def send_envelope(
    envelope_id: uuid.UUID, principal: Sender, session: SessionDep
) -> EnvelopeRead:
    """Send a draft: its workflow delivers it to the recipients in their signing order.
    422 with pointers while it lacks a document, a signer or approver, a signature field
    for each signer, or the provider's connection; 409 unless a draft."""
    await lifecycle.send(session, principal, envelope_id)
    return await _read(session, principal, envelope_id)


@router.post("/{envelope_id}/void", responses=errors(Conflict))
async def void_envelope(
    envelope_id: uuid.UUID, body: VoidBody, principal: Sender, session: SessionDep
) -> EnvelopeRead:
    """Void an envelope out for signature (409 otherwise); the recipients are told why."""
    await lifecycle.void(session, principal, envelope_id, body)
    return await _read(session, principal, envelope_id)


@router.post("/{envelope_id}/resend", responses=errors(Conflict))
async def resend_envelope(
    envelope_id: uuid.UUID, body: ResendBody, principal: Sender, session: SessionDep
) -> EnvelopeRead:
    """Send an expired envelope again (409 otherwise): a new expiry from now, the trail
    kept, those who signed stay signed."""
    await lifecycle.resend(session, principal, envelope_id, body)
    return await _read(session, principal, envelope_id)


@router.post(
    "/{envelope_id}/remind",
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(Conflict),
)
async def remind_envelope(
    envelope_id: uuid.UUID, principal: Sender, session: SessionDep
) -> EnvelopeRead:
    """Remind now whoever's turn it is and has not acted (409 unless out for signature);
    clicks within a minute of each other remind once."""
    await lifecycle.remind(session, principal, envelope_id)
    return await _read(session, principal, envelope_id)


@router.get("/{envelope_id}/events", responses=errors(BadRequest))
async def list_events(
    envelope_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> Page[EnvelopeEventRead]:
    """The audit trail, oldest first, keyset-paginated."""
    result = await envelopes.list_events(session, principal, envelope_id, page=page)
    return page_of([EnvelopeEventRead.model_validate(e) for e in result.items], result)


@router.get(
    "/{envelope_id}/certificate",
    response_class=Response,
    responses={
        200: {
            "description": "The audit certificate, as PDF.",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def get_certificate(
    envelope_id: uuid.UUID, principal: Reader, session: SessionDep
) -> Response:
    """The audit certificate alone: the documents' hashes and every event of the trail."""
    pdf = await certificate.render_certificate(session, principal.firm_id, envelope_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="certificate-{envelope_id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )
