"""SAML single sign-on: the firm's configuration (owners and admins), and the public
browser endpoints an IdP talks to, named by the firm's slug: SP metadata, login (sends the
AuthnRequest) and the assertion consumer service.

Every refusal at the ACS answers with one generic problem; the precise reason goes to the
log with the request id, and nothing about it reaches the browser."""

import logging
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Cookie, Form, Request, Response, status
from fastapi.responses import RedirectResponse

from api.deps import Requires, SessionDep, SettingsDep
from api.errors import problem
from api.openapi import errors
from api.schemas.common import FirmSlugPath
from api.schemas.sso import SamlConfigCreate, SamlConfigList, SamlConfigRead, SamlConfigUpdate
from api.session_cookie import set_session_cookie
from core.config import Settings
from core.errors import Conflict
from core.permissions import Permission
from core.principal import Principal
from core.roles import Role
from models import SamlConfig
from services.sso import config as sso_config
from services.sso import flow
from services.sso.errors import SSO_FAILED, SsoRefused
from services.sso.relay import RELAY_STATE_TTL

router = APIRouter()
log = logging.getLogger("firmflow.sso")

Manager = Annotated[Principal, Requires(Permission.sso_manage)]
RELAY_COOKIE = "ff_saml_relay"
SAML_XML = "application/samlmetadata+xml"


def _request_id(request: Request) -> str | None:
    request_id: str | None = getattr(request.state, "request_id", None)
    return request_id


def _acs_path(firm_slug: str) -> str:
    """The relay cookie's path; ``firm_slug`` has passed FirmSlugPath, so it holds nothing
    a header could not carry or a cookie would read as an attribute."""
    return f"/v1/sso/{firm_slug}/acs"


async def _read(
    settings: Settings, session: SessionDep, principal: Principal, config: SamlConfig
) -> SamlConfigRead:
    slug = await sso_config.firm_slug(session, principal)
    return SamlConfigRead.from_model(config, public_url=settings.public_url, firm_slug=slug)


@router.get("/sso-configs")
async def list_sso_configs(
    settings: SettingsDep, principal: Manager, session: SessionDep
) -> SamlConfigList:
    configs = await sso_config.list_configs(session, principal)
    return SamlConfigList(items=[await _read(settings, session, principal, c) for c in configs])


@router.post("/sso-configs", status_code=status.HTTP_201_CREATED, responses=errors(Conflict))
async def create_sso_config(
    body: SamlConfigCreate, settings: SettingsDep, principal: Manager, session: SessionDep
) -> SamlConfigRead:
    """Upload the IdP's metadata XML (it is never fetched from a URL) and the mapping."""
    fields = body.model_dump()
    if fields["default_role"] is not None:
        fields["default_role"] = Role(fields["default_role"])
    config = await sso_config.create_config(session, principal, **fields)
    return await _read(settings, session, principal, config)


@router.get("/sso-configs/{sso_config_id}")
async def get_sso_config(
    sso_config_id: uuid.UUID, settings: SettingsDep, principal: Manager, session: SessionDep
) -> SamlConfigRead:
    config = await sso_config.get_config(session, principal, sso_config_id)
    return await _read(settings, session, principal, config)


@router.patch("/sso-configs/{sso_config_id}", responses=errors(Conflict))
async def update_sso_config(
    sso_config_id: uuid.UUID,
    body: SamlConfigUpdate,
    settings: SettingsDep,
    principal: Manager,
    session: SessionDep,
) -> SamlConfigRead:
    config = await sso_config.update_config(session, principal, sso_config_id, **body.changes())
    return await _read(settings, session, principal, config)


@router.delete("/sso-configs/{sso_config_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_sso_config(
    sso_config_id: uuid.UUID, principal: Manager, session: SessionDep
) -> None:
    await sso_config.delete_config(session, principal, sso_config_id)


@router.get(
    "/sso/{firm_slug}/metadata",
    response_class=Response,
    responses={200: {"content": {SAML_XML: {"schema": {"type": "string"}}}}},
)
async def sp_metadata(
    firm_slug: FirmSlugPath, session: SessionDep, settings: SettingsDep
) -> Response:
    """The SP metadata to load into the IdP (entity id, ACS URL, signed assertions wanted)."""
    xml = await flow.sp_metadata(session, firm_slug, public_url=settings.public_url)
    return Response(xml, media_type=SAML_XML)


@router.get(
    "/sso/{firm_slug}/login",
    response_class=RedirectResponse,
    status_code=status.HTTP_303_SEE_OTHER,
)
async def sso_login(
    firm_slug: FirmSlugPath, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    """Redirect the browser to the IdP with an AuthnRequest (HTTP-Redirect binding)."""
    start = await flow.begin_login(session, firm_slug, public_url=settings.public_url)
    response = RedirectResponse(start.location, status_code=status.HTTP_303_SEE_OTHER)
    # The IdP posts back cross-site, which a SameSite=Lax cookie would not survive: None
    # (which browsers accept only with Secure, also on http://localhost) and a path that
    # reaches the ACS alone.
    response.set_cookie(
        RELAY_COOKIE,
        start.relay_state,
        max_age=int(RELAY_STATE_TTL.total_seconds()),
        httponly=True,
        secure=True,
        samesite="none",
        path=_acs_path(firm_slug),
    )
    return response


@router.post(
    "/sso/{firm_slug}/acs",
    response_class=RedirectResponse,
    status_code=status.HTTP_303_SEE_OTHER,
    responses=errors(SsoRefused),
)
async def sso_acs(
    firm_slug: FirmSlugPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    saml_response: Annotated[str | None, Form(alias="SAMLResponse")] = None,
    relay_state: Annotated[str | None, Form(alias="RelayState")] = None,
    relay_cookie: Annotated[str | None, Cookie(alias=RELAY_COOKIE)] = None,
) -> Response:
    """Consume the IdP's response (HTTP-POST binding); on success set the session cookie
    and send the browser to the app."""
    request_id = _request_id(request)
    ttl = timedelta(hours=settings.session_ttl_hours)
    response: Response
    try:
        issued = await flow.complete_login(
            session,
            firm_slug,
            public_url=settings.public_url,
            saml_response=saml_response,
            posted_relay_state=relay_state,
            cookie_relay_state=relay_cookie,
            ttl=ttl,
            request_id=request_id,
        )
    except SsoRefused as refused:
        # Returned, not raised: the request's transaction commits, so the RelayState and
        # the assertion id stay spent.
        log.warning(
            "SAML login refused: %s",
            refused.reason,
            extra={"firm_slug": firm_slug, "request_id": request_id},
        )
        response = problem(refused.status, refused.title, refused.slug, SSO_FAILED, request)
    else:
        response = RedirectResponse(settings.public_url, status_code=status.HTTP_303_SEE_OTHER)
        set_session_cookie(response, issued.token, settings, int(ttl.total_seconds()))
    response.delete_cookie(
        RELAY_COOKIE, path=_acs_path(firm_slug), secure=True, httponly=True, samesite="none"
    )
    return response
