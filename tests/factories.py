"""Test data built through the real services (never by hand-written SQL)."""

import uuid
from dataclasses import dataclass
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.principal import Principal
from core.roles import Role
from core.security import hash_password
from models import Firm, User
from services.clients import create_client, validate_client_fields
from services.firms import create_firm_with_owner
from services.tokens import issue_api_token

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Actor:
    firm: Firm
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def principal_of(actor: Actor) -> Principal:
    """``actor`` calling a service directly, as their API token would through the API."""
    return Principal(
        firm_id=actor.firm.id,
        user_id=actor.user.id,
        role=actor.user.role,
        credential="api_token",
        client_id=actor.user.client_id,
    )


async def make_firm(
    session: AsyncSession,
    name: str = "Acme Accounting",
    *,
    time_zone: str = "UTC",
    default_currency: str = "USD",
) -> Actor:
    """A firm with an owner and the owner's API token, committed to the session's
    transaction (a savepoint inside the test's transaction)."""
    suffix = uuid.uuid4().hex[:8]
    created = await create_firm_with_owner(
        session,
        firm_name=f"{name} {suffix}",
        slug=f"firm-{suffix}",
        owner_email=f"owner-{suffix}@example.com",
        owner_password=PASSWORD,
        time_zone=time_zone,
        default_currency=default_currency,
    )
    _, token = await issue_api_token(session, created.owner, "tests")
    await session.commit()
    return Actor(firm=created.firm, user=created.owner, token=token)


async def berlin_firm(session: AsyncSession) -> Actor:
    """A firm in Europe/Berlin that bills in EUR: the calendar dunning and recurring
    invoices count days in."""
    return await make_firm(session, "Kanzlei", time_zone="Europe/Berlin", default_currency="EUR")


async def new_client(
    http: AsyncClient, actor: Actor, name: str = "Northwind", **fields: Any
) -> str:
    """A client of ``actor``'s firm created through the API; its id."""
    response = await http.post("/v1/clients", json={"name": name, **fields}, headers=actor.headers)
    assert response.status_code == 201, response.text
    client_id: str = response.json()["id"]
    return client_id


async def add_user(
    session: AsyncSession, actor: Actor, role: Role, *, client_id: uuid.UUID | None = None
) -> Actor:
    """A user of ``actor``'s firm; a client-role user belongs to ``client_id``, or to a
    new client made for them when it is omitted."""
    await scope_to_firm(session, actor.firm.id)
    if role == Role.client and client_id is None:
        client = await create_client(
            session,
            Principal.system(actor.firm.id),
            fields=validate_client_fields({"name": f"Client {uuid.uuid4().hex[:8]}"}),
        )
        client_id = client.id
    user = User(
        firm_id=actor.firm.id,
        email=f"{role.value}-{uuid.uuid4().hex[:8]}@example.com",
        password_hash=hash_password(PASSWORD),
        role=role,
        client_id=client_id,
    )
    session.add(user)
    await session.flush()
    _, token = await issue_api_token(session, user, "tests")
    await session.commit()
    return Actor(firm=actor.firm, user=user, token=token)
