"""Firm-wide settings that only owners and admins change. For now: the outbound HTTP
allow-list, the hosts, addresses and networks the firm's ``http_request`` steps may reach
although they are internal (providers.http refuses those otherwise)."""

import ipaddress
import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.principal import Principal
from models import Firm
from providers.http import normalize_allowlist_entry
from services import audit

MAX_ALLOWLIST_ENTRIES = 100
# A network broader than these would switch the protection off for whole address families
# (0.0.0.0/0 is every address); name the internal ranges the firm really uses instead.
_MIN_PREFIX = {4: 8, 6: 7}


def _entry(value: str) -> str:
    normal = normalize_allowlist_entry(value)
    if "/" in normal:
        network = ipaddress.ip_network(normal)
        if network.prefixlen < _MIN_PREFIX[network.version]:
            raise ValueError(
                f"{value!r} is too broad; the shortest prefix allowed is "
                f"/{_MIN_PREFIX[network.version]}"
            )
    return normal


def _unique(entries: list[str]) -> list[str]:
    return list(dict.fromkeys(entries))


AllowlistEntry = Annotated[str, Field(max_length=253), AfterValidator(_entry)]


class HttpAllowlist(BaseModel):
    """The whole allow-list: host names (exact, case-insensitive), IP addresses and CIDR
    networks. Entries are normalised (``Internal.Example.`` → ``internal.example``,
    ``10.1.2.3/8`` → ``10.0.0.0/8``) and de-duplicated."""

    model_config = ConfigDict(extra="forbid")

    entries: Annotated[
        list[AllowlistEntry], Field(max_length=MAX_ALLOWLIST_ENTRIES), AfterValidator(_unique)
    ]


async def _firm(session: AsyncSession, principal: Principal, *, lock: bool) -> Firm:
    stmt = select(Firm).where(Firm.id == principal.firm_id)
    if lock:
        stmt = stmt.with_for_update()
    firm = await session.scalar(stmt.execution_options(populate_existing=True))
    if firm is None:
        raise NotFound("Your firm no longer exists")
    return firm


async def get_http_allowlist(session: AsyncSession, principal: Principal) -> list[str]:
    """The firm's allow-list, as ``providers.http.HttpClient`` takes it."""
    return list((await _firm(session, principal, lock=False)).http_allowlist)


async def http_allowlist_of(session: AsyncSession, firm_id: uuid.UUID) -> list[str]:
    """The allow-list of the firm the session is scoped to, for the worker's steps (which
    act for a run, not a principal)."""
    entries = await session.scalar(select(Firm.http_allowlist).where(Firm.id == firm_id))
    return list(entries or [])


async def set_http_allowlist(
    session: AsyncSession, principal: Principal, *, allowlist: HttpAllowlist
) -> list[str]:
    """Replace the allow-list; the same list again changes (and records) nothing."""
    firm = await _firm(session, principal, lock=True)
    before = list(firm.http_allowlist)
    if before == allowlist.entries:
        return before
    firm.http_allowlist = list(allowlist.entries)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="firm.http_allowlist_updated",
        record_type="firm",
        record_id=firm.id,
        before={"http_allowlist": before},
        after={"http_allowlist": list(allowlist.entries)},
    )
    return list(firm.http_allowlist)
