"""The caller's firm's own settings."""

from typing import Annotated

from fastapi import APIRouter

from api.deps import Requires, SessionDep
from core.permissions import Permission
from core.principal import Principal
from services import firm_settings
from services.firm_settings import HttpAllowlist

router = APIRouter(prefix="/firm")


@router.get("/http-allowlist")
async def get_http_allowlist(
    principal: Annotated[Principal, Requires(Permission.automations_read)], session: SessionDep
) -> HttpAllowlist:
    """What the firm's ``http_request`` steps may reach although it is internal (loopback,
    private, link-local). Readable by whoever reads automations, so a builder can see why
    a step was refused."""
    entries = await firm_settings.get_http_allowlist(session, principal)
    return HttpAllowlist.model_construct(entries=entries)


@router.patch("/http-allowlist")
async def update_http_allowlist(
    body: HttpAllowlist,
    principal: Annotated[Principal, Requires(Permission.firm_manage)],
    session: SessionDep,
) -> HttpAllowlist:
    """Replace the allow-list with ``entries`` (send ``[]`` to clear it). Public addresses
    need no entry; an entry opens an internal host, address or network to every automation
    of the firm, so name only what automations must reach."""
    entries = await firm_settings.set_http_allowlist(session, principal, allowlist=body)
    return HttpAllowlist.model_construct(entries=entries)
