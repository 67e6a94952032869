"""The firm's e-signature settings: whether a completed envelope's signed documents are put
under a legal hold (the sealing step reads ``Firm.esignature_legal_hold``)."""

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.principal import Principal
from models import Firm
from services import audit


class EsignatureSettings(BaseModel):
    """``legal_hold_on_completion``: each signed document stored on completion is held
    (retention cannot delete it) until the hold is released by hand."""

    model_config = ConfigDict(extra="forbid")

    legal_hold_on_completion: bool


async def _firm(session: AsyncSession, principal: Principal, *, lock: bool) -> Firm:
    stmt = select(Firm).where(Firm.id == principal.firm_id)
    if lock:
        stmt = stmt.with_for_update()
    firm = await session.scalar(stmt.execution_options(populate_existing=True))
    if firm is None:
        raise NotFound("Your firm no longer exists")
    return firm


async def get_settings(session: AsyncSession, principal: Principal) -> EsignatureSettings:
    firm = await _firm(session, principal, lock=False)
    return EsignatureSettings(legal_hold_on_completion=firm.esignature_legal_hold)


async def set_settings(
    session: AsyncSession, principal: Principal, settings: EsignatureSettings
) -> EsignatureSettings:
    """Replace the settings; the same again changes (and records) nothing. Applies to
    envelopes completing from now on."""
    firm = await _firm(session, principal, lock=True)
    before = firm.esignature_legal_hold
    if before == settings.legal_hold_on_completion:
        return settings
    firm.esignature_legal_hold = settings.legal_hold_on_completion
    await session.flush()
    await audit.record(
        session,
        principal,
        action="firm.esignature_settings_updated",
        record_type="firm",
        record_id=firm.id,
        before={"legal_hold_on_completion": before},
        after={"legal_hold_on_completion": settings.legal_hold_on_completion},
    )
    return settings
