"""Replay cache: each assertion id is accepted once per firm, and remembered in Postgres
until the assertion itself expires (after that pysaml2 refuses it on its dates anyway)."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import SamlAssertionSeen
from services.sso.errors import SsoRefused


async def accept_once(
    session: AsyncSession, firm_id: uuid.UUID, assertion_id: str, expires_at: datetime
) -> None:
    await session.execute(
        delete(SamlAssertionSeen).where(
            SamlAssertionSeen.firm_id == firm_id,
            SamlAssertionSeen.expires_at < datetime.now(UTC),
        )
    )
    # ON CONFLICT rather than a read first: two concurrent posts of one assertion race on
    # the unique key, and exactly one of them inserts.
    inserted = await session.scalar(
        insert(SamlAssertionSeen)
        .values(id=uuid.uuid4(), firm_id=firm_id, assertion_id=assertion_id, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=["firm_id", "assertion_id"])
        .returning(SamlAssertionSeen.id)
    )
    if inserted is None:
        raise SsoRefused(f"assertion {assertion_id} was already used")
