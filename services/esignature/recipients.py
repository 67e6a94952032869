"""An envelope's recipients: added, changed and removed while it is a draft; after it was
sent, a recipient who has not signed or declined yet may have their name or email
corrected (audited, recorded in the trail, their old links made useless, the workflow told
so it sends the new address a link)."""

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict
from core.not_null import NeverNull
from core.principal import Principal
from models import (
    Contact,
    Envelope,
    EnvelopeEventKind,
    EnvelopeRecipient,
    EnvelopeStatus,
    RecipientRole,
    RecipientStatus,
)
from services import audit
from services.contacts import CONTACTS
from services.esignature import state, trail
from services.esignature.repository import RECIPIENTS
from services.esignature.state import MAX_RECIPIENTS, Email, Name, RecipientFields, RoutingOrder
from services.outbox import writer as outbox
from workflows.esignature.envelope import contracts as envelope_contracts

# What a correction after sending may change.
CORRECTABLE = frozenset({"name", "email"})


class RecipientPatch(BaseModel):
    """Members left out are left as they are. After the envelope was sent only ``name``
    and ``email`` may be given (a correction)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Name | None, NeverNull] = None
    email: Annotated[Email | None, NeverNull] = None
    role: Annotated[RecipientRole | None, NeverNull] = None
    routing_order: Annotated[RoutingOrder | None, NeverNull] = None
    require_code: Annotated[bool | None, NeverNull] = None
    contact_id: uuid.UUID | None = None

    @field_validator("name", "email", "role", "routing_order", "require_code")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out but not null")
        return value


def summarize(recipient: EnvelopeRecipient) -> dict[str, Any]:
    return {
        "name": recipient.name,
        "email": recipient.email,
        "role": recipient.role,
        "routing_order": recipient.routing_order,
        "require_code": recipient.require_code,
        "contact_id": str(recipient.contact_id) if recipient.contact_id else None,
    }


async def check_contact(
    session: AsyncSession,
    principal: Principal,
    contact_id: uuid.UUID,
    *,
    pointer: str,
    client_id: uuid.UUID | None = None,
) -> Contact:
    """The firm's contact (of ``client_id`` when given), else a 422 at ``pointer``."""
    contact = await CONTACTS.get(session, principal, contact_id)
    if contact is None or (client_id is not None and contact.client_id != client_id):
        whose = "this client's" if client_id is not None else "your firm's"
        raise state.invalid(pointer, f"not one of {whose} contacts", "Unknown contact")
    return contact


async def insert_recipient(
    session: AsyncSession,
    principal: Principal,
    envelope: Envelope,
    fields: RecipientFields,
    *,
    pointer: str,
    template_role: str | None = None,
) -> EnvelopeRecipient:
    if fields.contact_id is not None:
        await check_contact(session, principal, fields.contact_id, pointer=f"{pointer}/contact_id")
    recipient = EnvelopeRecipient(
        firm_id=principal.firm_id,
        envelope_id=envelope.id,
        status=RecipientStatus.created.value,
        template_role=template_role,
        **fields.model_dump(mode="json"),
    )
    session.add(recipient)
    await session.flush()
    return recipient


async def add_recipient(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID, fields: RecipientFields
) -> EnvelopeRecipient:
    envelope = await state.locked_draft(session, principal, envelope_id, "changed")
    count = await session.scalar(
        select(func.count()).where(
            RECIPIENTS.owned_by(principal), EnvelopeRecipient.envelope_id == envelope.id
        )
    )
    if (count or 0) >= MAX_RECIPIENTS:
        raise Conflict(f"An envelope has at most {MAX_RECIPIENTS} recipients")
    recipient = await insert_recipient(session, principal, envelope, fields, pointer="")
    await state.touch(session, envelope)
    await audit.record(
        session,
        principal,
        action="envelope.recipient_added",
        record_type="envelope",
        record_id=envelope.id,
        after={"recipient_id": str(recipient.id), **summarize(recipient)},
    )
    return recipient


async def _recipient(
    session: AsyncSession, principal: Principal, envelope: Envelope, recipient_id: uuid.UUID
) -> EnvelopeRecipient:
    return await RECIPIENTS.get_or_404(
        session, principal, recipient_id, EnvelopeRecipient.envelope_id == envelope.id, lock=True
    )


async def update_recipient(
    session: AsyncSession,
    principal: Principal,
    envelope_id: uuid.UUID,
    recipient_id: uuid.UUID,
    *,
    patch: RecipientPatch,
) -> EnvelopeRecipient:
    """Any change while a draft; a correction of name and email after sending."""
    envelope = await state.locked_envelope(session, principal, envelope_id)
    recipient = await _recipient(session, principal, envelope, recipient_id)
    if envelope.status == EnvelopeStatus.sent:
        return await _correct(session, principal, envelope, recipient, patch)
    state.require_status(envelope, EnvelopeStatus.draft, "changed")
    if patch.contact_id is not None:
        await check_contact(session, principal, patch.contact_id, pointer="/contact_id")
    before = summarize(recipient)
    for name in patch.model_fields_set:
        value = getattr(patch, name)
        setattr(recipient, name, value.value if isinstance(value, RecipientRole) else value)
    await session.flush()
    await session.refresh(recipient, ["updated_at"])
    after = summarize(recipient)
    if after != before:
        await state.touch(session, envelope)
        await audit.record_changes(
            session,
            principal,
            action="envelope.recipient_updated",
            record_type="envelope",
            record_id=envelope.id,
            before={"recipient_id": str(recipient.id), **before},
            after={"recipient_id": str(recipient.id), **after},
        )
    return recipient


async def _correct(
    session: AsyncSession,
    principal: Principal,
    envelope: Envelope,
    recipient: EnvelopeRecipient,
    patch: RecipientPatch,
) -> EnvelopeRecipient:
    other = sorted(patch.model_fields_set - CORRECTABLE)
    if other:
        raise state.invalid(
            f"/{other[0]}",
            "only the name and email may be corrected after sending",
            "The envelope was sent",
        )
    if recipient.status in (RecipientStatus.signed, RecipientStatus.declined):
        raise Conflict(
            f"This recipient has {recipient.status}; they can no longer be corrected",
            errors=[{"pointer": "/status", "detail": recipient.status}],
        )
    old = {"name": recipient.name, "email": recipient.email}
    new = {
        "name": patch.name if patch.name is not None else recipient.name,
        "email": patch.email if patch.email is not None else recipient.email,
    }
    if new == old:
        return recipient
    recipient.name, recipient.email = new["name"], new["email"]
    if new["email"] != old["email"]:
        # The links sent to the old address stop working.
        recipient.link_version += 1
    await session.flush()
    await session.refresh(recipient, ["updated_at"])
    await trail.record_event(
        session,
        principal,
        envelope.id,
        EnvelopeEventKind.recipient_corrected,
        recipient=recipient,
        email=await state.staff_email(session, principal),
        source="staff",
        detail={"from": old, "to": new},
    )
    await audit.record_changes(
        session,
        principal,
        action="envelope.recipient_corrected",
        record_type="envelope",
        record_id=envelope.id,
        before={"recipient_id": str(recipient.id), **old},
        after={"recipient_id": str(recipient.id), **new},
    )
    await _signal_corrected(session, envelope, recipient)
    return recipient


async def _signal_corrected(
    session: AsyncSession, envelope: Envelope, recipient: EnvelopeRecipient
) -> None:
    """The workflow sends the corrected address its link; each correction signals once."""
    target = envelope_contracts.workflow_id(envelope.id)
    await outbox.enqueue_message(
        session,
        envelope.firm_id,
        outbox.signal_workflow(
            target,
            envelope_contracts.CORRECTED_SIGNAL,
            dedupe_key=f"signal:{target}:corrected:{recipient.id}:{uuid.uuid4()}",
            arg=envelope_contracts.RecipientChanged(recipient_id=recipient.id, change="corrected"),
        ),
    )


async def delete_recipient(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID, recipient_id: uuid.UUID
) -> None:
    """Remove a recipient of a draft, with their fields."""
    envelope = await state.locked_draft(session, principal, envelope_id, "changed")
    recipient = await _recipient(session, principal, envelope, recipient_id)
    before = {"recipient_id": str(recipient.id), **summarize(recipient)}
    await session.delete(recipient)
    await session.flush()
    await state.touch(session, envelope)
    await audit.record(
        session,
        principal,
        action="envelope.recipient_removed",
        record_type="envelope",
        record_id=envelope.id,
        before=before,
    )
