"""Automations: the draft, immutable published versions, status, diff, export and import.

Definitions are read from the raw body rather than through a pydantic body parameter: a
JSON object with a repeated key (a duplicate step id) must be refused, and a parsed dict
has already lost the first occurrence."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from api.deps import BoundedBody, PageDep, Requires, SessionDep
from api.openapi import errors
from api.routes import automation_schedules
from api.schemas.automations import (
    AutomationCreate,
    AutomationDetail,
    AutomationRead,
    AutomationUpdate,
    DraftSaved,
    Imported,
    VersionRead,
    VersionSummary,
)
from api.schemas.common import Page, VersionNumber, page_of
from core.errors import Conflict
from core.permissions import Permission
from core.principal import Principal
from models import Automation, AutomationStatus
from services.automations import automations, diff, portable, validation
from services.automations.automations import AutomationFilters
from services.automations.portable import DocumentFormat, Source

router = APIRouter(prefix="/automations")

Reader = Annotated[Principal, Requires(Permission.automations_read)]
Writer = Annotated[Principal, Requires(Permission.automations_write)]

_DEFINITION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "A definition (docs/automations.md); duplicate keys are refused.",
    }
}
_DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
        "description": "An exported automation document, JSON or YAML.",
    }
}
_MEDIA_TYPES = {DocumentFormat.json: "application/json", DocumentFormat.yaml: "application/yaml"}


DefinitionBody = Annotated[
    bytes,
    BoundedBody(validation.MAX_DEFINITION_BYTES, what="A definition or document"),
]


def _detail(automation: Automation) -> AutomationDetail:
    return AutomationDetail.model_validate(automation, from_attributes=True)


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(Conflict))
async def create_automation(
    body: AutomationCreate, principal: Writer, session: SessionDep
) -> AutomationDetail:
    """A new automation in status ``draft``; save its definition with ``PUT …/draft``."""
    return _detail(await automations.create_automation(session, principal, fields=body))


@router.get("")
async def list_automations(
    principal: Reader, session: SessionDep, page: PageDep, status: AutomationStatus | None = None
) -> Page[AutomationRead]:
    """Newest first, keyset-paginated, optionally by status."""
    result = await automations.list_automations(
        session, principal, filters=AutomationFilters(status=status), page=page
    )
    return page_of([AutomationRead.model_validate(a) for a in result.items], result)


@router.post("/validate", openapi_extra=_DEFINITION_BODY)
async def validate_definition(
    principal: Reader, session: SessionDep, raw: DefinitionBody
) -> dict[str, bool]:
    """Check a definition without saving it: 200 ``{"valid": true}``, or a 422 problem
    whose ``errors`` hold a JSON pointer per problem, including each use of a credential
    the firm does not have."""
    await automations.check_definition(session, principal, raw=raw)
    return {"valid": True}


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_DOCUMENT_BODY,
    responses=errors(Conflict),
)
async def import_automation(
    request: Request,
    principal: Writer,
    session: SessionDep,
    raw: DefinitionBody,
    format: Annotated[
        DocumentFormat | None,
        Query(description="json or yaml; by default the Content-Type decides."),
    ] = None,
    publish: Annotated[bool, Query(description="Publish the definition as version 1.")] = False,
) -> Imported:
    """Create an automation from an exported document (its definition must be valid)."""
    fmt = format or (
        DocumentFormat.yaml
        if "yaml" in request.headers.get("content-type", "")
        else DocumentFormat.json
    )
    automation, version = await portable.import_document(
        session, principal, raw=raw, fmt=fmt, publish=publish
    )
    return Imported(
        automation=_detail(automation),
        version=VersionRead.model_validate(version) if version is not None else None,
    )


@router.get("/{automation_id}")
async def get_automation(
    automation_id: uuid.UUID, principal: Reader, session: SessionDep
) -> AutomationDetail:
    return _detail(await automations.get_automation(session, principal, automation_id))


@router.delete(
    "/{automation_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(Conflict)
)
async def delete_automation(
    automation_id: uuid.UUID, principal: Writer, session: SessionDep
) -> None:
    """Delete it with its versions and runs (the audit trail stays) and its schedule;
    409 while a run is running or queued."""
    await automations.delete_automation(session, principal, automation_id)


@router.patch("/{automation_id}", responses=errors(Conflict))
async def update_automation(
    automation_id: uuid.UUID, body: AutomationUpdate, principal: Writer, session: SessionDep
) -> AutomationDetail:
    automation = await automations.update_automation(session, principal, automation_id, patch=body)
    return _detail(automation)


@router.put(
    "/{automation_id}/draft",
    openapi_extra=_DEFINITION_BODY,
    responses=errors(Conflict),
)
async def save_draft(
    automation_id: uuid.UUID, principal: Writer, session: SessionDep, raw: DefinitionBody
) -> DraftSaved:
    """Replace the draft. It is saved even when not yet valid; ``problems`` lists what
    would stop it from being published."""
    automation, problems = await automations.save_draft(session, principal, automation_id, raw=raw)
    detail = _detail(automation)
    return DraftSaved.model_validate({**detail.model_dump(), "problems": problems})


@router.post(
    "/{automation_id}/publish", status_code=status.HTTP_201_CREATED, responses=errors(Conflict)
)
async def publish(automation_id: uuid.UUID, principal: Writer, session: SessionDep) -> VersionRead:
    """Validate the draft and freeze it as the next version (422 with pointers if it is
    not valid or reads a credential the firm does not have, 409 if it equals the latest
    version)."""
    version = await automations.publish(session, principal, automation_id)
    return VersionRead.model_validate(version)


@router.post("/{automation_id}/activate", responses=errors(Conflict))
async def activate(
    automation_id: uuid.UUID, principal: Writer, session: SessionDep
) -> AutomationDetail:
    """Needs a published version whose credentials all exist (422 with pointers if not)."""
    automation = await automations.set_status(
        session, principal, automation_id, AutomationStatus.active
    )
    return _detail(automation)


@router.post("/{automation_id}/pause", responses=errors(Conflict))
async def pause(
    automation_id: uuid.UUID, principal: Writer, session: SessionDep
) -> AutomationDetail:
    automation = await automations.set_status(
        session, principal, automation_id, AutomationStatus.paused
    )
    return _detail(automation)


@router.post("/{automation_id}/archive", responses=errors(Conflict))
async def archive(
    automation_id: uuid.UUID, principal: Writer, session: SessionDep
) -> AutomationDetail:
    """Archived automations are read-only for good."""
    automation = await automations.set_status(
        session, principal, automation_id, AutomationStatus.archived
    )
    return _detail(automation)


@router.get("/{automation_id}/versions")
async def list_versions(
    automation_id: uuid.UUID, principal: Reader, session: SessionDep, page: PageDep
) -> Page[VersionSummary]:
    """Newest first, without definitions."""
    result = await automations.list_versions(session, principal, automation_id, page=page)
    return page_of([VersionSummary.model_validate(v) for v in result.items], result)


@router.get("/{automation_id}/versions/{version}")
async def get_version(
    automation_id: uuid.UUID, version: VersionNumber, principal: Reader, session: SessionDep
) -> VersionRead:
    found = await automations.get_version(session, principal, automation_id, version)
    return VersionRead.model_validate(found)


@router.post(
    "/{automation_id}/versions/{version}/rollback",
    status_code=status.HTTP_201_CREATED,
    responses=errors(Conflict),
)
async def rollback(
    automation_id: uuid.UUID, version: VersionNumber, principal: Writer, session: SessionDep
) -> VersionRead:
    """Publish version ``version``'s definition again as a new version (and make it the
    draft)."""
    return VersionRead.model_validate(
        await automations.rollback(session, principal, automation_id, version)
    )


@router.get("/{automation_id}/versions/{a}/diff/{b}")
async def diff_versions(
    automation_id: uuid.UUID,
    a: VersionNumber,
    b: VersionNumber,
    principal: Reader,
    session: SessionDep,
) -> dict[str, Any]:
    """What changed from version ``a`` to version ``b``: steps added, removed and changed
    (each change a JSON pointer with the value before and after), the trigger, and other
    top-level members under ``changes``."""
    before = await automations.get_version(session, principal, automation_id, a)
    after = await automations.get_version(session, principal, automation_id, b)
    return {"from": a, "to": b, **diff.diff(before.definition, after.definition)}


@router.get("/{automation_id}/export", responses=errors(Conflict))
async def export_automation(
    automation_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    format: DocumentFormat = DocumentFormat.json,
    source: Source = Source.published,
) -> Response:
    """One document (name, description, definition) to keep in git and import elsewhere."""
    document = await portable.export(session, principal, automation_id, source=source)
    return Response(
        portable.render(document, format),
        media_type=_MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="automation-{automation_id}.{format}"'
        },
    )


router.include_router(automation_schedules.router)
