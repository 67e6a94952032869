"""The two legs of an SP-initiated login, and the SP metadata, for a firm named by slug.

These run for browsers nobody has authenticated yet, so the firm is looked up by its slug
across firms (the ``sso`` system purpose); everything after runs scoped to that firm."""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, scope_to_firm, system_scope
from core.errors import NotFound
from models import Firm, SamlConfig
from services.sso import provisioning, relay, replay, saml
from services.sso.errors import SsoRefused
from services.tokens import IssuedSession, start_session

SSO_UNAVAILABLE = "Single sign-on is not available for this firm"


@dataclass(frozen=True)
class LoginStart:
    location: str
    relay_state: str


async def _firm_and_config(session: AsyncSession, firm_slug: str) -> tuple[Firm, SamlConfig] | None:
    async with system_scope(session, SystemPurpose.sso):
        firm = await session.scalar(select(Firm).where(Firm.slug == firm_slug))
    if firm is None:
        return None
    await scope_to_firm(session, firm.id)
    config = await session.scalar(
        select(SamlConfig).where(SamlConfig.firm_id == firm.id, SamlConfig.enabled.is_(True))
    )
    return None if config is None else (firm, config)


def _service_provider(public_url: str, firm: Firm, config: SamlConfig) -> saml.ServiceProvider:
    return saml.ServiceProvider.for_firm(
        public_url,
        firm.slug,
        idp_entity_id=config.idp_entity_id,
        idp_metadata_xml=config.idp_metadata_xml,
    )


async def sp_metadata(session: AsyncSession, firm_slug: str, *, public_url: str) -> str:
    found = await _firm_and_config(session, firm_slug)
    if found is None:
        raise NotFound(SSO_UNAVAILABLE)
    sp = _service_provider(public_url, *found)
    return await asyncio.to_thread(saml.sp_metadata, sp)


async def begin_login(session: AsyncSession, firm_slug: str, *, public_url: str) -> LoginStart:
    found = await _firm_and_config(session, firm_slug)
    if found is None:
        raise NotFound(SSO_UNAVAILABLE)
    firm, config = found
    relay_state = relay.new_relay_state()
    redirect = await asyncio.to_thread(
        saml.authn_request, _service_provider(public_url, firm, config), relay_state
    )
    await relay.remember_request(
        session, firm.id, relay_state=relay_state, request_id=redirect.request_id
    )
    return LoginStart(location=redirect.location, relay_state=relay_state)


async def complete_login(
    session: AsyncSession,
    firm_slug: str,
    *,
    public_url: str,
    saml_response: str | None,
    posted_relay_state: str | None,
    cookie_relay_state: str | None,
    ttl: timedelta,
    request_id: str | None,
) -> IssuedSession:
    """Verify the IdP's answer and sign the user in, or raise ``SsoRefused``.

    The RelayState and the assertion id are spent in the caller's transaction even when a
    later check refuses (the caller commits on a refusal); the user and the session are
    made in a savepoint, so a refusal there leaves no half-created user behind."""
    found = await _firm_and_config(session, firm_slug)
    if found is None:
        raise SsoRefused(f"no enabled SSO configuration for firm slug {firm_slug!r}")
    firm, config = found
    if not saml_response:
        raise SsoRefused("no SAMLResponse in the POST")
    expected_request_id: str | None = None
    if posted_relay_state or cookie_relay_state or not config.allow_idp_initiated:
        request = await relay.consume_request(
            session, firm.id, posted=posted_relay_state, cookie=cookie_relay_state
        )
        expected_request_id = request.request_id
    verified = await asyncio.to_thread(
        saml.verify_response,
        _service_provider(public_url, firm, config),
        saml_response,
        expected_request_id=expected_request_id,
    )
    await replay.accept_once(session, firm.id, verified.assertion_id, verified.expires_at)
    identity = provisioning.identity_from(config, verified)
    async with session.begin_nested():
        user = await provisioning.user_for(session, firm, config, identity, request_id)
        return await start_session(
            session, user, firm, ttl=ttl, method="saml", request_id=request_id
        )
