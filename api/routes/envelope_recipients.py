"""An envelope's recipients (a draft's, or a correction of name and email after sending)
and its field layout."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from api.deps import Requires, SessionDep
from api.openapi import errors
from api.schemas.envelopes import (
    EnvelopeRead,
    FieldsUpdate,
    RecipientCreate,
    RecipientRead,
    RecipientUpdate,
    envelope_read,
    recipient_read,
)
from core.errors import Conflict, Unprocessable
from core.permissions import Permission
from core.principal import Principal
from services.esignature import envelopes, fields, recipients

router = APIRouter(prefix="/envelopes/{envelope_id}")

Sender = Annotated[Principal, Requires(Permission.esignature_send)]


@router.post(
    "/recipients",
    status_code=status.HTTP_201_CREATED,
    response_model=RecipientRead,
    responses=errors(Conflict, Unprocessable),
)
async def add_recipient(
    envelope_id: uuid.UUID, body: RecipientCreate, principal: Sender, session: SessionDep
) -> RecipientRead:
    """Add a recipient to a draft."""
    recipient = await recipients.add_recipient(session, principal, envelope_id, body)
    return recipient_read(recipient)


@router.patch("/recipients/{recipient_id}", responses=errors(Conflict, Unprocessable))
async def update_recipient(
    envelope_id: uuid.UUID,
    recipient_id: uuid.UUID,
    body: RecipientUpdate,
    principal: Sender,
    session: SessionDep,
) -> RecipientRead:
    """Change a draft's recipient; once sent, correct a name or email (until that
    recipient signed or declined: 409 after): the old links stop working and the new
    address gets its own."""
    recipient = await recipients.update_recipient(
        session, principal, envelope_id, recipient_id, patch=body
    )
    return recipient_read(recipient)


@router.delete(
    "/recipients/{recipient_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(Conflict),
)
async def delete_recipient(
    envelope_id: uuid.UUID, recipient_id: uuid.UUID, principal: Sender, session: SessionDep
) -> None:
    """Remove a draft's recipient, with their fields."""
    await recipients.delete_recipient(session, principal, envelope_id, recipient_id)


@router.put("/fields", responses=errors(Conflict, Unprocessable))
async def replace_fields(
    envelope_id: uuid.UUID, body: FieldsUpdate, principal: Sender, session: SessionDep
) -> EnvelopeRead:
    """Replace a draft's whole field layout."""
    await fields.replace_fields(session, principal, envelope_id, body)
    return envelope_read(await envelopes.view(session, principal, envelope_id))
