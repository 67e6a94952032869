"""A firm's SAML configuration through the API: who may manage it, what metadata is
accepted, updates and their audit trail, tenancy, the SP metadata, and enforce-SSO."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from services.auth import BAD_CREDENTIALS
from services.sso import sso_enforced_for
from tests.audit import audit_events
from tests.factories import PASSWORD, Actor, add_user, make_firm
from tests.problems import assert_problem, pointers
from tests.saml_idp import TestIdP, new_directory, remove_directory

CONFIGS = "/v1/sso-configs"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"


@pytest.fixture(scope="module")
def idp_directory() -> Iterator[Path]:
    directory = new_directory()
    yield directory
    remove_directory(directory)


@pytest.fixture(scope="module")
def idp(idp_directory: Path) -> TestIdP:
    return TestIdP(idp_directory, "entra")


@pytest.fixture(scope="module")
def second_idp(idp_directory: Path) -> TestIdP:
    return TestIdP(idp_directory, "google")


async def create(client: AsyncClient, actor: Actor, idp: TestIdP, **extra: Any) -> Any:
    response = await client.post(
        CONFIGS, json={"idp_metadata_xml": idp.metadata_xml, **extra}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_owner_uploads_idp_metadata_and_reads_the_sp_side(
    client: AsyncClient, db: AsyncSession, owner: Actor, idp: TestIdP
) -> None:
    body = await create(
        client,
        owner,
        idp,
        groups_attribute="groups",
        role_mapping={"accountants": "staff"},
        default_role="builder",
        jit_provisioning=True,
    )

    base = f"http://127.0.0.1:8000/v1/sso/{owner.firm.slug}"
    assert body["idp_entity_id"] == idp.entity_id
    assert body["sp_entity_id"] == f"{base}/metadata"
    assert body["acs_url"] == f"{base}/acs"
    assert body["role_mapping"] == {"accountants": "staff"}
    assert body["default_role"] == "builder"
    assert body["email_attribute"] == "email"
    assert (body["enabled"], body["enforce_sso"], body["allow_idp_initiated"]) == (
        True,
        False,
        False,
    )
    assert "idp_metadata_xml" not in body
    listed = await client.get(CONFIGS, headers=owner.headers)
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    got = await client.get(f"{CONFIGS}/{body['id']}", headers=owner.headers)
    assert got.json() == body
    [event] = await audit_events(db, owner.firm.id, record_type="sso_config")
    assert event.action == "sso.config_created"
    assert event.actor_id == owner.user.id
    assert event.summary["after"]["idp_entity_id"] == idp.entity_id
    assert "idp_metadata_xml" not in event.summary["after"]


async def test_sp_metadata_names_our_entity_id_acs_and_wants_signed_assertions(
    client: AsyncClient, owner: Actor, idp: TestIdP
) -> None:
    body = await create(client, owner, idp)

    response = await client.get(f"/v1/sso/{owner.firm.slug}/metadata")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/samlmetadata+xml")
    root = fromstring(response.text)
    assert root.get("entityID") == body["sp_entity_id"]
    sp = root.find(f"{{{MD}}}SPSSODescriptor")
    assert sp is not None
    assert sp.get("WantAssertionsSigned") == "true"
    [acs] = sp.findall(f"{{{MD}}}AssertionConsumerService")
    assert acs.get("Location") == body["acs_url"]
    assert acs.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


async def test_admin_may_configure_and_staff_may_not(
    client: AsyncClient, db: AsyncSession, owner: Actor, idp: TestIdP
) -> None:
    admin = await add_user(db, owner, Role.admin)
    staff = await add_user(db, owner, Role.staff)

    denied = await client.post(
        CONFIGS, json={"idp_metadata_xml": idp.metadata_xml}, headers=staff.headers
    )
    assert_problem(denied, 403)
    assert_problem(await client.get(CONFIGS, headers=staff.headers), 403)
    body = await create(client, admin, idp)
    assert_problem(await client.get(f"{CONFIGS}/{body['id']}", headers=staff.headers), 403)
    assert_problem(await client.get(CONFIGS), 401)


@pytest.mark.parametrize(
    ("metadata", "detail"),
    [
        ("<not xml", "not valid SAML 2.0 metadata"),
        ("<html><body>Sign in</body></html>", "exactly one identity provider"),
        ("sp", "exactly one identity provider"),
        ("unsigned", "no signing certificate"),
        ("post-only", "no HTTP-Redirect"),
    ],
)
async def test_unusable_metadata_is_422(
    client: AsyncClient, owner: Actor, idp: TestIdP, metadata: str, detail: str
) -> None:
    if metadata == "sp":
        await create(client, owner, idp)
        # Our own SP metadata describes no IdP (and is checked before the existing config).
        xml = (await client.get(f"/v1/sso/{owner.firm.slug}/metadata")).text
    else:
        xml = idp.metadata_xml
        if metadata == "unsigned":
            xml = re.sub(r"<ns0:KeyDescriptor.*?</ns0:KeyDescriptor>", "", xml, flags=re.DOTALL)
            assert "KeyDescriptor" not in xml
        elif metadata == "post-only":
            xml = xml.replace("HTTP-Redirect", "HTTP-POST")
        elif metadata.startswith("<"):
            xml = metadata
    response = await client.post(CONFIGS, json={"idp_metadata_xml": xml}, headers=owner.headers)

    body = assert_problem(response, 422)
    assert detail in body["detail"]
    assert pointers(body) == {"/idp_metadata_xml"}


@pytest.mark.parametrize(
    "extra",
    [
        {"role_mapping": {"it": "owner"}},
        {"default_role": "owner"},
        {"default_role": "client"},
        {"role_mapping": {"portal": "client"}},
        {"role_mapping": {"it": "superuser"}},
        {"email_attribute": ""},
        {"metadata_url": "https://idp.example/metadata"},
    ],
    ids=[
        "owner-by-group",
        "owner-by-default",
        "client-by-default",
        "client-by-group",
        "unknown-role",
        "empty-attribute",
        "url",
    ],
)
async def test_invalid_settings_are_422(
    client: AsyncClient, owner: Actor, idp: TestIdP, extra: dict[str, Any]
) -> None:
    response = await client.post(
        CONFIGS, json={"idp_metadata_xml": idp.metadata_xml, **extra}, headers=owner.headers
    )
    assert_problem(response, 422)
    assert (await client.get(CONFIGS, headers=owner.headers)).json() == {"items": []}


async def test_a_second_configuration_is_409(
    client: AsyncClient, owner: Actor, idp: TestIdP, second_idp: TestIdP
) -> None:
    await create(client, owner, idp)
    response = await client.post(
        CONFIGS, json={"idp_metadata_xml": second_idp.metadata_xml}, headers=owner.headers
    )
    assert_problem(response, 409)


async def test_update_changes_only_what_is_sent_and_is_audited(
    client: AsyncClient, db: AsyncSession, owner: Actor, idp: TestIdP, second_idp: TestIdP
) -> None:
    body = await create(client, owner, idp, name_attribute="displayName")

    response = await client.patch(
        f"{CONFIGS}/{body['id']}",
        json={
            "enforce_sso": True,
            "email_attribute": None,
            "idp_metadata_xml": second_idp.metadata_xml,
        },
        headers=owner.headers,
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["enforce_sso"] is True
    assert updated["email_attribute"] is None
    assert updated["name_attribute"] == "displayName"
    assert updated["idp_entity_id"] == second_idp.entity_id
    events = await audit_events(db, owner.firm.id, record_type="sso_config")
    assert [e.action for e in events] == ["sso.config_created", "sso.config_updated"]
    assert events[1].summary["before"]["enforce_sso"] is False
    assert events[1].summary["after"]["enforce_sso"] is True
    assert events[1].summary["after"]["metadata_replaced"] is True
    bad = await client.patch(
        f"{CONFIGS}/{body['id']}", json={"idp_metadata_xml": "<x/>"}, headers=owner.headers
    )
    assert_problem(bad, 422)
    unchanged = await client.get(f"{CONFIGS}/{body['id']}", headers=owner.headers)
    assert unchanged.json()["idp_entity_id"] == second_idp.entity_id


async def test_delete_removes_the_configuration_and_sso_with_it(
    client: AsyncClient, db: AsyncSession, owner: Actor, idp: TestIdP
) -> None:
    body = await create(client, owner, idp)

    response = await client.delete(f"{CONFIGS}/{body['id']}", headers=owner.headers)

    assert response.status_code == 204
    assert_problem(await client.get(f"{CONFIGS}/{body['id']}", headers=owner.headers), 404)
    assert_problem(await client.get(f"/v1/sso/{owner.firm.slug}/login"), 404)
    events = await audit_events(db, owner.firm.id, record_type="sso_config")
    assert [e.action for e in events] == ["sso.config_created", "sso.config_deleted"]


async def test_another_firms_configuration_is_404(
    client: AsyncClient, db: AsyncSession, owner: Actor, idp: TestIdP
) -> None:
    body = await create(client, owner, idp)
    stranger = await make_firm(db, "Stranger")
    path = f"{CONFIGS}/{body['id']}"

    assert_problem(await client.get(path, headers=stranger.headers), 404)
    patched = await client.patch(path, json={"enabled": False}, headers=stranger.headers)
    assert_problem(patched, 404)
    assert_problem(await client.delete(path, headers=stranger.headers), 404)
    assert (await client.get(CONFIGS, headers=stranger.headers)).json() == {"items": []}
    still = await client.get(path, headers=owner.headers)
    assert still.json() == body


async def test_sso_is_enforced_for_non_owners_of_an_enforcing_firm_only(
    client: AsyncClient, db: AsyncSession, owner: Actor, idp: TestIdP
) -> None:
    staff = await add_user(db, owner, Role.staff)
    admin = await add_user(db, owner, Role.admin)
    await scope_to_firm(db, owner.firm.id)
    assert not await sso_enforced_for(db, owner.firm.id, staff.user)
    body = await create(client, owner, idp)
    assert not await sso_enforced_for(db, owner.firm.id, staff.user)

    await client.patch(f"{CONFIGS}/{body['id']}", json={"enforce_sso": True}, headers=owner.headers)

    await scope_to_firm(db, owner.firm.id)
    assert await sso_enforced_for(db, owner.firm.id, staff.user)
    assert await sso_enforced_for(db, owner.firm.id, admin.user)
    assert not await sso_enforced_for(db, owner.firm.id, owner.user)
    await client.patch(f"{CONFIGS}/{body['id']}", json={"enabled": False}, headers=owner.headers)
    await scope_to_firm(db, owner.firm.id)
    assert not await sso_enforced_for(db, owner.firm.id, staff.user)


async def test_password_login_is_refused_for_non_owners_when_sso_is_enforced(
    client: AsyncClient, db: AsyncSession, owner: Actor, idp: TestIdP
) -> None:
    staff = await add_user(db, owner, Role.staff)
    body = await create(client, owner, idp)

    def login(actor: Actor) -> dict[str, str]:
        return {"email": actor.user.email, "password": PASSWORD, "firm_slug": owner.firm.slug}

    allowed = await client.post("/v1/auth/login", json=login(staff))
    assert allowed.status_code == 200, allowed.text
    await client.patch(f"{CONFIGS}/{body['id']}", json={"enforce_sso": True}, headers=owner.headers)

    refused = await client.post("/v1/auth/login", json=login(staff))
    wrong = await client.post("/v1/auth/login", json={**login(staff), "password": "x" * 20})
    # The right password earns exactly the answer a wrong one gets.
    assert assert_problem(refused, 401)["detail"] == BAD_CREDENTIALS
    assert assert_problem(wrong, 401)["detail"] == BAD_CREDENTIALS
    owners = await client.post("/v1/auth/login", json=login(owner))
    assert owners.status_code == 200, owners.text
