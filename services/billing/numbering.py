"""Gapless invoice numbers, per firm and per rendered prefix.

The counter row is taken with an upsert that increments it and keeps its row lock until
the finalizing transaction ends: concurrent finalizations queue on that row, and a
rolled-back finalization gives its number back, so numbers have neither gaps nor
duplicates."""

import re
import uuid
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

YEAR = "{year}"
# Letters, digits and a few separators, with "{year}" anywhere: safe in a file name, an
# email subject and a URL, and never mistaken for a template.
PREFIX_PATTERN = re.compile(r"^(?:[A-Za-z0-9_./#-]|\{year\})*$")

_NEXT = text(
    "INSERT INTO invoice_number_sequences (id, firm_id, prefix, last_value) "
    "VALUES (:id, :firm_id, :prefix, 1) "
    "ON CONFLICT (firm_id, prefix) "
    "DO UPDATE SET last_value = invoice_number_sequences.last_value + 1 "
    "RETURNING last_value"
)


def render_prefix(template: str, issue_date: date) -> str:
    return template.replace(YEAR, f"{issue_date.year:04d}")


def format_number(prefix: str, value: int, digits: int) -> str:
    return f"{prefix}{value:0{digits}d}"


async def next_number(
    session: AsyncSession, firm_id: uuid.UUID, *, template: str, digits: int, issue_date: date
) -> str:
    """The next number for ``template`` rendered for ``issue_date``; the caller's
    transaction holds the counter until it commits (or gives the number back)."""
    prefix = render_prefix(template, issue_date)
    value = await session.scalar(_NEXT, {"id": uuid.uuid4(), "firm_id": firm_id, "prefix": prefix})
    if value is None:
        raise RuntimeError("the number sequence upsert returned no row")
    return format_number(prefix, int(value), digits)
