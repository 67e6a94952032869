"""The caller's firm's e-signature settings."""

from typing import Annotated

from fastapi import APIRouter

from api.deps import Requires, SessionDep
from core.permissions import Permission
from core.principal import Principal
from services.esignature import settings as esignature_settings
from services.esignature.settings import EsignatureSettings

router = APIRouter(prefix="/firm/esignature-settings")


@router.get("")
async def get_esignature_settings(
    principal: Annotated[Principal, Requires(Permission.esignature_read)], session: SessionDep
) -> EsignatureSettings:
    return await esignature_settings.get_settings(session, principal)


@router.put("")
async def put_esignature_settings(
    body: EsignatureSettings,
    principal: Annotated[Principal, Requires(Permission.esignature_manage)],
    session: SessionDep,
) -> EsignatureSettings:
    """Replace the settings (they apply to envelopes completing from now on)."""
    return await esignature_settings.set_settings(session, principal, body)
