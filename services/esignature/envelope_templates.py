"""Envelope templates: reusable documents, roles (who signs, in which order) and fields
placed for each role; instantiated for a client as a draft envelope whose recipients are
the client's contacts (or people named outright), sent at once if asked.

A template's fields name a role key and a library document; the document's current
version is measured when the template is saved (fields on pages it lacks are refused) and
again when an envelope is made from it (the envelope pins the version then current)."""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, unprocessable
from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, read_page
from core.principal import Principal
from models import EnvelopeField, EnvelopeTemplate, RecipientRole
from providers.storage import Storage
from services import audit
from services.clients import CLIENTS
from services.esignature import (
    envelope_documents,
    envelopes,
    fields,
    lifecycle,
    recipients,
    template_documents,
)
from services.esignature.envelope_documents import MAX_DOCUMENTS
from services.esignature.envelopes import (
    EnvelopeSettings,
    ExpiryDays,
    Message,
    ReminderDays,
    ReminderMax,
    Title,
)
from services.esignature.fields import MAX_FIELDS, FieldSpec, Placement
from services.esignature.repository import TEMPLATES
from services.esignature.state import MAX_RECIPIENTS, Email, Name, RecipientFields, RoutingOrder
from services.esignature.template_documents import TemplateDocument, measured
from services.repository import Firm

RoleKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]


class TemplateRole(BaseModel):
    """Who fills a role: ``key`` names it in the fields and when the template is used,
    ``name`` is what the sender sees ("Client", "Spouse", "Partner")."""

    model_config = ConfigDict(extra="forbid")

    key: RoleKey
    name: Name
    role: RecipientRole = RecipientRole.signer
    routing_order: RoutingOrder = 1
    require_code: bool = False


class TemplateField(Placement):
    """A field of a role on one of the template's documents, placed as on an envelope."""

    role_key: RoleKey
    document_id: uuid.UUID


class TemplateFields(EnvelopeSettings):
    """A template: its documents (library PDFs), its roles and the fields of each role."""

    name: Name
    title: Title
    message: Message = ""
    document_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_DOCUMENTS)
    roles: list[TemplateRole] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    fields: list[TemplateField] = Field(default_factory=list, max_length=MAX_FIELDS)

    @field_validator("document_ids")
    @classmethod
    def _distinct_documents(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(value)) != len(value):
            raise ValueError("a document may be in a template once")
        return value

    @field_validator("roles")
    @classmethod
    def _distinct_roles(cls, value: list[TemplateRole]) -> list[TemplateRole]:
        keys = [role.key for role in value]
        if len(set(keys)) != len(keys):
            raise ValueError("each role has its own key")
        return value


class TemplatePatch(BaseModel):
    """Members left out are left as they are; those given replace the template's (the
    result is checked as a whole template)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Name | None, NeverNull] = None
    title: Annotated[Title | None, NeverNull] = None
    message: Annotated[Message | None, NeverNull] = None
    document_ids: Annotated[
        list[uuid.UUID] | None, NeverNull, Field(min_length=1, max_length=MAX_DOCUMENTS)
    ] = None
    roles: Annotated[
        list[TemplateRole] | None, NeverNull, Field(min_length=1, max_length=MAX_RECIPIENTS)
    ] = None
    fields: Annotated[list[TemplateField] | None, NeverNull, Field(max_length=MAX_FIELDS)] = None
    expiry_days: Annotated[ExpiryDays | None, NeverNull] = None
    reminder_first_days: Annotated[ReminderDays | None, NeverNull] = None
    reminder_every_days: Annotated[ReminderDays | None, NeverNull] = None
    reminder_max: Annotated[ReminderMax | None, NeverNull] = None

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class ByContact(BaseModel):
    """The role filled by a contact of the envelope's client (their name and email)."""

    model_config = ConfigDict(extra="forbid")

    contact_id: uuid.UUID


class ByName(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: Email


class Instantiate(BaseModel):
    """An envelope from the template for ``client_id``: every role filled, by a contact of
    the client or a name and email. ``send``: send it at once."""

    model_config = ConfigDict(extra="forbid")

    client_id: uuid.UUID
    title: Title | None = None
    message: Message | None = None
    recipients: dict[RoleKey, ByContact | ByName] = Field(max_length=MAX_RECIPIENTS)
    send: bool = False


def summarize(template: EnvelopeTemplate) -> dict[str, Any]:
    return {
        "name": template.name,
        "title": template.title,
        "document_ids": [str(d) for d in template.document_ids],
        "roles": [role["key"] for role in template.roles],
        "fields": len(template.fields),
    }


@dataclass(frozen=True)
class TemplateView:
    """A template saved, with its documents as measured while checking it."""

    row: EnvelopeTemplate
    documents: list[TemplateDocument]


async def _check(
    session: AsyncSession, storage: Storage, principal: Principal, fields_: TemplateFields
) -> list[TemplateDocument]:
    """Documents usable, fields on their roles and on the documents' pages (422s with
    pointers); the documents measured."""
    documents: list[TemplateDocument] = []
    for index, document_id in enumerate(fields_.document_ids):
        usable = await envelope_documents.usable_pdf(
            session, storage, principal, document_id, pointer=f"/document_ids/{index}"
        )
        documents.append(measured(document_id, usable))
    page_counts = {document.document_id: document.page_count for document in documents}
    roles = {role.key: role.role.value for role in fields_.roles}
    fields.raise_problems(
        fields.placement_problems(
            fields_.fields,
            roles,
            page_counts,
            owner=("role_key", lambda spec: spec.role_key),
            document=("document_id", lambda spec: spec.document_id),
            noun="template",
        )
    )
    return documents


async def _name_free(
    session: AsyncSession, principal: Principal, name: str, template_id: uuid.UUID | None
) -> None:
    taken = await TEMPLATES.find(session, principal, EnvelopeTemplate.name == name)
    if taken is not None and taken.id != template_id:
        raise Conflict(
            "Another template has this name",
            errors=[{"pointer": "/name", "detail": "taken"}],
        )


def _stored(fields_: TemplateFields) -> dict[str, Any]:
    return fields_.model_dump(mode="json") | {"document_ids": fields_.document_ids}


async def create_template(
    session: AsyncSession, storage: Storage, principal: Principal, *, fields_: TemplateFields
) -> TemplateView:
    documents = await _check(session, storage, principal, fields_)
    await _name_free(session, principal, fields_.name, None)
    template = EnvelopeTemplate(
        firm_id=principal.firm_id, created_by=principal.user_id, **_stored(fields_)
    )
    session.add(template)
    await session.flush()
    await session.refresh(template, ["created_at", "updated_at"])
    await audit.record(
        session,
        principal,
        action="envelope_template.created",
        record_type="envelope_template",
        record_id=template.id,
        after=summarize(template),
    )
    return TemplateView(template, documents)


def fields_of(template: EnvelopeTemplate) -> TemplateFields:
    names = set(TemplateFields.model_fields)
    return TemplateFields.model_validate({name: getattr(template, name) for name in names})


async def update_template(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    template_id: uuid.UUID,
    *,
    patch: TemplatePatch,
) -> TemplateView:
    """Replace the members ``patch`` gives (validated as a whole template)."""
    template = await TEMPLATES.get_or_404(session, principal, template_id, lock=True)
    given = patch.model_dump(mode="json", include=patch.model_fields_set)
    try:
        updated = TemplateFields.model_validate(fields_of(template).model_dump(mode="json") | given)
    except ValidationError as exc:
        raise unprocessable(exc) from exc
    documents = await _check(session, storage, principal, updated)
    await _name_free(session, principal, updated.name, template.id)
    before = summarize(template)
    for name, value in _stored(updated).items():
        setattr(template, name, value)
    await session.flush()
    await session.refresh(template, ["updated_at"])
    await audit.record_changes(
        session,
        principal,
        action="envelope_template.updated",
        record_type="envelope_template",
        record_id=template.id,
        before=before,
        after=summarize(template),
    )
    return TemplateView(template, documents)


async def delete_template(
    session: AsyncSession, principal: Principal, template_id: uuid.UUID
) -> None:
    """Delete the template; envelopes made from it keep everything but the link."""
    template = await TEMPLATES.get_or_404(session, principal, template_id, lock=True)
    before = summarize(template)
    await session.delete(template)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="envelope_template.deleted",
        record_type="envelope_template",
        record_id=template_id,
        before=before,
    )


async def get_template(
    session: AsyncSession, firm: Firm, template_id: uuid.UUID
) -> EnvelopeTemplate:
    return await TEMPLATES.get_or_404(session, firm, template_id)


async def view_template(
    session: AsyncSession, storage: Storage, principal: Principal, template_id: uuid.UUID
) -> TemplateView:
    """The template with its documents measured as they are now."""
    row = await get_template(session, principal, template_id)
    documents = await template_documents.documents_of(session, storage, principal, row.document_ids)
    return TemplateView(row, documents)


async def list_templates(
    session: AsyncSession, principal: Principal, *, page: PageParams, into: Any
) -> Page[Any]:
    """Newest first (ix_envelope_templates_firm_id_created_at_id)."""
    columns = [c for c in EnvelopeTemplate.__table__.columns if c.name != "firm_id"]
    stmt = select(*columns).where(TEMPLATES.owned_by(principal))
    stmt = keyset(stmt, EnvelopeTemplate.created_at, EnvelopeTemplate.id, page)
    return await read_page(session, stmt, page, into)


async def _recipients(
    session: AsyncSession,
    principal: Principal,
    template: TemplateFields,
    request: Instantiate,
) -> list[RecipientFields]:
    """Each role's recipient, in the template's order: 422 at ``/recipients/<key>`` for a
    role left unfilled, a key the template lacks, or a contact not the client's or without
    an email."""
    keys = {role.key for role in template.roles}
    problems = [
        {"pointer": f"/recipients/{key}", "detail": "the template has no such role"}
        for key in request.recipients
        if key not in keys
    ]
    problems += [
        {"pointer": f"/recipients/{key}", "detail": "fill this role"}
        for key in sorted(keys - set(request.recipients))
    ]
    fields.raise_problems(problems)
    out: list[RecipientFields] = []
    for role in template.roles:
        chosen = request.recipients[role.key]
        if isinstance(chosen, ByContact):
            pointer = f"/recipients/{role.key}/contact_id"
            contact = await recipients.check_contact(
                session, principal, chosen.contact_id, pointer=pointer, client_id=request.client_id
            )
            if contact.email is None:
                fields.raise_problems([{"pointer": pointer, "detail": "the contact has no email"}])
            person = {"name": contact.name, "email": contact.email, "contact_id": contact.id}
        else:
            person = {"name": chosen.name, "email": chosen.email}
        out.append(
            RecipientFields.model_validate(
                {
                    **person,
                    "role": role.role,
                    "routing_order": role.routing_order,
                    "require_code": role.require_code,
                }
            )
        )
    return out


async def instantiate(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    template_id: uuid.UUID,
    request: Instantiate,
) -> uuid.UUID:
    """A draft envelope from the template, sent at once when ``request.send``; its id."""
    row = await get_template(session, principal, template_id)
    template = fields_of(row)
    await CLIENTS.require(session, principal, request.client_id, pointer="/client_id")
    people = await _recipients(session, principal, template, request)
    draft = envelopes.EnvelopeFields(
        title=request.title or template.title,
        message=request.message if request.message is not None else template.message,
        client_id=request.client_id,
        document_ids=template.document_ids,
        recipients=people,
        **template.model_dump(include=set(EnvelopeSettings.model_fields)),
    )
    roles = [role.key for role in template.roles]
    envelope = await envelopes.create_envelope(
        session, storage, principal, fields=draft, template_id=row.id, template_roles=roles
    )
    await _copy_fields(session, principal, envelope.id, template)
    if request.send:
        await lifecycle.send(session, principal, envelope.id)
    return envelope.id


async def _copy_fields(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID, template: TemplateFields
) -> None:
    """The template's fields on the envelope's recipients and documents; a page the
    document's current version no longer has is a 422 (``/fields/<i>/page``)."""
    found = await envelopes.view(session, principal, envelope_id)
    by_role = {r.template_role: r.id for r in found.recipients}
    by_document = {d.row.document_id: d.row for d in found.documents}
    specs = [
        FieldSpec(
            recipient_id=by_role[f.role_key],
            envelope_document_id=by_document[f.document_id].id,
            **f.model_dump(exclude={"role_key", "document_id"}),
        )
        for f in template.fields
    ]
    roles = {r.id: r.role for r in found.recipients}
    pages = {d.id: d.page_count for d in by_document.values()}
    fields.raise_problems(fields.field_problems(specs, roles, pages))
    session.add_all(
        EnvelopeField(**fields.field_values(principal.firm_id, envelope_id, spec)) for spec in specs
    )
    await session.flush()
