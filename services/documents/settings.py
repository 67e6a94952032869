"""The firm's document settings: the storage quota, the largest upload, the detected types
an upload may have, the text-search configuration documents are indexed with, and the
business days and hours review reminders keep to; and the bytes the firm's blobs take."""

import re
from datetime import time
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound, Unprocessable
from core.principal import Principal
from models import Firm
from services import audit
from services.documents import blobs

MAX_ALLOWED_TYPES = 100
# An upload never exceeds 5 TiB (S3's largest object); a quota beyond 1 PiB is a typo.
MAX_UPLOAD_LIMIT = 5 * 1024**4
MAX_QUOTA = 1024**5

MediaType = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=127,
        # Checked before the lowering: either case is accepted, lower case is kept.
        pattern=r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$",
    ),
]
# A time of day in the firm's time zone, so without an offset: "09:00" or "09:00:00".
CLOCK_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"


def _clock(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(CLOCK_PATTERN, value):
        raise ValueError("a time of day as HH:MM or HH:MM:SS, without an offset")
    if isinstance(value, time) and value.tzinfo is not None:
        raise ValueError("a time of day without an offset (the firm's time zone applies)")
    return value


Clock = Annotated[
    time,
    BeforeValidator(_clock),
    WithJsonSchema({"type": "string", "pattern": CLOCK_PATTERN, "examples": ["09:00:00"]}),
]
SearchConfig = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
]


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _sorted_unique(days: list[int]) -> list[int]:
    return sorted(set(days))


class DocumentSettings(BaseModel):
    """The whole of the firm's document settings (PUT replaces them).

    ``allowed_upload_types`` are media types as detected from the bytes (``application/pdf``);
    empty allows every type firmflow recognises. ``search_config`` is a Postgres text-search
    configuration (``english``, ``german``, ``simple`` …); it applies to versions indexed
    from then on. ``business_days`` are ISO weekdays (1 = Monday), and the hours are in the
    firm's time zone."""

    model_config = ConfigDict(extra="forbid")

    documents_quota_bytes: Annotated[int, Field(ge=1, le=MAX_QUOTA)]
    upload_limit_bytes: Annotated[int, Field(ge=1, le=MAX_UPLOAD_LIMIT)]
    allowed_upload_types: Annotated[
        list[MediaType], Field(max_length=MAX_ALLOWED_TYPES), AfterValidator(_unique)
    ]
    search_config: SearchConfig
    business_days: Annotated[
        list[Annotated[int, Field(ge=1, le=7)]],
        Field(min_length=1, max_length=7),
        AfterValidator(_sorted_unique),
    ]
    business_start: Clock
    business_end: Clock

    @model_validator(mode="after")
    def _consistent(self) -> "DocumentSettings":
        if self.business_start >= self.business_end:
            raise ValueError("business_start must be before business_end")
        if self.upload_limit_bytes > self.documents_quota_bytes:
            raise ValueError("upload_limit_bytes may not exceed documents_quota_bytes")
        return self


_FIELDS = tuple(DocumentSettings.model_fields)


async def _firm(session: AsyncSession, principal: Principal, *, lock: bool) -> Firm:
    stmt = select(Firm).where(Firm.id == principal.firm_id)
    if lock:
        stmt = stmt.with_for_update()
    firm = await session.scalar(stmt.execution_options(populate_existing=True))
    if firm is None:
        raise NotFound("Your firm no longer exists")
    return firm


def _settings_of(firm: Firm) -> DocumentSettings:
    return DocumentSettings.model_construct(**{name: getattr(firm, name) for name in _FIELDS})


async def bytes_used(session: AsyncSession, principal: Principal) -> int:
    return await blobs.bytes_used(session, principal.firm_id)


async def get_settings(session: AsyncSession, principal: Principal) -> DocumentSettings:
    return _settings_of(await _firm(session, principal, lock=False))


async def search_config_exists(session: AsyncSession, name: str) -> bool:
    found = await session.scalar(
        text("SELECT 1 FROM pg_catalog.pg_ts_config WHERE cfgname = :name"), {"name": name}
    )
    return found is not None


async def set_settings(
    session: AsyncSession, principal: Principal, *, settings: DocumentSettings
) -> DocumentSettings:
    """Replace the settings; the same settings again change (and record) nothing. A quota
    below what is stored already is allowed: it stops uploads, it deletes nothing."""
    if not await search_config_exists(session, settings.search_config):
        raise Unprocessable(
            "This text-search configuration does not exist in the database",
            errors=[{"pointer": "/search_config", "detail": "not a configuration in pg_ts_config"}],
        )
    firm = await _firm(session, principal, lock=True)
    before = _settings_of(firm).model_dump(mode="json")
    after = settings.model_dump(mode="json")
    if before == after:
        return settings
    for name in _FIELDS:
        setattr(firm, name, getattr(settings, name))
    await session.flush()
    changed = [name for name in _FIELDS if before[name] != after[name]]
    await audit.record(
        session,
        principal,
        action="firm.document_settings_updated",
        record_type="firm",
        record_id=firm.id,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    return settings
