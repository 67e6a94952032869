"""From a verified assertion to a user of the firm: match by email, or create one just in
time when the firm allows it, with the role its group mapping gives."""

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from core.roles import Role
from models import Firm, SamlConfig, User
from services import audit
from services.sso.errors import SsoRefused
from services.sso.saml import VerifiedAssertion

# Highest privilege first: a member of several mapped groups gets the strongest role.
ROLE_RANK = (Role.admin, Role.staff, Role.builder)
# Roles given inside firmflow only: an owner, and a client-role user tied to one client.
_KEPT_ROLES = (Role.owner, Role.client)
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,255}")


@dataclass(frozen=True)
class Identity:
    email: str
    name: str
    role: Role | None


def identity_from(config: SamlConfig, assertion: VerifiedAssertion) -> Identity:
    """The mapped attributes, or a refusal: never an exception of another kind."""
    if config.email_attribute:
        emails = assertion.attributes.get(config.email_attribute, [])
    else:
        emails = [assertion.name_id] if assertion.name_id else []
    if len(emails) != 1 or not _EMAIL.fullmatch(emails[0]) or len(emails[0]) > 320:
        raise SsoRefused(f"email attribute missing or malformed: {len(emails)} values")
    names = assertion.attributes.get(config.name_attribute, []) if config.name_attribute else []
    groups = (
        assertion.attributes.get(config.groups_attribute, []) if config.groups_attribute else []
    )
    mapped = {Role(config.role_mapping[g]) for g in groups if g in config.role_mapping}
    role = next((r for r in ROLE_RANK if r in mapped), None)
    return Identity(email=emails[0].lower(), name=(names[0] if names else "")[:200], role=role)


async def user_for(
    session: AsyncSession,
    firm: Firm,
    config: SamlConfig,
    identity: Identity,
    request_id: str | None,
) -> User:
    user = await session.scalar(
        select(User).where(User.firm_id == firm.id, func.lower(User.email) == identity.email)
    )
    system = Principal.system(firm.id, request_id)
    if user is not None:
        if not user.is_active:
            raise SsoRefused(f"user {user.id} is deactivated")
        if identity.role is not None and user.role not in (*_KEPT_ROLES, identity.role):
            # The IdP's groups are the source of truth for mapped roles; owners and
            # client-role users are only ever changed inside firmflow.
            before = user.role.value
            user.role = identity.role
            await session.flush()
            await audit.record(
                session,
                system,
                action="user.role_changed",
                record_type="user",
                record_id=user.id,
                before={"role": before},
                after={"role": identity.role.value, "source": "sso"},
            )
        return user
    if not config.jit_provisioning:
        raise SsoRefused("unknown user and just-in-time provisioning is off")
    role = identity.role or config.default_role
    if role is None:
        raise SsoRefused("no mapped group and no default role for a new user")
    user = User(
        firm_id=firm.id,
        email=identity.email,
        name=identity.name,
        password_hash=None,
        role=role,
        is_active=True,
    )
    session.add(user)
    await session.flush()
    await audit.record(
        session,
        system,
        action="user.provisioned",
        record_type="user",
        record_id=user.id,
        after={"email": user.email, "role": role.value, "source": "sso"},
    )
    return user
