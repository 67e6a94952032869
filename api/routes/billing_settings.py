"""The firm's billing settings: numbering, default terms, dunning hours, the seller's legal
details every invoice prints, and the invoice template. Anyone who bills reads them;
those who manage billing change them."""

from typing import Annotated

from fastapi import APIRouter

from api.deps import Requires, SessionDep
from api.schemas.billing import (
    BillingSettingsRead,
    BillingSettingsUpdate,
    InvoiceTemplateBody,
    settings_read,
)
from core.permissions import Permission
from core.principal import Principal
from services.billing import rendering, settings

router = APIRouter(prefix="/billing/settings")

Reader = Annotated[Principal, Requires(Permission.billing_read)]
Manager = Annotated[Principal, Requires(Permission.billing_manage)]


@router.get("")
async def get_settings(principal: Reader, session: SessionDep) -> BillingSettingsRead:
    return settings_read(await settings.get_settings(session, principal.firm_id))


@router.patch("")
async def update_settings(
    body: BillingSettingsUpdate, principal: Manager, session: SessionDep
) -> BillingSettingsRead:
    return settings_read(await settings.update_settings(session, principal, patch=body))


@router.put("/invoice-template")
async def set_invoice_template(
    body: InvoiceTemplateBody, principal: Manager, session: SessionDep
) -> BillingSettingsRead:
    """Checked by rendering a sample invoice; a template that fails is a 422 naming why."""
    saved = await rendering.set_invoice_template(session, principal, source=body.template)
    return settings_read(saved)


@router.delete("/invoice-template")
async def clear_invoice_template(principal: Manager, session: SessionDep) -> BillingSettingsRead:
    """Back to the shipped default template."""
    return settings_read(await rendering.clear_invoice_template(session, principal))
