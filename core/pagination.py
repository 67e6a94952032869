"""Keyset pagination, newest first: ``ORDER BY created_at DESC, id DESC`` and a cursor
holding the last row's ``(created_at, id)``, so a page costs one index range scan however
deep it is, and rows inserted meanwhile neither repeat nor vanish.

The cursor is base64url JSON. It is not signed: it only names a position in the caller's
own firm's list (every query filters by firm), so a forged cursor can do no more than
start the list at another point.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.errors import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# A real cursor is about 110 characters; anything far longer is not one of ours.
MAX_CURSOR_LENGTH = 200

T = TypeVar("T")
S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class Keyed(Protocol):
    """A row with the pagination key (every model with ``created_at`` and ``id``)."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> uuid.UUID: ...


K = TypeVar("K", bound=Keyed)


def encode_position(position: dict[str, str | float]) -> str:
    """An opaque cursor holding ``position`` (the keyset values of a page's last row)."""
    raw = json.dumps(position, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_problem(reason: str) -> BadRequest:
    return BadRequest(
        "The cursor is not valid; pass the next_cursor of a previous page unchanged",
        errors=[{"parameter": "cursor", "in": "query", "detail": reason}],
    )


def decode_position(raw: str, keys: frozenset[str]) -> dict[str, Any]:
    """The position a cursor made by ``encode_position`` holds, with exactly ``keys``;
    anything else is a ``BadRequest`` naming the ``cursor`` parameter."""
    if not raw or len(raw) > MAX_CURSOR_LENGTH:
        raise cursor_problem("cursor has an impossible length")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
        data = json.loads(decoded)
    except (binascii.Error, ValueError) as exc:
        raise cursor_problem("cursor is not base64url-encoded JSON") from exc
    if not isinstance(data, dict) or set(data) != keys:
        raise cursor_problem("cursor does not hold a position")
    return data


def encode_cursor(created_at: datetime, id_: uuid.UUID) -> str:
    return encode_position({"t": created_at.isoformat(), "i": str(id_)})


def decode_cursor(raw: str) -> Cursor:
    """Parse a cursor made by ``encode_cursor``; anything else is a ``BadRequest`` naming
    the ``cursor`` parameter."""
    data = decode_position(raw, frozenset({"t", "i"}))
    created_at, id_ = data["t"], data["i"]
    if not isinstance(created_at, str) or not isinstance(id_, str):
        raise cursor_problem("cursor does not hold a position")
    try:
        position = Cursor(created_at=datetime.fromisoformat(created_at), id=uuid.UUID(id_))
    except ValueError as exc:
        raise cursor_problem("cursor holds a malformed timestamp or id") from exc
    if position.created_at.tzinfo is None:
        raise cursor_problem("cursor timestamp has no time zone")
    return position


def keyset(
    stmt: S,
    created_at: InstrumentedAttribute[datetime] | ColumnElement[datetime],
    id_: InstrumentedAttribute[uuid.UUID] | ColumnElement[uuid.UUID],
    page: PageParams,
) -> S:
    """Order ``stmt`` newest first, start after ``page.cursor`` and fetch one row more
    than the page, which tells ``to_page`` whether another page follows."""
    if page.cursor is not None:
        stmt = stmt.where(tuple_(created_at, id_) < (page.cursor.created_at, page.cursor.id))
    return stmt.order_by(created_at.desc(), id_.desc()).limit(page.limit + 1)


def to_page(rows: Sequence[K], page: PageParams) -> Page[K]:
    """Turn the ``limit + 1`` rows of a ``keyset`` query into a page and its cursor."""
    items = list(rows[: page.limit])
    if len(rows) <= page.limit:
        return Page(items=items, next_cursor=None)
    last = items[-1]
    return Page(items=items, next_cursor=encode_cursor(last.created_at, last.id))


async def read_page(
    session: AsyncSession,
    stmt: Select[Any],
    page: PageParams,
    into: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """Run a ``keyset`` statement that selects columns (``created_at`` and ``id`` among
    them) and turn each row of the page into ``T`` with ``into``, which gets the row as a
    dict by column name: usually the response schema's ``model_validate``.

    For read-only lists: no ORM instance is built, so nothing is added to the identity
    map, instrumented or tracked for changes, and a plain dict is what pydantic validates
    fastest (a row or mapping object costs it several times more)."""
    result = await session.execute(stmt)
    keys = list(result.keys())
    rows = result.all()
    items = [into(dict(zip(keys, row, strict=True))) for row in rows[: page.limit]]
    if len(rows) <= page.limit:
        return Page(items=items, next_cursor=None)
    last = rows[page.limit - 1]
    return Page(items=items, next_cursor=encode_cursor(last.created_at, last.id))
