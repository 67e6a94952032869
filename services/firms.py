"""Firms: creating one with its first owner (signup, the dev seed, tests)."""

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, scope_to_firm, system_scope
from core.errors import Conflict
from core.principal import Principal
from core.security import hash_password
from models import Firm, Role, User
from services import audit


@dataclass(frozen=True)
class NewFirm:
    firm: Firm
    owner: User


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:63] or "firm"


async def create_firm_with_owner(
    session: AsyncSession,
    *,
    firm_name: str,
    slug: str | None,
    owner_email: str,
    owner_password: str,
    owner_name: str = "",
    time_zone: str = "UTC",
    default_currency: str = "USD",
    request_id: str | None = None,
) -> NewFirm:
    slug = slug or slugify(firm_name)
    async with system_scope(session, SystemPurpose.signup):
        taken = await session.scalar(select(Firm.id).where(Firm.slug == slug))
    if taken is not None:
        raise Conflict(f"The firm slug '{slug}' is taken")
    firm_id = uuid.uuid4()
    await scope_to_firm(session, firm_id)
    firm = Firm(
        id=firm_id,
        name=firm_name,
        slug=slug,
        time_zone=time_zone,
        default_currency=default_currency,
    )
    session.add(firm)
    await session.flush()
    owner = User(
        firm_id=firm_id,
        email=owner_email.lower(),
        name=owner_name,
        password_hash=hash_password(owner_password),
        role=Role.owner,
    )
    session.add(owner)
    await session.flush()
    principal = Principal(
        firm_id=firm_id,
        user_id=owner.id,
        role=Role.owner,
        credential="signup",
        request_id=request_id,
    )
    await audit.record(
        session,
        principal,
        action="firm.created",
        record_type="firm",
        record_id=firm_id,
        after={"name": firm_name, "slug": slug},
    )
    return NewFirm(firm=firm, owner=owner)
