"""The firm's tax rates: read by anyone who bills, changed by those who manage billing.
Rates are archived, never deleted."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.billing import TaxRateCreate, TaxRateRead, TaxRateUpdate
from api.schemas.common import Page, page_of
from core.errors import Conflict
from core.permissions import Permission
from core.principal import Principal
from services.billing import tax_rates

router = APIRouter(prefix="/tax-rates")

Reader = Annotated[Principal, Requires(Permission.billing_read)]
Manager = Annotated[Principal, Requires(Permission.billing_manage)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(Conflict))
async def create_tax_rate(
    body: TaxRateCreate, principal: Manager, session: SessionDep
) -> TaxRateRead:
    rate = await tax_rates.create_tax_rate(session, principal, fields=body)
    return TaxRateRead.model_validate(rate)


@router.get("")
async def list_tax_rates(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    include_archived: Annotated[bool, Query(description="Archived rates too.")] = False,
) -> Page[TaxRateRead]:
    """Newest first, keyset-paginated; active rates only unless asked."""
    result = await tax_rates.list_tax_rates(
        session, principal, include_archived=include_archived, page=page
    )
    return page_of([TaxRateRead.model_validate(r) for r in result.items], result)


@router.get("/{tax_rate_id}")
async def get_tax_rate(
    tax_rate_id: uuid.UUID, principal: Reader, session: SessionDep
) -> TaxRateRead:
    return TaxRateRead.model_validate(await tax_rates.get_tax_rate(session, principal, tax_rate_id))


@router.patch("/{tax_rate_id}", responses=errors(Conflict))
async def update_tax_rate(
    tax_rate_id: uuid.UUID, body: TaxRateUpdate, principal: Manager, session: SessionDep
) -> TaxRateRead:
    """Invoices already saved keep the values they were given."""
    rate = await tax_rates.update_tax_rate(session, principal, tax_rate_id, patch=body)
    return TaxRateRead.model_validate(rate)


@router.post("/{tax_rate_id}/archive", responses=errors(Conflict))
async def archive_tax_rate(
    tax_rate_id: uuid.UUID, principal: Manager, session: SessionDep
) -> TaxRateRead:
    """No new line can use the rate; its name is free for a new active rate."""
    rate = await tax_rates.archive_tax_rate(session, principal, tax_rate_id)
    return TaxRateRead.model_validate(rate)
