"""Tenant scoping and get-or-404 in one place.

Every statement a service runs over a tenant-owned table starts here, so "a firm sees only
itself" is written once, an id of another firm is the same 404 everywhere, and a row is
locked for the rest of the transaction under one keyword, ``lock``. Row-level security
guards the same boundary in Postgres; this is the application's half of it.

A model's ``FirmScoped`` lives beside the service that owns the model (``CLIENTS`` in
``services.clients``), or, where a domain's services import one another, in the domain's
leaf repository module (``services.billing.repository``, ``services.automations.repository``,
``services.identity_repository``); other services import it from there. Queries that cross
firms on purpose (token lookup at sign-in, routing an inbound webhook, sweeps) do not use it.
"""

import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.base import ExecutableOption

from core.errors import NotFound
from core.principal import Principal

# Unbounded: mypy does not see a mixin's declared_attr column as a protocol's attribute when
# it checks the argument of an annotation (``FirmScoped[LoginSession]``), so the firm_id
# column is checked when a repository is made, which is at import.
M = TypeVar("M")

Options = Sequence[ExecutableOption]

# Whose rows: a principal's firm, or a firm id an activity or a sweep carries.
Firm = Principal | uuid.UUID


def firm_id_of(firm: Firm) -> uuid.UUID:
    return firm.firm_id if isinstance(firm, Principal) else firm


def _uuid_column(model: type[Any], name: str) -> InstrumentedAttribute[uuid.UUID]:
    # A protocol types a row's attributes, not the mapped class's columns.
    column: InstrumentedAttribute[uuid.UUID] = getattr(model, name)
    return column


def _firm_column(model: type[Any]) -> InstrumentedAttribute[uuid.UUID]:
    if not hasattr(model, "firm_id"):
        raise TypeError(f"{model.__name__} has no firm_id column: it is not tenant-owned")
    return _uuid_column(model, "firm_id")


def _id_column(model: type[Any]) -> InstrumentedAttribute[uuid.UUID]:
    if not hasattr(model, "id"):
        # A row keyed otherwise (an import's rows: import and line) is read by criteria.
        raise TypeError(f"{model.__name__} has no id column to look rows up by")
    return _uuid_column(model, "id")


class FirmScoped(Generic[M]):
    """The firm-scoped statements and look-ups of one tenant-owned model.

    ``noun`` names one row in the 404 ("No client with this id in your firm"); pass
    ``not_found`` when the sentence says more than that."""

    def __init__(self, model: type[M], noun: str, *, not_found: str | None = None) -> None:
        self.model = model
        self.firm_column = _firm_column(model)
        self.noun = noun
        self.not_found_detail = not_found or f"No {noun} with this id in your firm"

    def owned_by(self, firm: Firm) -> ColumnElement[bool]:
        """The firm filter, for statements that are not a plain select of the model
        (a joined or aggregate query, an update, a delete)."""
        return self.firm_column == firm_id_of(firm)

    def select(self, firm: Firm) -> Select[M]:
        """Every row of the firm: the base statement lists and look-ups start from."""
        return select(self.model).where(self.owned_by(firm))

    def not_found(self, *pointers: str) -> NotFound:
        """The 404 of an id the firm does not have; ``pointers`` name the request fields
        that carried such ids."""
        errors = [{"pointer": p, "detail": f"no such {self.noun} in your firm"} for p in pointers]
        return NotFound(self.not_found_detail, errors=errors or None)

    def _one(
        self, firm: Firm, *criteria: ColumnElement[bool], lock: bool, options: Options
    ) -> Select[M]:
        stmt = self.select(firm).where(*criteria).options(*options)
        if lock:
            stmt = stmt.with_for_update()
        # The row as the database holds it now (under the lock, if taken), not a copy the
        # session loaded earlier in the transaction.
        return stmt.execution_options(populate_existing=True)

    async def find(
        self,
        session: AsyncSession,
        firm: Firm,
        *criteria: ColumnElement[bool],
        lock: bool = False,
        options: Options = (),
    ) -> M | None:
        """The firm's row that ``criteria`` single out by a key other than the id (a
        dedupe key, the automation an inbound webhook belongs to), or None; ``lock`` and
        ``options`` as for ``get``."""
        row: M | None = await session.scalar(self._one(firm, *criteria, lock=lock, options=options))
        return row

    async def get(
        self,
        session: AsyncSession,
        firm: Firm,
        row_id: uuid.UUID,
        *criteria: ColumnElement[bool],
        lock: bool = False,
        options: Options = (),
    ) -> M | None:
        """The firm's row with this id (and ``criteria``), or None; ``lock`` holds it FOR
        UPDATE until the transaction ends; ``options`` are loader options."""
        by_id = _id_column(self.model) == row_id
        return await self.find(session, firm, by_id, *criteria, lock=lock, options=options)

    async def get_or_404(
        self,
        session: AsyncSession,
        firm: Firm,
        row_id: uuid.UUID,
        *criteria: ColumnElement[bool],
        lock: bool = False,
        options: Options = (),
        pointer: str | None = None,
    ) -> M:
        """As ``get``, with another firm's id (or none at all) a 404."""
        row = await self.get(session, firm, row_id, *criteria, lock=lock, options=options)
        if row is None:
            raise self.not_found(*[pointer] if pointer is not None else [])
        return row

    async def require(
        self,
        session: AsyncSession,
        firm: Firm,
        row_id: uuid.UUID,
        *,
        lock: bool = False,
        pointer: str | None = None,
    ) -> None:
        """A 404 unless the firm has this row; reads only its id (``lock`` still locks
        the row)."""
        stmt: Select[Any] = select(_id_column(self.model)).where(
            self.owned_by(firm), _id_column(self.model) == row_id
        )
        if lock:
            stmt = stmt.with_for_update()
        if await session.scalar(stmt) is None:
            raise self.not_found(*[pointer] if pointer is not None else [])
