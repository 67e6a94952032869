"""Contacts: the people at a client. They live under their client, so every lookup names
both ids, and an archived client's contacts are read-only like the client itself."""

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, field_validator
from sqlalchemy import Select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from models import Contact
from models.base import clock
from services import audit
from services.clients import (
    Email,
    Name,
    Phone,
    blank_to_none,
    get_client,
    get_writable_client,
    own_client_only,
)
from services.patches import apply_patch
from services.repository import FirmScoped

Title = Annotated[
    Annotated[str, StringConstraints(max_length=100)] | None, BeforeValidator(blank_to_none)
]


CONTACTS = FirmScoped(
    Contact, "contact", not_found="No contact with this id for this client in your firm"
)


class ContactFields(BaseModel):
    """A new contact. Making one primary makes the client's other contacts not primary."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    email: Email = None
    phone: Phone = None
    title: Title = None
    is_primary: bool = False


class ContactPatch(BaseModel):
    """Only the fields present change; email, phone and title may be null to clear them."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Name | None, NeverNull] = None
    email: Email = None
    phone: Phone = None
    title: Title = None
    is_primary: Annotated[bool | None, NeverNull] = None

    @field_validator("name", "is_primary", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def summarize(contact: Contact) -> dict[str, Any]:
    return {
        "client_id": str(contact.client_id),
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "title": contact.title,
        "is_primary": contact.is_primary,
    }


async def _demote_other_primaries(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, keep: uuid.UUID
) -> None:
    await session.execute(
        update(Contact)
        .where(
            CONTACTS.owned_by(principal),
            Contact.client_id == client_id,
            Contact.id != keep,
            Contact.is_primary.is_(True),
        )
        .values(is_primary=False, updated_at=clock())
        .execution_options(synchronize_session="fetch")
    )


async def create_contact(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, fields: ContactFields
) -> Contact:
    await get_writable_client(session, principal, client_id)
    contact = Contact(
        firm_id=principal.firm_id,
        client_id=client_id,
        **fields.model_dump(),
    )
    session.add(contact)
    await session.flush()
    await session.refresh(contact, ["created_at", "updated_at"])
    if contact.is_primary:
        await _demote_other_primaries(session, principal, client_id, contact.id)
    await audit.record(
        session,
        principal,
        action="contact.created",
        record_type="contact",
        record_id=contact.id,
        after=summarize(contact),
    )
    return contact


async def get_contact(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Contact:
    criteria = [Contact.client_id == client_id]
    if own_client_only(principal):
        criteria.append(Contact.client_id == principal.client_id)
    return await CONTACTS.get_or_404(session, principal, contact_id, *criteria, lock=lock)


async def update_contact(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    patch: ContactPatch,
) -> Contact:
    await get_writable_client(session, principal, client_id)
    contact = await get_contact(session, principal, client_id, contact_id, lock=True)
    patched = await apply_patch(
        session, principal, contact, patch, record_type="contact", summarize=summarize
    )
    if patched.changes.get("is_primary"):
        await _demote_other_primaries(session, principal, client_id, contact.id)
    return contact


async def delete_contact(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    await get_writable_client(session, principal, client_id)
    contact = await get_contact(session, principal, client_id, contact_id, lock=True)
    before = summarize(contact)
    await session.delete(contact)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="contact.deleted",
        record_type="contact",
        record_id=contact_id,
        before=before,
    )


def contacts_query(principal: Principal, client_id: uuid.UUID, page: PageParams) -> Select[Contact]:
    stmt = CONTACTS.select(principal).where(Contact.client_id == client_id)
    return keyset(stmt, Contact.created_at, Contact.id, page)


async def list_contacts(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, page: PageParams
) -> Page[Contact]:
    """Newest first; an unknown client is a 404 rather than an empty list."""
    await get_client(session, principal, client_id)
    rows = (await session.scalars(contacts_query(principal, client_id, page))).all()
    return to_page(rows, page)
