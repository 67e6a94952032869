"""Retention through the API: policies (create, the one-per-type conflict, change, delete,
each validation problem), legal holds (on a document or a client, the bin refusing a held
document, release), the preview and the deletion records, another firm's ids, and who may
do what (reading policies and holds is documents:read, everything else documents:manage)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import Document
from services.documents import sweep
from tests.audit import audit_actions
from tests.factories import Actor, add_user, make_firm
from tests.integration.documents.test_documents_api import TEXT, created, make_client
from tests.problems import assert_problem, pointers

POLICY = {"document_type": "tax_return", "retain_days": 3650, "grace_days": 30}


async def post(api: AsyncClient, actor: Actor, path: str, body: dict[str, Any]) -> Any:
    response = await api.post(path, json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_policy_is_created_listed_changed_and_deleted(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    policy = await post(api, owner, "/v1/retention-policies", POLICY)
    assert policy["trigger"] == "created"
    assert (policy["retain_days"], policy["grace_days"], policy["description"]) == (3650, 30, None)

    changed = await api.patch(
        f"/v1/retention-policies/{policy['id']}",
        json={"trigger": "client_archived", "description": "ten years after the engagement"},
        headers=owner.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["trigger"] == "client_archived"
    listed = await api.get("/v1/retention-policies", headers=owner.headers)
    assert [p["id"] for p in listed.json()["items"]] == [policy["id"]]

    gone = await api.delete(f"/v1/retention-policies/{policy['id']}", headers=owner.headers)
    assert gone.status_code == 204
    again = await api.delete(f"/v1/retention-policies/{policy['id']}", headers=owner.headers)
    assert_problem(again, 404)
    assert await audit_actions(db, owner.firm.id, record_type="retention_policy") == [
        "retention_policy.created",
        "retention_policy.updated",
        "retention_policy.deleted",
    ]


async def test_one_policy_per_document_type(api: AsyncClient, owner: Actor) -> None:
    await post(api, owner, "/v1/retention-policies", POLICY)
    second = await api.post("/v1/retention-policies", json=POLICY, headers=owner.headers)
    assert pointers(assert_problem(second, 409)) == {"/document_type"}
    other = await post(api, owner, "/v1/retention-policies", {**POLICY, "document_type": "memo"})
    renamed = await api.patch(
        f"/v1/retention-policies/{other['id']}",
        json={"document_type": "tax_return"},
        headers=owner.headers,
    )
    assert pointers(assert_problem(renamed, 409)) == {"/document_type"}


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({**POLICY, "retain_days": 0}, "/retain_days"),
        ({**POLICY, "retain_days": 36_501}, "/retain_days"),
        ({**POLICY, "grace_days": -1}, "/grace_days"),
        ({**POLICY, "trigger": "signed"}, "/trigger"),
        ({**POLICY, "document_type": ""}, "/document_type"),
        ({**POLICY, "document_type": "x" * 65}, "/document_type"),
        ({**POLICY, "surprise": 1}, "/surprise"),
        ({"document_type": "tax_return"}, "/retain_days"),
    ],
)
async def test_bad_policies_are_refused_by_field(
    api: AsyncClient, owner: Actor, body: dict[str, Any], pointer: str
) -> None:
    response = await api.post("/v1/retention-policies", json=body, headers=owner.headers)
    assert pointer in pointers(assert_problem(response, 422))


async def test_a_patch_cannot_clear_what_a_policy_needs(api: AsyncClient, owner: Actor) -> None:
    policy = await post(api, owner, "/v1/retention-policies", POLICY)
    response = await api.patch(
        f"/v1/retention-policies/{policy['id']}", json={"retain_days": None}, headers=owner.headers
    )
    assert pointers(assert_problem(response, 422)) == {"/retain_days"}


async def test_a_hold_blocks_the_bin_until_released(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    document = await created(api, owner, content=TEXT, file_name="return.txt")
    hold = await post(
        api, owner, "/v1/legal-holds", {"document_id": document["id"], "reason": "litigation"}
    )
    assert (hold["document_id"], hold["client_id"], hold["released_at"]) == (
        document["id"],
        None,
        None,
    )
    shown = await api.get(f"/v1/documents/{document['id']}", headers=owner.headers)
    assert shown.json()["legal_hold"] is True
    refused = await api.delete(f"/v1/documents/{document['id']}", headers=owner.headers)
    assert_problem(refused, 409)

    released = await api.post(f"/v1/legal-holds/{hold['id']}/release", headers=owner.headers)
    assert released.status_code == 200
    assert released.json()["released_by"] == str(owner.user.id)
    twice = await api.post(f"/v1/legal-holds/{hold['id']}/release", headers=owner.headers)
    assert twice.json()["released_at"] == released.json()["released_at"]
    deleted = await api.delete(f"/v1/documents/{document['id']}", headers=owner.headers)
    assert deleted.status_code in (200, 204), deleted.text
    assert await audit_actions(db, owner.firm.id, record_type="legal_hold") == [
        "legal_hold.placed",
        "legal_hold.released",
    ]


async def test_a_client_hold_covers_every_document_of_the_client(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    client_id = await make_client(db, owner)
    document = await created(api, owner, content=TEXT, file_name="a.txt", client_id=client_id)
    other = await created(api, owner, content=TEXT, file_name="b.txt")
    await post(api, owner, "/v1/legal-holds", {"client_id": client_id, "reason": "audit"})
    assert_problem(await api.delete(f"/v1/documents/{document['id']}", headers=owner.headers), 409)
    response = await api.delete(f"/v1/documents/{other['id']}", headers=owner.headers)
    assert response.status_code in (200, 204)

    active = await api.get(
        "/v1/legal-holds", params={"client_id": client_id, "active": "true"}, headers=owner.headers
    )
    assert [h["client_id"] for h in active.json()["items"]] == [client_id]
    released = await api.get("/v1/legal-holds", params={"active": "false"}, headers=owner.headers)
    assert released.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"reason": "no subject"}, ""),
        ({"document_id": None, "client_id": None, "reason": "none"}, ""),
        ({"reason": ""}, "/reason"),
    ],
)
async def test_a_hold_names_exactly_one_subject_and_a_reason(
    api: AsyncClient, db: AsyncSession, owner: Actor, body: dict[str, Any], pointer: str
) -> None:
    response = await api.post("/v1/legal-holds", json=body, headers=owner.headers)
    assert pointer in pointers(assert_problem(response, 422))


async def test_a_hold_on_both_a_document_and_a_client_is_refused(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    client_id = await make_client(db, owner)
    document = await created(api, owner, content=TEXT, file_name="a.txt")
    body = {"document_id": document["id"], "client_id": client_id, "reason": "both"}
    assert_problem(await api.post("/v1/legal-holds", json=body, headers=owner.headers), 422)


async def test_another_firms_document_or_client_cannot_be_held(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    stranger = await make_firm(db, "Other Firm")
    document = await created(api, stranger, content=TEXT, file_name="theirs.txt")
    client_id = await make_client(db, stranger)
    for body, pointer in (
        ({"document_id": document["id"], "reason": "x"}, "/document_id"),
        ({"client_id": client_id, "reason": "x"}, "/client_id"),
    ):
        response = await api.post("/v1/legal-holds", json=body, headers=owner.headers)
        assert pointers(assert_problem(response, 404)) == {pointer}


async def test_the_preview_shows_the_next_sweep_and_writes_nothing(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    await post(api, owner, "/v1/retention-policies", {**POLICY, "retain_days": 30})
    old = await created(api, owner, content=TEXT, file_name="old.txt", document_type="tax_return")
    binned = await created(api, owner, content=b"binned text\n", file_name="bin.txt")
    await created(api, owner, content=b"young text\n", file_name="young.txt")
    await scope_to_firm(db, owner.firm.id)
    now = datetime.now(UTC)
    await db.execute(
        update(Document).where(Document.id == old["id"]).values(created_at=now - timedelta(days=40))
    )
    await db.execute(
        update(Document)
        .where(Document.id == binned["id"])
        .values(deleted_at=now - timedelta(days=31))
    )
    await db.commit()

    response = await api.get("/v1/retention/preview", headers=owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(i["document_id"], i["reason"]) for i in body["report"]] == [
        (binned["id"], "bin"),
        (old["id"], "retention"),
    ]
    assert [i["document_id"] for i in body["delete"]] == [binned["id"]]
    assert (body["report_total"], body["delete_total"]) == (2, 1)
    short = await api.get("/v1/retention/preview", params={"limit": 1}, headers=owner.headers)
    assert (len(short.json()["report"]), short.json()["report_total"]) == (1, 2)
    assert_problem(
        await api.get("/v1/retention/preview", params={"limit": 0}, headers=owner.headers), 422
    )
    deletions = await api.get("/v1/retention/deletions", headers=owner.headers)
    assert deletions.json() == {"items": [], "next_cursor": None}


async def test_who_may_read_and_who_may_manage(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    staff = await add_user(db, owner, Role.staff)
    policy = await post(api, owner, "/v1/retention-policies", POLICY)
    # Staff file documents: they see the policies and holds but change neither.
    for path in ("/v1/retention-policies", "/v1/legal-holds"):
        assert (await api.get(path, headers=staff.headers)).status_code == 200
    for method, path in (
        ("POST", "/v1/retention-policies"),
        ("PATCH", f"/v1/retention-policies/{policy['id']}"),
        ("DELETE", f"/v1/retention-policies/{policy['id']}"),
        ("POST", "/v1/legal-holds"),
        ("GET", "/v1/retention/preview"),
        ("GET", "/v1/retention/deletions"),
    ):
        response = await api.request(method, path, json={}, headers=staff.headers)
        assert_problem(response, 403)


async def test_the_deletion_records_are_listed_newest_first_in_pages(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    await post(api, owner, "/v1/retention-policies", {**POLICY, "retain_days": 30, "grace_days": 0})
    titles = []
    for n in range(3):
        document = await created(
            api,
            owner,
            content=f"return {n}\n".encode(),
            file_name=f"r{n}.txt",
            document_type="tax_return",
            title=f"Return {n}",
        )
        titles.append(document["title"])
        await scope_to_firm(db, owner.firm.id)
        await db.execute(
            update(Document)
            .where(Document.id == document["id"])
            .values(created_at=datetime.now(UTC) - timedelta(days=31 + n))
        )
    # The sweep's first two steps, as its activities run them (the blob purge aside).
    now = datetime.now(UTC)
    await scope_to_firm(db, owner.firm.id)
    await sweep.report(db, owner.firm.id, now)
    deleted = await sweep.delete_due(db, owner.firm.id, now, sweep_id="retention-sweep-api")
    assert (len(deleted.deletions), deleted.more) == (3, False)
    await db.commit()

    first = await api.get("/v1/retention/deletions", params={"limit": 2}, headers=owner.headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await api.get(
        "/v1/retention/deletions",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=owner.headers,
    )
    items = page["items"] + rest.json()["items"]
    assert rest.json()["next_cursor"] is None
    assert sorted(i["title"] for i in items) == sorted(titles)
    assert {(i["reason"], i["versions"], i["sweep_id"]) for i in items} == {
        ("retention", 1, "retention-sweep-api")
    }
    assert [i["deleted_at"] for i in items] == sorted(
        (i["deleted_at"] for i in items), reverse=True
    )
    # Gone from the documents, for everyone.
    listed = await api.get("/v1/documents", headers=owner.headers)
    assert {d["title"] for d in listed.json()["items"]}.isdisjoint(titles)
