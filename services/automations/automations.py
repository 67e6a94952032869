"""Automations of a firm: creation, the draft, publishing immutable versions, rollback,
status (activate / pause / archive) and the lists. Every change is an audit event.

Audit summaries name a definition by its SHA-256 and step count rather than copying it: a
definition may hold 2,000 steps, and the version itself is kept for ever anyway.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from core.errors import Conflict, NotFound
from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from models import Automation, AutomationRun, AutomationStatus, AutomationVersion, RunStatus
from services import audit
from services.automations import credential_check, schedules, validation
from services.automations.repository import AUTOMATIONS, RUNS, VERSIONS
from services.automations.validation import Problem
from services.patches import apply_patch
from workflows.automation.definition import Definition
from workflows.automation.definition.triggers import EventTrigger

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=5000)]


class AutomationFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None


class AutomationPatch(BaseModel):
    """Only the fields sent change; ``description`` may be set to null."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Name | None, NeverNull] = None
    description: Description | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def fingerprint(definition: dict[str, Any] | None) -> dict[str, Any] | None:
    """What an audit event says about a definition: its hash and size."""
    if definition is None:
        return None
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()
    steps = definition.get("steps")
    return {
        "sha256": hashlib.sha256(canonical).hexdigest(),
        "steps": len(steps) if isinstance(steps, dict) else None,
    }


def summarize(automation: Automation) -> dict[str, Any]:
    return {
        "name": automation.name,
        "description": automation.description,
        "status": str(automation.status),
        "latest_version": automation.latest_version,
    }


async def record_change(
    session: AsyncSession,
    principal: Principal,
    automation: Automation,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session,
        principal,
        action=f"automation.{action}",
        record_type="automation",
        record_id=automation.id,
        before=before,
        after=after,
    )


async def _refreshed(session: AsyncSession, automation: Automation) -> Automation:
    await session.flush()
    # updated_at is set by the database on flush; load it before the caller reads it.
    await session.refresh(automation, ["updated_at"])
    return automation


def _writable(automation: Automation) -> Automation:
    if automation.status == AutomationStatus.archived:
        raise Conflict("This automation is archived and can no longer change")
    return automation


async def create_automation(
    session: AsyncSession,
    principal: Principal,
    *,
    fields: AutomationFields,
    draft: dict[str, Any] | None = None,
    action: str = "created",
) -> Automation:
    automation = Automation(
        firm_id=principal.firm_id,
        name=fields.name,
        description=fields.description,
        status=AutomationStatus.draft,
        draft=draft,
        created_by=principal.user_id,
    )
    session.add(automation)
    await session.flush()
    await session.refresh(automation, ["created_at", "updated_at"])
    await record_change(
        session,
        principal,
        automation,
        action,
        after={**summarize(automation), "draft": fingerprint(draft)},
    )
    return automation


async def get_automation(
    session: AsyncSession,
    principal: Principal,
    automation_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Automation:
    return await AUTOMATIONS.get_or_404(session, principal, automation_id, lock=lock)


async def update_automation(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID, *, patch: AutomationPatch
) -> Automation:
    automation = _writable(await get_automation(session, principal, automation_id, lock=True))
    await apply_patch(
        session, principal, automation, patch, record_type="automation", summarize=summarize
    )
    return automation


async def save_draft(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID, *, raw: bytes
) -> tuple[Automation, list[Problem]]:
    """Replace the draft with the JSON object in ``raw``. A draft is work in progress: it
    is saved even when it is not yet a valid definition, and the problems are returned; it
    must still be one JSON object without duplicate keys (those would be lost on saving)."""
    automation = _writable(await get_automation(session, principal, automation_id, lock=True))
    draft = validation.parse_json(raw)
    before = fingerprint(automation.draft)
    automation.draft = draft
    await _refreshed(session, automation)
    await record_change(
        session,
        principal,
        automation,
        "draft_saved",
        before={"draft": before},
        after={"draft": fingerprint(draft)},
    )
    problems = validation.problems_of(draft)
    if not problems:
        problems = await credential_check.missing_credentials(session, principal.firm_id, draft)
    return automation, problems


async def check_definition(session: AsyncSession, principal: Principal, *, raw: bytes) -> None:
    """What publishing would say about the definition in ``raw``, without saving it: its
    problems, then every credential it reads that the firm does not have (422 either way)."""
    definition = validation.parse_json(raw)
    validation.validate(definition)
    await credential_check.require_credentials(session, principal.firm_id, definition)


async def _latest(session: AsyncSession, automation: Automation) -> AutomationVersion | None:
    if automation.latest_version is None:
        return None
    return await _version(session, automation.firm_id, automation.id, automation.latest_version)


async def _add_version(
    session: AsyncSession,
    principal: Principal,
    automation: Automation,
    definition: dict[str, Any],
    *,
    rolled_back_from: int | None = None,
) -> AutomationVersion:
    # Publishing and rolling back both end here: neither may freeze a version whose
    # credentials the firm lacks.
    await credential_check.require_credentials(session, principal.firm_id, definition)
    number = (automation.latest_version or 0) + 1
    parsed = Definition.model_validate(definition)
    version = AutomationVersion(
        firm_id=principal.firm_id,
        automation_id=automation.id,
        version=number,
        definition=definition,
        rolled_back_from=rolled_back_from,
        created_by=principal.user_id,
        wait_events=sorted(parsed.wait_events()),
    )
    session.add(version)
    before = summarize(automation)
    automation.latest_version = number
    automation.trigger_type = parsed.trigger.type
    automation.trigger_event = (
        parsed.trigger.event if isinstance(parsed.trigger, EventTrigger) else None
    )
    await schedules.request_sync(session, automation)
    await _refreshed(session, automation)
    await session.refresh(version, ["created_at"])
    await record_change(
        session,
        principal,
        automation,
        "rolled_back" if rolled_back_from is not None else "published",
        before={"latest_version": before["latest_version"]},
        after={
            "latest_version": number,
            "rolled_back_from": rolled_back_from,
            "definition": fingerprint(definition),
        },
    )
    return version


async def publish(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID
) -> AutomationVersion:
    """Validate the draft and freeze it as the next version. The automation row is locked,
    so concurrent publishes run one after the other: the second sees the first's version
    (and refuses the same draft as identical) instead of racing for its number."""
    automation = _writable(await get_automation(session, principal, automation_id, lock=True))
    if automation.draft is None:
        raise Conflict("This automation has no draft to publish; save one first")
    validation.validate(automation.draft)
    latest = await _latest(session, automation)
    if latest is not None and latest.definition == automation.draft:
        raise Conflict(f"The draft is identical to version {latest.version}; nothing to publish")
    return await _add_version(session, principal, automation, automation.draft)


async def rollback(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID, version: int
) -> AutomationVersion:
    """Publish version ``version``'s definition again as a new version, and make it the
    draft too, so the next edit starts from what now runs."""
    automation = _writable(await get_automation(session, principal, automation_id, lock=True))
    earlier = await _version(session, principal.firm_id, automation.id, version)
    if automation.latest_version == version:
        raise Conflict(f"Version {version} is already the latest version")
    automation.draft = earlier.definition
    return await _add_version(
        session, principal, automation, earlier.definition, rolled_back_from=version
    )


# Which statuses each transition starts from; asking for the status the automation is
# already in changes nothing (a retried request is harmless).
_TRANSITIONS: dict[AutomationStatus, set[AutomationStatus]] = {
    AutomationStatus.active: {AutomationStatus.draft, AutomationStatus.paused},
    AutomationStatus.paused: {AutomationStatus.active},
    AutomationStatus.archived: {
        AutomationStatus.draft,
        AutomationStatus.active,
        AutomationStatus.paused,
    },
}
_ACTIONS = {
    AutomationStatus.active: "activated",
    AutomationStatus.paused: "paused",
    AutomationStatus.archived: "archived",
}


async def set_status(
    session: AsyncSession,
    principal: Principal,
    automation_id: uuid.UUID,
    target: AutomationStatus,
) -> Automation:
    """Activate (needs a published version), pause (an active automation) or archive."""
    automation = await get_automation(session, principal, automation_id, lock=True)
    if automation.status == target:
        return automation
    if automation.status not in _TRANSITIONS[target]:
        raise Conflict(f"A {automation.status} automation cannot become {target}")
    if target == AutomationStatus.active:
        latest = await _latest(session, automation)
        if latest is None:
            raise Conflict("Publish a version before activating this automation")
        # A credential may have been deleted since the version was published.
        await credential_check.require_credentials(session, principal.firm_id, latest.definition)
    before = automation.status
    automation.status = target
    await _refreshed(session, automation)
    await schedules.request_sync(session, automation)
    await record_change(
        session,
        principal,
        automation,
        _ACTIONS[target],
        before={"status": str(before)},
        after={"status": str(target)},
    )
    return automation


async def delete_automation(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID
) -> None:
    """Delete the automation with its versions, runs, step rows and webhook (the audit
    trail stays). Refused (409) while any of its runs is running or queued: cancel them
    first, so no workflow is left acting for an automation that is gone. Its schedule goes
    with it (``request_sync`` finds the automation missing)."""
    automation = await get_automation(session, principal, automation_id, lock=True)
    active = await session.scalar(
        select(func.count())
        .select_from(AutomationRun)
        .where(
            RUNS.owned_by(principal),
            AutomationRun.automation_id == automation.id,
            AutomationRun.status.in_([RunStatus.running, RunStatus.queued]),
        )
    )
    if active:
        raise Conflict(
            f"This automation has {active} run(s) running or queued; cancel them (or let "
            "them finish) before deleting it"
        )
    await record_change(session, principal, automation, "deleted", before=summarize(automation))
    await schedules.request_sync(session, automation)
    await session.delete(automation)
    await session.flush()


@dataclass(frozen=True)
class AutomationFilters:
    status: AutomationStatus | None = None


def automations_query(
    principal: Principal, filters: AutomationFilters, page: PageParams
) -> Select[Automation]:
    stmt = AUTOMATIONS.select(principal).options(defer(Automation.draft))
    if filters.status is not None:
        stmt = stmt.where(Automation.status == filters.status)
    return keyset(stmt, Automation.created_at, Automation.id, page)


async def list_automations(
    session: AsyncSession, principal: Principal, *, filters: AutomationFilters, page: PageParams
) -> Page[Automation]:
    """Newest first. The drafts are not loaded: a list shows names and states."""
    rows = (await session.scalars(automations_query(principal, filters, page))).all()
    return to_page(rows, page)


async def _version(
    session: AsyncSession, firm_id: uuid.UUID, automation_id: uuid.UUID, version: int
) -> AutomationVersion:
    found = await session.scalar(
        VERSIONS.select(firm_id).where(
            AutomationVersion.automation_id == automation_id,
            AutomationVersion.version == version,
        )
    )
    if found is None:
        raise NotFound(f"This automation has no version {version}")
    return found


async def get_version(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID, version: int
) -> AutomationVersion:
    """One published version with its definition, in a single query whatever its size
    (the definition is one JSONB document). Another firm's automation is a 404 because
    the query filters by the principal's firm."""
    return await _version(session, principal.firm_id, automation_id, version)


async def load_definition(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID, version: int
) -> Definition:
    """A published version's definition as the interpreter reads it: one query, then
    parsing (it was validated when published, so this does not fail for stored rows)."""
    found = await _version(session, principal.firm_id, automation_id, version)
    return Definition.model_validate(found.definition)


async def list_versions(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID, *, page: PageParams
) -> Page[AutomationVersion]:
    """Newest first, without their definitions."""
    await get_automation(session, principal, automation_id)
    stmt = versions_query(principal, automation_id, page)
    return to_page((await session.scalars(stmt)).all(), page)


def versions_query(
    principal: Principal, automation_id: uuid.UUID, page: PageParams
) -> Select[AutomationVersion]:
    stmt = (
        VERSIONS.select(principal)
        .where(AutomationVersion.automation_id == automation_id)
        .options(defer(AutomationVersion.definition))
    )
    return keyset(stmt, AutomationVersion.created_at, AutomationVersion.id, page)
