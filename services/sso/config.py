"""A firm's SAML settings: the IdP metadata an owner or admin uploads, attribute mapping,
just-in-time provisioning and the enforce-SSO switch.

The metadata is uploaded, never fetched: the server makes no request to a URL a firm chose.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from saml2 import BINDING_HTTP_REDIRECT
from saml2.attribute_converter import ac_factory
from saml2.config import Config
from saml2.mdstore import MetadataStore
from saml2.s_utils import UnsupportedBinding
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, NotFound, Unprocessable
from core.principal import Principal
from core.roles import Role
from models import Firm, SamlConfig, User
from services import audit
from services.repository import FirmScoped

SAML_CONFIGS = FirmScoped(SamlConfig, "SSO configuration")
# Fields an update may change; the metadata is re-validated when it changes.
SETTINGS = (
    "enabled",
    "email_attribute",
    "name_attribute",
    "groups_attribute",
    "role_mapping",
    "default_role",
    "jit_provisioning",
    "enforce_sso",
    "allow_idp_initiated",
)


@dataclass(frozen=True)
class IdpMetadata:
    entity_id: str


def parse_idp_metadata(xml: str) -> IdpMetadata:
    """The one IdP described by ``xml``, which must offer an HTTP-Redirect sign-on endpoint
    and a signing certificate (without one no assertion could ever be verified)."""

    def invalid(detail: str) -> Unprocessable:
        return Unprocessable(detail, errors=[{"pointer": "/idp_metadata_xml", "detail": detail}])

    metadata = MetadataStore(ac_factory(), Config())
    try:
        metadata.load("inline", xml)
    except Exception as exc:  # pysaml2 raises many types for bad or expired metadata
        raise invalid("The IdP metadata is not valid SAML 2.0 metadata XML") from exc
    idps = list(metadata.identity_providers())
    if len(idps) != 1:
        raise invalid("The metadata must describe exactly one identity provider")
    entity_id = idps[0]
    try:
        redirect = metadata.single_sign_on_service(entity_id, BINDING_HTTP_REDIRECT)
    except UnsupportedBinding:
        redirect = []
    if not redirect:
        raise invalid("The identity provider has no HTTP-Redirect single sign-on endpoint")
    if not metadata.certs(entity_id, "idpsso", use="signing"):
        raise invalid("The identity provider metadata has no signing certificate")
    return IdpMetadata(entity_id=entity_id)


def _settings_of(config: SamlConfig) -> dict[str, Any]:
    values = {name: getattr(config, name) for name in SETTINGS}
    values["default_role"] = config.default_role.value if config.default_role else None
    values["idp_entity_id"] = config.idp_entity_id
    return values


async def list_configs(session: AsyncSession, principal: Principal) -> list[SamlConfig]:
    """At most one per firm (a unique constraint), so the list is bounded."""
    rows = await session.scalars(SAML_CONFIGS.select(principal))
    return list(rows.all())


async def get_config(
    session: AsyncSession, principal: Principal, config_id: uuid.UUID
) -> SamlConfig:
    return await SAML_CONFIGS.get_or_404(session, principal, config_id)


async def create_config(
    session: AsyncSession, principal: Principal, *, idp_metadata_xml: str, **settings: Any
) -> SamlConfig:
    metadata = parse_idp_metadata(idp_metadata_xml)
    existing = await session.scalar(
        select(SamlConfig.id).where(SAML_CONFIGS.owned_by(principal)).with_for_update()
    )
    if existing is not None:
        raise Conflict("This firm already has an SSO configuration; update that one")
    config = SamlConfig(
        firm_id=principal.firm_id,
        idp_metadata_xml=idp_metadata_xml,
        idp_entity_id=metadata.entity_id,
        **settings,
    )
    session.add(config)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="sso.config_created",
        record_type="sso_config",
        record_id=config.id,
        after=_settings_of(config),
    )
    return config


async def update_config(
    session: AsyncSession, principal: Principal, config_id: uuid.UUID, **changes: Any
) -> SamlConfig:
    config = await get_config(session, principal, config_id)
    before = _settings_of(config)
    xml = changes.pop("idp_metadata_xml", None)
    if xml is not None:
        config.idp_entity_id = parse_idp_metadata(xml).entity_id
        config.idp_metadata_xml = xml
    for name, value in changes.items():
        setattr(config, name, value)
    await session.flush()
    # updated_at is set by the database; read it back for the response.
    await session.refresh(config)
    after = _settings_of(config)
    if xml is not None or after != before:
        await audit.record(
            session,
            principal,
            action="sso.config_updated",
            record_type="sso_config",
            record_id=config.id,
            before=before,
            after={**after, "metadata_replaced": xml is not None},
        )
    return config


async def delete_config(session: AsyncSession, principal: Principal, config_id: uuid.UUID) -> None:
    config = await get_config(session, principal, config_id)
    before = _settings_of(config)
    await session.delete(config)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="sso.config_deleted",
        record_type="sso_config",
        record_id=config_id,
        before=before,
    )


async def sso_enforced_for(session: AsyncSession, firm_id: uuid.UUID, user: User) -> bool:
    """True when ``user`` must sign in through the firm's IdP rather than a password.
    Owners keep their password: they must be able to repair a broken IdP setup."""
    if user.role == Role.owner:
        return False
    enforced = await session.scalar(
        select(SamlConfig.id).where(
            SAML_CONFIGS.owned_by(firm_id),
            SamlConfig.enabled.is_(True),
            SamlConfig.enforce_sso.is_(True),
        )
    )
    return enforced is not None


async def firm_slug(session: AsyncSession, principal: Principal) -> str:
    """The slug in the firm's SP URLs (entity id, ACS), shown to whoever configures the IdP."""
    slug = await session.scalar(select(Firm.slug).where(Firm.id == principal.firm_id))
    if slug is None:
        raise NotFound("The firm no longer exists")
    return slug
