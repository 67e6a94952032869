"""Document folders (the tree per client, sibling names, moves without cycles, deleting only
empty ones) and the firm's document settings (each rule, the search configuration checked
against the database, the bytes used)."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.principal import Principal
from models import DocumentVersion, Firm
from services.clients import create_client, validate_client_fields
from tests.audit import audit_actions
from tests.factories import Actor, make_firm
from tests.problems import assert_problem, pointers

FOLDERS = "/v1/document-folders"
SETTINGS = "/v1/firm/document-settings"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def make_client(db: AsyncSession, actor: Actor) -> str:
    await scope_to_firm(db, actor.firm.id)
    client = await create_client(
        db, Principal.system(actor.firm.id), fields=validate_client_fields({"name": "Northwind"})
    )
    await db.commit()
    return str(client.id)


async def folder(api: AsyncClient, actor: Actor, **body: Any) -> dict[str, Any]:
    response = await api.post(FOLDERS, json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_folders_form_a_tree_per_client(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    client_id = await make_client(db, owner)
    firm_root = await folder(api, owner, name="Firm")
    client_root = await folder(api, owner, name="Returns", client_id=client_id)
    # A subfolder takes its parent's client.
    year = await folder(api, owner, name="2025", parent_id=client_root["id"])
    assert year["client_id"] == client_id
    # The same name under another parent, or for the firm, is fine; beside itself not.
    await folder(api, owner, name="2025", parent_id=firm_root["id"])
    await folder(api, owner, name="Returns")
    body = assert_problem(
        await api.post(
            FOLDERS, json={"name": "Returns", "client_id": client_id}, headers=owner.headers
        ),
        409,
    )
    assert pointers(body) == {"/name"}
    body = assert_problem(
        await api.post(
            FOLDERS,
            json={"name": "x", "parent_id": firm_root["id"], "client_id": client_id},
            headers=owner.headers,
        ),
        422,
    )
    assert pointers(body) == {"/client_id"}
    for bad, expected in [({"name": ""}, {"/name"}), ({"name": "a/b"}, {"/name"}), ({}, {"/name"})]:
        body = assert_problem(await api.post(FOLDERS, json=bad, headers=owner.headers), 422)
        assert pointers(body) == expected, bad
    body = assert_problem(
        await api.post(
            FOLDERS, json={"name": "x", "parent_id": str(uuid.uuid4())}, headers=owner.headers
        ),
        404,
    )
    assert pointers(body) == {"/parent_id"}

    async def names(**params: Any) -> list[str]:
        response = await api.get(FOLDERS, params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        return [f["name"] for f in response.json()["items"]]

    assert await names(client_id=client_id) == ["2025", "Returns"]
    assert await names(parent_id=client_root["id"]) == ["2025"]
    assert await names(root="true") == ["Returns", "Returns", "Firm"]


async def test_a_folder_moves_and_renames_but_never_into_itself(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    client_id = await make_client(db, owner)
    top = await folder(api, owner, name="Top")
    middle = await folder(api, owner, name="Middle", parent_id=top["id"])
    bottom = await folder(api, owner, name="Bottom", parent_id=middle["id"])
    other_client = await folder(api, owner, name="Client's", client_id=client_id)
    url = f"{FOLDERS}/{top['id']}"

    for target in (top["id"], bottom["id"], other_client["id"]):
        body = assert_problem(
            await api.patch(url, json={"parent_id": target}, headers=owner.headers), 422
        )
        assert pointers(body) == {"/parent_id"}
    body = assert_problem(await api.patch(url, json={"name": None}, headers=owner.headers), 422)
    assert pointers(body) == {"/name"}

    moved = await api.patch(
        f"{FOLDERS}/{bottom['id']}",
        json={"parent_id": None, "name": "Loose"},
        headers=owner.headers,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["parent_id"], moved.json()["name"]) == (None, "Loose")
    clash = await api.patch(
        f"{FOLDERS}/{middle['id']}", json={"parent_id": None, "name": "Top"}, headers=owner.headers
    )
    assert_problem(clash, 409)
    assert await audit_actions(db, owner.firm.id, record_type="document_folder") == [
        "document_folder.created",
        "document_folder.created",
        "document_folder.created",
        "document_folder.created",
        "document_folder.updated",
    ]


async def test_only_an_empty_folder_is_deleted(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    parent = await folder(api, owner, name="Parent")
    child = await folder(api, owner, name="Child", parent_id=parent["id"])
    document = await api.post(
        "/v1/documents",
        data={"folder_id": child["id"]},
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=owner.headers,
    )
    assert document.status_code == 201, document.text
    assert_problem(await api.delete(f"{FOLDERS}/{parent['id']}", headers=owner.headers), 409)
    # A document in the bin still holds its folder.
    await api.delete(f"/v1/documents/{document.json()['id']}", headers=owner.headers)
    assert_problem(await api.delete(f"{FOLDERS}/{child['id']}", headers=owner.headers), 409)

    await api.post(f"/v1/documents/{document.json()['id']}/restore", headers=owner.headers)
    await api.patch(
        f"/v1/documents/{document.json()['id']}", json={"folder_id": None}, headers=owner.headers
    )
    assert (await api.delete(f"{FOLDERS}/{child['id']}", headers=owner.headers)).status_code == 204
    assert (await api.delete(f"{FOLDERS}/{parent['id']}", headers=owner.headers)).status_code == 204
    assert (await api.get(FOLDERS, headers=owner.headers)).json()["items"] == []


def valid_settings(**changes: Any) -> dict[str, Any]:
    return {
        "documents_quota_bytes": 10 * 1024**3,
        "upload_limit_bytes": 100 * 1024**2,
        "allowed_upload_types": ["application/pdf", "text/plain"],
        "search_config": "german",
        "business_days": [1, 2, 3, 4],
        "business_start": "08:30",
        "business_end": "16:00:00",
        **changes,
    }


async def test_the_document_settings_and_the_bytes_used(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    defaults = (await api.get(SETTINGS, headers=owner.headers)).json()
    assert defaults == {
        "documents_quota_bytes": 50 * 1024**3,
        "upload_limit_bytes": 1024**3,
        "allowed_upload_types": [],
        "search_config": "english",
        "business_days": [1, 2, 3, 4, 5],
        "business_start": "09:00:00",
        "business_end": "17:00:00",
        "bytes_used": 0,
    }
    put = await api.put(
        SETTINGS,
        json=valid_settings(
            business_days=[4, 1, 2, 3, 1], allowed_upload_types=[" Application/PDF", "text/plain"]
        ),
        headers=owner.headers,
    )
    assert put.status_code == 200, put.text
    assert put.json() == {
        **valid_settings(allowed_upload_types=["application/pdf", "text/plain"]),
        "business_start": "08:30:00",
        "bytes_used": 0,
    }
    await scope_to_firm(db, owner.firm.id)
    firm = await db.scalar(
        select(Firm).where(Firm.id == owner.firm.id).execution_options(populate_existing=True)
    )
    assert firm is not None and (firm.search_config, firm.business_days) == ("german", [1, 2, 3, 4])
    # The same settings again record nothing.
    await api.put(SETTINGS, json=valid_settings(), headers=owner.headers)
    actions = await audit_actions(db, owner.firm.id, record_type="firm")
    assert actions.count("firm.document_settings_updated") == 1

    uploaded = await api.post(
        "/v1/documents",
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=owner.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert (await api.get(SETTINGS, headers=owner.headers)).json()["bytes_used"] == len(PDF)
    # The firm's search configuration is the new versions'.
    version = uploaded.json()["current_version_id"]
    config = await db.scalar(
        select(DocumentVersion.search_config).where(DocumentVersion.id == uuid.UUID(version))
    )
    assert config == "german"
    other = await make_firm(db, "Other")
    assert (await api.get(SETTINGS, headers=other.headers)).json()["bytes_used"] == 0


async def test_each_rule_of_the_document_settings(api: AsyncClient, owner: Actor) -> None:
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"search_config": "klingon"}, {"/search_config"}),
        ({"search_config": "english; drop table"}, {"/search_config"}),
        ({"business_days": []}, {"/business_days"}),
        ({"business_days": [0, 8]}, {"/business_days/0", "/business_days/1"}),
        ({"business_start": "17:00:00", "business_end": "09:00:00"}, {""}),
        ({"business_start": "08:00:00+02:00"}, {"/business_start"}),
        ({"business_end": "5pm"}, {"/business_end"}),
        ({"upload_limit_bytes": 20 * 1024**3}, {""}),
        ({"documents_quota_bytes": 0}, {"/documents_quota_bytes"}),
        ({"allowed_upload_types": ["pdf"]}, {"/allowed_upload_types/0"}),
        ({"bytes_used": 5}, {"/bytes_used"}),
    ]
    for changes, expected in cases:
        response = await api.put(SETTINGS, json=valid_settings(**changes), headers=owner.headers)
        body = assert_problem(response, 422)
        assert pointers(body) == expected, changes
    missing = valid_settings()
    del missing["search_config"]
    body = assert_problem(await api.put(SETTINGS, json=missing, headers=owner.headers), 422)
    assert pointers(body) == {"/search_config"}
