"""Clients of a firm: the field rules (shared by the API and the CSV import), creation one
at a time or in bulk, updates, archiving and the filtered, keyset-paginated list. Every
read narrows a client-role principal to the one client it belongs to (``own_client_only``)."""

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
    field_validator,
)
from sqlalchemy import ColumnElement, Select, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, unprocessable
from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, read_page
from core.permissions import Permission, allows
from core.principal import Principal
from core.validation_messages import pattern_message
from models import Client, ClientKind, ClientStatus
from pure import event_catalogue
from services import audit
from services.outbox import writer as outbox
from services.patches import apply_patch
from services.repository import FirmScoped

MAX_TAGS = 50
MAX_CUSTOM_FIELDS_BYTES = 16 * 1024
# A multi-row INSERT binds one parameter per column and row; psycopg allows 65,535.
_INSERT_CHUNK = 1000
_UNIQUE_FIELDS = {
    "uq_clients_firm_id_email": "email",
    "uq_clients_firm_id_external_ref": "external_ref",
}
_FIELD_LABELS = {"email": "email", "external_ref": "external reference"}

CLIENTS = FirmScoped(Client, "client")

T = TypeVar("T")


def blank_to_none(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _unique_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _bounded_json(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_CUSTOM_FIELDS_BYTES:
        raise ValueError(
            f"custom fields take {size} bytes as JSON; the limit is {MAX_CUSTOM_FIELDS_BYTES}"
        )
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[EmailStr | None, BeforeValidator(blank_to_none), AfterValidator(_lower)]
# Digits with the usual separators, at least three digits, optionally a leading "+".
PHONE_PATTERN = r"^\+?[ ().\-/]*(?:[0-9][ ().\-/]*){3,}$"
Phone = Annotated[
    Annotated[
        str,
        StringConstraints(max_length=50, pattern=PHONE_PATTERN),
        pattern_message(
            "Enter a phone number: at least three digits, with spaces, dots, dashes, "
            "slashes or brackets between them and an optional leading +."
        ),
    ]
    | None,
    BeforeValidator(blank_to_none),
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique_tags)]
FieldKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
CustomFields = Annotated[dict[FieldKey, JsonValue], AfterValidator(_bounded_json)]
ExternalRef = Annotated[
    Annotated[str, StringConstraints(max_length=100)] | None, BeforeValidator(blank_to_none)
]


class ClientFields(BaseModel):
    """A new client's fields, validated and normalised: strings trimmed, blank optional
    strings stored as null, emails lower-cased, tags de-duplicated."""

    model_config = ConfigDict(extra="forbid")

    kind: ClientKind = ClientKind.organization
    name: Name
    email: Email = None
    phone: Phone = None
    status: ClientStatus = ClientStatus.prospect
    tags: Tags = Field(default_factory=list)
    custom_fields: CustomFields = Field(default_factory=dict)
    external_ref: ExternalRef = None


_NOT_NULL = ("kind", "name", "status", "tags", "custom_fields")


class ClientPatch(BaseModel):
    """A partial update: only the fields present change; ``email``, ``phone`` and
    ``external_ref`` may be set to null to clear them, the others may not."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[ClientKind | None, NeverNull] = None
    name: Annotated[Name | None, NeverNull] = None
    email: Email = None
    phone: Phone = None
    status: Annotated[ClientStatus | None, NeverNull] = None
    tags: Annotated[Tags | None, NeverNull] = None
    custom_fields: Annotated[CustomFields | None, NeverNull] = None
    external_ref: ExternalRef = None

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def validate_client_fields(data: dict[str, Any]) -> ClientFields:
    """Validate and normalise one client's raw fields (from JSON or a CSV row).

    Raises ``Unprocessable`` whose detail names each bad field and whose ``errors`` carry
    a JSON pointer per problem."""
    try:
        return ClientFields.model_validate(data)
    except ValidationError as exc:
        raise unprocessable(exc) from exc


def summarize(fields: ClientFields | Client) -> dict[str, Any]:
    """The audit summary of a client: its fields as JSON-ready values."""
    return {
        "kind": str(fields.kind),
        "name": fields.name,
        "email": fields.email,
        "phone": fields.phone,
        "status": str(fields.status),
        "tags": list(fields.tags),
        "custom_fields": fields.custom_fields,
        "external_ref": fields.external_ref,
    }


def _chunks(rows: Sequence[ClientFields]) -> Iterator[Sequence[ClientFields]]:
    for start in range(0, len(rows), _INSERT_CHUNK):
        yield rows[start : start + _INSERT_CHUNK]


async def insert_clients(
    session: AsyncSession, principal: Principal, rows: Sequence[ClientFields]
) -> list[uuid.UUID | None]:
    """Create many clients with ``INSERT ... ON CONFLICT DO NOTHING``: a row whose email or
    external reference is already taken in the firm (or by an earlier row of ``rows``) is
    skipped. Returns, per input row and in order, the new client's id or None if skipped.

    Each created client gets its ``client.created`` audit event and domain event."""
    ids = [uuid.uuid4() for _ in rows]
    inserted: set[uuid.UUID] = set()
    offset = 0
    for chunk in _chunks(rows):
        values = [
            {
                "id": ids[offset + i],
                "firm_id": principal.firm_id,
                **fields.model_dump(),
            }
            for i, fields in enumerate(chunk)
        ]
        offset += len(chunk)
        result = await session.execute(
            insert(Client).values(values).on_conflict_do_nothing().returning(Client.id)
        )
        inserted.update(result.scalars())
    created = [(cid, fields) for cid, fields in zip(ids, rows, strict=True) if cid in inserted]
    await audit.record_many(
        session,
        principal,
        action="client.created",
        record_type="client",
        afters=[(client_id, summarize(fields)) for client_id, fields in created],
    )
    await outbox.enqueue_many(
        session,
        principal.firm_id,
        [
            outbox.event("client.created", f"client.created:{client_id}", client_id=str(client_id))
            for client_id, _ in created
        ],
    )
    return [client_id if client_id in inserted else None for client_id in ids]


async def conflicting_field(
    session: AsyncSession,
    principal: Principal,
    *,
    email: str | None,
    external_ref: str | None,
    exclude_id: uuid.UUID | None = None,
) -> str | None:
    """Which unique field (``"email"`` or ``"external_ref"``) another client of the firm
    already holds, or None."""
    checks: list[tuple[str, ColumnElement[bool]]] = []
    if email is not None:
        checks.append(("email", func.lower(Client.email) == email.lower()))
    if external_ref is not None:
        checks.append(("external_ref", Client.external_ref == external_ref))
    for field, condition in checks:
        stmt = select(Client.id).where(CLIENTS.owned_by(principal), condition).limit(1)
        if exclude_id is not None:
            stmt = stmt.where(Client.id != exclude_id)
        if await session.scalar(stmt) is not None:
            return field
    return None


def _duplicate(field: str) -> Conflict:
    label = _FIELD_LABELS[field]
    return Conflict(
        f"Another client of this firm already has this {label}",
        errors=[{"pointer": f"/{field}", "detail": f"{label} is already in use"}],
    )


async def create_client(
    session: AsyncSession, principal: Principal, *, fields: ClientFields
) -> Client:
    """Create one client; a taken email or external reference is a 409 naming the field."""
    [client_id] = await insert_clients(session, principal, [fields])
    if client_id is None:
        field = await conflicting_field(
            session, principal, email=fields.email, external_ref=fields.external_ref
        )
        # The row that blocked the insert may have been deleted since; name both then.
        raise (
            _duplicate(field)
            if field
            else Conflict(
                "Another client of this firm already has this email or external reference"
            )
        )
    return await get_client(session, principal, client_id)


def own_client_only(principal: Principal) -> bool:
    """A principal without ``clients:all`` (a client-role user) sees only the client its
    user belongs to; one linked to none (which the users table forbids) sees nothing."""
    return not allows(principal.role, Permission.clients_all)


async def get_client(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, lock: bool = False
) -> Client:
    own = [Client.id == principal.client_id] if own_client_only(principal) else []
    return await CLIENTS.get_or_404(session, principal, client_id, *own, lock=lock)


async def get_writable_client(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> Client:
    """The client, locked for the rest of the transaction; an archived one is read-only."""
    client = await get_client(session, principal, client_id, lock=True)
    if client.archived_at is not None:
        raise Conflict("This client is archived; unarchive it before changing it")
    return client


async def update_client(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, patch: ClientPatch
) -> Client:
    client = await get_writable_client(session, principal, client_id)

    async def write() -> None:
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError as exc:
            diag = getattr(exc.orig, "diag", None)
            field = _UNIQUE_FIELDS.get(getattr(diag, "constraint_name", ""))
            if field is None:
                raise
            raise _duplicate(field) from exc

    patched = await apply_patch(
        session, principal, client, patch, record_type="client", summarize=summarize, write=write
    )
    if patched.changes:
        await outbox.enqueue_message(
            session,
            principal.firm_id,
            outbox.event(
                "client.updated",
                f"client.updated:{client.id}:{uuid.uuid4()}",
                client_id=str(client.id),
                fields=sorted(patched.changes),
                changes=patched.event_changes,
                source=event_catalogue.run_source(principal.request_id),
            ),
        )
    return client


async def set_archived(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, archived: bool
) -> Client:
    """Archive or unarchive; asking for the state the client is already in changes
    nothing (and records nothing), so a retried request is harmless."""
    client = await get_client(session, principal, client_id, lock=True)
    if (client.archived_at is not None) == archived:
        return client
    before = client.archived_at
    client.archived_at = datetime.now(UTC) if archived else None
    await session.flush()
    await session.refresh(client, ["updated_at"])
    await audit.record(
        session,
        principal,
        action="client.archived" if archived else "client.unarchived",
        record_type="client",
        record_id=client.id,
        before={"archived_at": before.isoformat() if before else None},
        after={"archived_at": client.archived_at.isoformat() if client.archived_at else None},
    )
    return client


@dataclass(frozen=True)
class ClientFilters:
    """``archived=False`` (the default) lists only clients in use; ``archived=True`` lists
    only archived ones, so the archive is a view of its own rather than mixed in.
    ``tags`` keeps clients carrying every tag given; ``search`` matches a substring of
    the name or email, case-insensitively."""

    status: ClientStatus | None = None
    tags: tuple[str, ...] = ()
    search: str | None = None
    archived: bool = False


# Clients of the principal's firm as the list reads them: through the firm_clients view
# (first migration), where the firm condition is applied by the view's owner so that the
# search, tag and status indexes stay usable; the query filters by firm_id as well. Plain
# columns, not the mapped class: a list only reads, and the ORM's loading would build
# nothing it needs (read_page).
FIRM_CLIENTS = (
    text(
        "SELECT "  # noqa: S608 (column names of our own model, no input)
        + ", ".join(column.name for column in Client.__table__.columns)
        + " FROM firm_clients"
    )
    .columns(*Client.__table__.columns)
    .subquery("clients")
    .c
)

# Exactly the expression of the trigram index ix_clients_search, with the constants
# written inline: a bound parameter in their place would stop the index from matching.
SEARCH_TEXT = func.lower(
    FIRM_CLIENTS.name.op("||")(literal_column("' '")).op("||")(
        func.coalesce(FIRM_CLIENTS.email, literal_column("''"))
    )
)


def clients_query(principal: Principal, filters: ClientFilters, page: PageParams) -> Select[Any]:
    stmt = select(*FIRM_CLIENTS).where(FIRM_CLIENTS.firm_id == principal.firm_id)
    if own_client_only(principal):
        stmt = stmt.where(FIRM_CLIENTS.id == principal.client_id)
    if filters.archived:
        stmt = stmt.where(FIRM_CLIENTS.archived_at.is_not(None))
    else:
        stmt = stmt.where(FIRM_CLIENTS.archived_at.is_(None))
    if filters.status is not None:
        stmt = stmt.where(FIRM_CLIENTS.status == filters.status)
    if filters.tags:
        stmt = stmt.where(FIRM_CLIENTS.tags.contains(list(filters.tags)))
    if filters.search:
        stmt = stmt.where(SEARCH_TEXT.contains(filters.search.lower(), autoescape=True))
    return keyset(stmt, FIRM_CLIENTS.created_at, FIRM_CLIENTS.id, page)


async def list_clients(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: ClientFilters,
    page: PageParams,
    into: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """A page of the firm's clients, each row (a dict of every column) made into ``T``."""
    return await read_page(session, clients_query(principal, filters, page), page, into)
