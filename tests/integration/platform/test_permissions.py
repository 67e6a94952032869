"""The permission model: every route of the app declares a permission or is public, every
role gets exactly what core.permissions grants it, and a few hand-written expectations pin
the table itself (so a wrong row cannot pass by agreeing with itself)."""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.deps import PermissionCheck
from core.config import Settings
from core.db import scope_to_firm
from core.permissions import (
    PUBLIC_ROUTES,
    ROLE_PERMISSIONS,
    Permission,
    PermissionDenied,
    allows,
    require,
    roles_with,
)
from core.roles import Role
from services.tokens import issue_login_session
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, bearer

DENIED = "https://firmflow.dev/problems/permission-denied"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "permissions.md"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    # What the route declares (through Requires); empty for none.
    permissions: tuple[Permission, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self) -> str:
        """The path with a fresh id in every parameter: no route is reached for a real
        record, and a permission check comes before any lookup."""
        return re.sub(r"{\w+(?::\w+)?}", lambda _: str(uuid.uuid4()), self.path)


def _declared(dependant: Dependant) -> Iterator[Permission]:
    if isinstance(dependant.call, PermissionCheck):
        yield dependant.call.permission
    for sub in dependant.dependencies:
        yield from _declared(sub)


def endpoints() -> list[Endpoint]:
    app = create_app(Settings(_env_file=None), sessionmaker=async_sessionmaker())
    found = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path_format
        if path is None:
            continue
        declared = tuple(_declared(route.dependant)) if isinstance(route, APIRoute) else ()
        for method in sorted(context.methods or ()):
            if method not in {"HEAD", "OPTIONS"}:
                found.append(Endpoint(method, path, declared))
    return found


ENDPOINTS = endpoints()
PROTECTED = [e for e in ENDPOINTS if (e.method, e.path) not in PUBLIC_ROUTES]


def test_the_enumeration_sees_the_routes_it_must() -> None:
    """Guards against the route walk silently finding nothing."""
    found = {(e.method, e.path): e.permissions for e in ENDPOINTS}
    assert found[("POST", "/v1/clients")] == (Permission.clients_write,)
    assert found[("GET", "/v1/audit-events")] == (Permission.audit_read,)
    assert found[("GET", "/v1/me/sessions")] == (Permission.account,)
    assert ("GET", "/openapi.json") in found


def test_every_route_declares_one_permission_or_is_public() -> None:
    undeclared = sorted(str(e) for e in PROTECTED if not e.permissions)
    assert not undeclared, (
        f"Routes without a permission: {undeclared}. Declare one with "
        "`principal: Annotated[Principal, Requires(Permission.x)]` (api.deps), or, if "
        "it must work signed out, add it to PUBLIC_ROUTES in core/permissions.py"
    )
    several = sorted(str(e) for e in PROTECTED if len(set(e.permissions)) > 1)
    assert not several, f"Routes declaring more than one permission: {several}"


def test_public_routes_exist_and_declare_nothing() -> None:
    present = {(e.method, e.path) for e in ENDPOINTS}
    assert present >= PUBLIC_ROUTES, f"stale public entries: {PUBLIC_ROUTES - present}"
    declaring = sorted(
        str(e) for e in ENDPOINTS if (e.method, e.path) in PUBLIC_ROUTES and e.permissions
    )
    assert not declaring, f"public routes must not ask for a permission: {declaring}"


def test_the_table_covers_every_role_and_owners_hold_everything() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert ROLE_PERMISSIONS[Role.owner] == frozenset(Permission)
    # Each role's grants are a subset of the roles above it. Staff (the firm's work) and
    # builders (its automations) are side by side, neither above the other.
    above = [
        (Role.client, Role.staff),
        (Role.client, Role.builder),
        (Role.staff, Role.admin),
        (Role.builder, Role.admin),
        (Role.admin, Role.owner),
    ]
    for lower, higher in above:
        assert ROLE_PERMISSIONS[lower] <= ROLE_PERMISSIONS[higher], (lower, higher)
    assert ROLE_PERMISSIONS[Role.builder] != ROLE_PERMISSIONS[Role.staff]
    assert roles_with(Permission.audit_read) == {Role.owner, Role.admin}
    assert roles_with(Permission.account) == set(Role)


def test_docs_table_matches_the_code() -> None:
    rows = [line for line in DOCS.read_text().splitlines() if line.startswith("| `")]
    documented = {}
    header = next(line for line in DOCS.read_text().splitlines() if line.startswith("| perm"))
    roles = [Role(cell.strip()) for cell in header.strip("|").split("|")[1:]]
    for row in rows:
        name, *marks = (cell.strip() for cell in row.strip("|").split("|"))
        documented[Permission(name.strip("`"))] = {
            role for role, mark in zip(roles, marks, strict=True) if mark == "yes"
        }
    assert documented == {p: set(roles_with(p)) for p in Permission}, (
        "docs/permissions.md disagrees with core.permissions.ROLE_PERMISSIONS"
    )


def test_require_refuses_with_a_problem_naming_the_permission() -> None:
    require(Role.staff, Permission.clients_write)
    with pytest.raises(PermissionDenied) as refused:
        require(Role.builder, Permission.clients_write)
    assert refused.value.status == 403
    assert "clients:write" in refused.value.detail and "builder" in refused.value.detail


# Written by hand from the product rules, not from the table: (role, method, path) → may.
PINNED: dict[tuple[Role, str, str], bool] = {
    (Role.client, "GET", "/v1/clients"): True,
    (Role.client, "GET", "/v1/clients/{client_id}/contacts"): True,
    (Role.client, "POST", "/v1/clients"): False,
    (Role.client, "GET", "/v1/users"): False,
    (Role.client, "GET", "/v1/audit-events"): False,
    (Role.client, "GET", "/v1/clients/imports"): False,
    (Role.client, "GET", "/v1/api-tokens"): True,
    (Role.client, "GET", "/v1/me/sessions"): True,
    (Role.builder, "GET", "/v1/users"): True,
    (Role.builder, "PATCH", "/v1/clients/{client_id}"): False,
    (Role.builder, "POST", "/v1/clients/imports"): False,
    (Role.staff, "POST", "/v1/clients/imports"): True,
    (Role.staff, "DELETE", "/v1/clients/{client_id}/contacts/{contact_id}"): True,
    (Role.staff, "POST", "/v1/users"): False,
    (Role.staff, "GET", "/v1/audit-events"): False,
    (Role.admin, "POST", "/v1/users"): True,
    (Role.admin, "PATCH", "/v1/users/{user_id}"): True,
    (Role.admin, "GET", "/v1/audit-events"): True,
    (Role.owner, "GET", "/v1/audit-events"): True,
}


def test_pinned_expectations_agree_with_the_table() -> None:
    declared = {(e.method, e.path): e.permissions for e in ENDPOINTS}
    disagree = [
        (role.value, method, path, may)
        for (role, method, path), may in PINNED.items()
        if allows(role, declared[(method, path)][0]) != may
    ]
    assert not disagree, f"the table (or a route's declaration) disagrees with: {disagree}"


async def call(client: AsyncClient, db: AsyncSession, actor: Actor, endpoint: Endpoint) -> Response:
    """One request as ``actor``, with a login session of its own: a call that signs out
    (logout, revoke-all) cannot disturb the next."""
    await scope_to_firm(db, actor.firm.id)
    expires_at = datetime.now(UTC) + timedelta(hours=1)
    _, token = await issue_login_session(db, actor.user, expires_at=expires_at)
    await db.commit()
    return await client.request(endpoint.method, endpoint.url(), headers=bearer(token))


def is_denied(response: Response) -> bool:
    return response.status_code == 403 and response.json().get("type") == DENIED


@pytest.fixture
async def actors(db: AsyncSession) -> dict[Role, Actor]:
    owner = await make_firm(db)
    team = {Role.owner: owner}
    for role in Role:
        if role != Role.owner:
            team[role] = await add_user(db, owner, role)
    return team


@pytest.mark.parametrize("role", list(Role), ids=str)
async def test_each_role_gets_what_the_table_grants_on_every_route(
    client: AsyncClient, db: AsyncSession, actors: dict[Role, Actor], role: Role
) -> None:
    wrong = []
    # Routes declaring no permission fail test_every_route_declares_one_permission_or_is_public.
    for endpoint in (e for e in PROTECTED if e.permissions):
        permission = endpoint.permissions[0]
        response = await call(client, db, actors[role], endpoint)
        if response.status_code == 401 or is_denied(response) == allows(role, permission):
            wrong.append(f"{endpoint} ({permission.value}): {response.status_code}")
    assert not wrong, f"{role.value} is treated against the table on: {wrong}"


async def test_pinned_expectations_hold_over_http(
    client: AsyncClient, db: AsyncSession, actors: dict[Role, Actor]
) -> None:
    by_route = {(e.method, e.path): e for e in ENDPOINTS}
    for (role, method, path), may in PINNED.items():
        response = await call(client, db, actors[role], by_route[(method, path)])
        if may:
            assert not is_denied(response) and response.status_code != 401, (role, path)
        else:
            body = assert_problem(response, 403)
            assert body["type"] == DENIED and role.value in body["detail"], (role, path)


async def test_every_protected_route_refuses_the_anonymous(client: AsyncClient) -> None:
    answered = {str(e): (await client.request(e.method, e.url())).status_code for e in PROTECTED}
    assert {route for route, status in answered.items() if status != 401} == set()
