"""Firms: creating one with its first owner (signup, the dev seed, tests)."""

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, scope_to_firm, system_scope
from core.errors import Conflict, Forbidden
from core.principal import Principal
from core.roles import Role
from core.security import hash_password
from models import Firm, User
from services import audit
from services.tokens import IssuedSession, start_session

SIGNUP_DISABLED = (
    "Self-service signup is turned off on this server; "
    "ask an administrator of your firm for an invitation"
)


@dataclass(frozen=True)
class NewFirm:
    firm: Firm
    owner: User


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:63].rstrip("-") or "firm"


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
    taken_detail = f"The firm slug '{slug}' is taken; choose another"
    async with system_scope(session, SystemPurpose.signup):
        taken = await session.scalar(select(Firm.id).where(Firm.slug == slug))
    if taken is not None:
        raise Conflict(taken_detail)
    password_hash = await asyncio.to_thread(hash_password, owner_password)
    firm_id = uuid.uuid4()
    await scope_to_firm(session, firm_id)
    firm = Firm(
        id=firm_id,
        name=firm_name,
        slug=slug,
        time_zone=time_zone,
        default_currency=default_currency,
    )
    try:
        # A concurrent signup may take the slug between the check and the insert.
        async with session.begin_nested():
            session.add(firm)
    except IntegrityError as exc:
        raise Conflict(taken_detail) from exc
    owner = User(
        firm_id=firm_id,
        email=owner_email.lower(),
        name=owner_name,
        password_hash=password_hash,
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
        after={"name": firm_name, "slug": slug, "owner_id": str(owner.id)},
    )
    return NewFirm(firm=firm, owner=owner)


async def signup(
    session: AsyncSession,
    *,
    enabled: bool,
    firm_name: str,
    slug: str | None,
    owner_email: str,
    owner_password: str,
    owner_name: str,
    time_zone: str,
    default_currency: str,
    session_ttl: timedelta,
    request_id: str | None,
) -> IssuedSession:
    """Self-service signup: a new firm, its owner, and the owner signed in."""
    if not enabled:
        raise Forbidden(SIGNUP_DISABLED)
    created = await create_firm_with_owner(
        session,
        firm_name=firm_name,
        slug=slug,
        owner_email=owner_email,
        owner_password=owner_password,
        owner_name=owner_name,
        time_zone=time_zone,
        default_currency=default_currency,
        request_id=request_id,
    )
    return await start_session(
        session,
        created.owner,
        created.firm,
        ttl=session_ttl,
        method="signup",
        request_id=request_id,
    )


async def firm_today(session: AsyncSession, principal: Principal) -> date:
    """Today where the firm is (its time zone): the date a person would write down, and
    what decides whether something is overdue."""
    time_zone = await session.scalar(select(Firm.time_zone).where(Firm.id == principal.firm_id))
    return datetime.now(ZoneInfo(time_zone or "UTC")).date()
