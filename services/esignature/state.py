"""What the envelope services share: the envelope looked up for a change, the draft-only
and state checks (409s naming the status), the staff member's email for the trail, and the
field rules of a recipient (the create request's and the template's)."""

import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, Unprocessable
from core.principal import Principal
from models import Envelope, EnvelopeStatus, RecipientRole, User
from models.base import clock
from services.esignature.repository import ENVELOPES

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[EmailStr, StringConstraints(max_length=320), AfterValidator(str.lower)]
# Plenty for any signing order; a bound keeps the workflow's groups few.
RoutingOrder = Annotated[int, Field(ge=1, le=100)]
MAX_RECIPIENTS = 50


class RecipientFields(BaseModel):
    """A recipient: signers sign, approvers approve (no signature field of their own), cc
    get a copy when the envelope completes. Groups go in ascending ``routing_order``;
    recipients of one group in parallel. ``contact_id``: a contact of the firm the
    recipient is (for the record; name and email are as given)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    email: Email
    role: RecipientRole = RecipientRole.signer
    routing_order: RoutingOrder = 1
    require_code: bool = False
    contact_id: uuid.UUID | None = None


def wrong_state(envelope: Envelope, doing: str) -> Conflict:
    return Conflict(
        f"This envelope is {envelope.status}; it cannot be {doing}",
        errors=[{"pointer": "/status", "detail": envelope.status}],
    )


def require_status(envelope: Envelope, status: EnvelopeStatus, doing: str) -> None:
    if envelope.status != status:
        raise wrong_state(envelope, doing)


async def get_envelope(
    session: AsyncSession, principal: Principal | uuid.UUID, envelope_id: uuid.UUID
) -> Envelope:
    return await ENVELOPES.get_or_404(session, principal, envelope_id)


async def locked_envelope(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID
) -> Envelope:
    """The envelope held FOR UPDATE: a change and a concurrent send never interleave."""
    return await ENVELOPES.get_or_404(session, principal, envelope_id, lock=True)


async def locked_draft(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID, doing: str
) -> Envelope:
    envelope = await locked_envelope(session, principal, envelope_id)
    require_status(envelope, EnvelopeStatus.draft, doing)
    return envelope


async def touch(session: AsyncSession, envelope: Envelope) -> None:
    """A change to the envelope's parts is a change of the envelope (its ``updated_at``)."""
    await session.execute(
        update(Envelope)
        .where(ENVELOPES.owned_by(envelope.firm_id), Envelope.id == envelope.id)
        .values(updated_at=clock())
    )


async def staff_email(session: AsyncSession, principal: Principal) -> str | None:
    """Who did it, as the trail and the certificate print it."""
    if principal.user_id is None:
        return None
    email: str | None = await session.scalar(select(User.email).where(User.id == principal.user_id))
    return email


def invalid(pointer: str, detail: str, title: str) -> Unprocessable:
    return Unprocessable(title, errors=[{"pointer": pointer, "detail": detail}])
