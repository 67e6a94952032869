"""Documents through the API: upload (streamed multipart) with each problem of the form,
versions and restoring an old one, changes, the bin and its 30 days, the list's filters,
the audit trail of views and downloads, and who may do what."""

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.principal import Principal
from core.roles import Role
from models import Document, DocumentVersion, OutboxMessage
from providers.storage_filesystem import FilesystemStorage
from services.clients import create_client, validate_client_fields
from services.documents import holds
from services.documents.blobs import blob_key
from tests.audit import audit_actions, audit_events
from tests.document_factories import document_with_blob, version_with_blob
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, pointers

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT = b"Engagement letter for the 2026 tax year.\n"


async def upload(
    api: AsyncClient,
    actor: Actor,
    content: bytes = PDF,
    *,
    file_name: str = "return.pdf",
    path: str = "/v1/documents",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> Response:
    return await api.post(
        path,
        data=fields,
        files={"file": (file_name, content, "application/octet-stream")},
        headers={**actor.headers, **(headers or {})},
    )


async def created(api: AsyncClient, actor: Actor, **kwargs: Any) -> dict[str, Any]:
    response = await upload(api, actor, **kwargs)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_client(db: AsyncSession, actor: Actor, name: str = "Northwind") -> str:
    await scope_to_firm(db, actor.firm.id)
    client = await create_client(
        db, Principal.system(actor.firm.id), fields=validate_client_fields({"name": name})
    )
    await db.commit()
    return str(client.id)


def raw_form(*parts: tuple[str, str | None, bytes], boundary: str = "b0undary") -> bytes:
    """A multipart body by hand: (name, file name or None, bytes) per part, in order."""
    out = b""
    for name, file_name, data in parts:
        disposition = f'form-data; name="{name}"'
        if file_name is not None:
            disposition += f'; filename="{file_name}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def form_headers(actor: Actor, boundary: str = "b0undary") -> dict[str, str]:
    return {**actor.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}


async def test_an_upload_makes_a_document_and_its_first_version(
    api: AsyncClient, db: AsyncSession, owner: Actor, storage: FilesystemStorage
) -> None:
    client_id = await make_client(db, owner)
    body = await created(
        api,
        owner,
        title="  2025 return ",
        client_id=client_id,
        document_type="tax_return",
        tags=["2025", "federal"],
        note="As filed",
    )

    assert body["title"] == "2025 return"
    assert body["client_id"] == client_id
    assert body["document_type"] == "tax_return"
    assert body["tags"] == ["2025", "federal"]
    assert body["status"] == "draft"
    assert body["owner_id"] == body["created_by"] == str(owner.user.id)
    assert body["legal_hold"] is False
    assert body["deleted_at"] is None
    version = body["current_version"]
    assert version["id"] == body["current_version_id"]
    assert version["number"] == 1
    assert version["file_name"] == "return.pdf"
    assert version["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert version["size"] == len(PDF)
    assert version["content_type"] == "application/pdf"
    assert version["note"] == "As filed"
    assert version["uploaded_by"] == str(owner.user.id)
    assert version["text_status"] == "pending"
    # The bytes are stored under their hash, and read back the same.
    chunks = [c async for c in storage.read(blob_key(owner.firm.id, version["sha256"]))]
    assert b"".join(chunks) == PDF
    assert await audit_actions(db, owner.firm.id, record_type="document") == ["document.created"]
    await scope_to_firm(db, owner.firm.id)
    kinds = set(
        (
            await db.scalars(
                select(OutboxMessage.payload["event"].astext).where(
                    OutboxMessage.firm_id == owner.firm.id
                )
            )
        ).all()
    )
    assert "document.created" in kinds
    # Indexed for search when made: the title's words are in the version's vector.
    vector = await db.scalar(
        select(DocumentVersion.search).where(DocumentVersion.id == uuid.UUID(version["id"]))
    )
    assert vector is not None and "'2025'" in vector


async def test_the_title_defaults_to_the_file_name_and_fields_may_follow_the_file(
    api: AsyncClient, owner: Actor
) -> None:
    body = await created(api, owner, file_name="Engagement letter.txt", content=TEXT)
    assert body["title"] == "Engagement letter.txt"
    assert body["current_version"]["content_type"] == "text/plain"

    form = raw_form(
        ("file", "later.txt", TEXT), ("title", None, b"After the file"), ("tags", None, b"x")
    )
    response = await api.post("/v1/documents", content=form, headers=form_headers(owner))
    assert response.status_code == 201, response.text
    assert (response.json()["title"], response.json()["tags"]) == ("After the file", ["x"])


async def test_an_idempotency_key_replays_the_first_document(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    key = {"Idempotency-Key": "upload-1"}
    first = await upload(api, owner, headers=key, title="Once")
    again = await upload(api, owner, headers=key, title="Once")
    other = await upload(api, owner, headers=key, title="Other")

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_problem(other, 409)
    await scope_to_firm(db, owner.firm.id)
    assert await db.scalar(select(func.count()).select_from(Document)) == 1


async def test_each_problem_of_an_upload_form(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    other_firm = await make_firm(db, "Other")
    foreign_client = await make_client(db, other_firm)
    client_id = await make_client(db, owner)

    not_multipart = await api.post("/v1/documents", json={"title": "x"}, headers=owner.headers)
    assert_problem(not_multipart, 415)

    no_file = raw_form(("title", None, b"No file"))
    body = assert_problem(
        await api.post("/v1/documents", content=no_file, headers=form_headers(owner)), 422
    )
    assert pointers(body) == {"/file"}

    nameless = raw_form(("file", "", PDF))
    body = assert_problem(
        await api.post("/v1/documents", content=nameless, headers=form_headers(owner)), 422
    )
    assert pointers(body) == {"/file"}

    two_files = raw_form(("file", "a.pdf", PDF), ("file", "b.pdf", PDF))
    body = assert_problem(
        await api.post("/v1/documents", content=two_files, headers=form_headers(owner)), 422
    )
    assert pointers(body) == {"/file"}

    twice = raw_form(("title", None, b"a"), ("title", None, b"b"), ("file", "a.pdf", PDF))
    body = assert_problem(
        await api.post("/v1/documents", content=twice, headers=form_headers(owner)), 422
    )
    assert pointers(body) == {"/title"}

    truncated = raw_form(("file", "a.pdf", PDF))[:-20]
    assert_problem(
        await api.post("/v1/documents", content=truncated, headers=form_headers(owner)), 400
    )

    huge = raw_form(("note", None, b"n" * 5000), ("file", "a.pdf", PDF))
    assert_problem(await api.post("/v1/documents", content=huge, headers=form_headers(owner)), 413)

    cases: list[tuple[dict[str, Any], int, set[str]]] = [
        ({"client_id": "not-a-uuid"}, 422, {"/client_id"}),
        ({"document_type": "Tax Return"}, 422, {"/document_type"}),
        ({"title": "t" * 301}, 422, {"/title"}),
        ({"tags": ["t" * 51]}, 422, {"/tags/0"}),
        ({"colour": "red"}, 422, {"/colour"}),
        ({"client_id": foreign_client}, 404, {"/client_id"}),
        ({"folder_id": str(uuid.uuid4())}, 404, {"/folder_id"}),
    ]
    for fields, status, expected in cases:
        body = assert_problem(await upload(api, owner, **fields), status)
        assert pointers(body) == expected, fields

    folder = await api.post(
        "/v1/document-folders", json={"name": "Firm papers"}, headers=owner.headers
    )
    body = assert_problem(
        await upload(api, owner, client_id=client_id, folder_id=folder.json()["id"]), 422
    )
    assert pointers(body) == {"/folder_id"}

    # A renamed program is refused by its content, whatever its name says.
    body = assert_problem(await upload(api, owner, b"MZ\x90\x00" + b"\x00" * 200), 415)

    await scope_to_firm(db, owner.firm.id)
    assert await db.scalar(select(func.count()).select_from(Document)) == 0


async def test_versions_are_added_listed_and_restored_as_the_newest(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    document = await created(api, owner, title="Letter", file_name="v1.pdf")
    path = f"/v1/documents/{document['id']}/versions"

    second = await upload(api, owner, TEXT, file_name="v2.txt", path=path, note="Typo fixed")
    assert second.status_code == 201, second.text
    v2 = second.json()
    assert (v2["number"], v2["file_name"], v2["note"]) == (2, "v2.txt", "Typo fixed")

    listed = await api.get(path, headers=owner.headers)
    assert [v["number"] for v in listed.json()["items"]] == [2, 1]
    v1 = listed.json()["items"][1]

    restored = await api.post(f"{path}/{v1['id']}/restore", headers=owner.headers)
    assert restored.status_code == 201, restored.text
    v3 = restored.json()
    assert v3["number"] == 3
    assert (v3["sha256"], v3["file_name"]) == (v1["sha256"], "v1.pdf")
    assert v3["restored_from_id"] == v1["id"]
    assert v3["note"] == "Restored from version 1"

    current = (await api.get(f"/v1/documents/{document['id']}", headers=owner.headers)).json()
    assert current["current_version"]["id"] == v3["id"]
    one = await api.get(f"{path}/{v2['id']}", headers=owner.headers)
    assert one.json()["number"] == 2
    assert await audit_actions(db, owner.firm.id, record_type="document") == [
        "document.created",
        "document.version_added",
        "document.version_restored",
        "document.viewed",
        "document.viewed",
    ]
    # A version of another document is not this document's.
    other = await created(api, owner, title="Other")
    stray = await api.get(f"{path}/{other['current_version_id']}", headers=owner.headers)
    assert_problem(stray, 404)


async def test_a_new_version_resets_the_status_and_waits_for_a_review_to_end(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    document = await created(api, owner)
    path = f"/v1/documents/{document['id']}/versions"
    await scope_to_firm(db, owner.firm.id)
    await db.execute(
        update(Document).where(Document.id == uuid.UUID(document["id"])).values(status="in_review")
    )
    await db.commit()
    assert_problem(await upload(api, owner, TEXT, path=path), 409)
    restore = f"{path}/{document['current_version_id']}/restore"
    assert_problem(await api.post(restore, headers=owner.headers), 409)

    await db.execute(
        update(Document).where(Document.id == uuid.UUID(document["id"])).values(status="published")
    )
    await db.commit()
    assert (await upload(api, owner, TEXT, path=path)).status_code == 201
    current = await api.get(f"/v1/documents/{document['id']}", headers=owner.headers)
    assert current.json()["status"] == "draft"


async def test_a_patch_changes_details_and_reindexes_the_title(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    client_id = await make_client(db, owner)
    staff = await add_user(db, owner, Role.staff)
    client_user = await add_user(db, owner, Role.client)
    document = await created(api, owner, title="Draft letter")
    url = f"/v1/documents/{document['id']}"

    response = await api.patch(
        url,
        json={"title": "Signed engagement", "tags": ["signed"], "owner_id": str(staff.user.id)},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Signed engagement"
    assert response.json()["owner_id"] == str(staff.user.id)
    vector = await db.scalar(
        select(DocumentVersion.search).where(
            DocumentVersion.id == uuid.UUID(document["current_version_id"])
        )
    )
    assert vector is not None and "engag" in vector and "draft" not in vector

    folder = await api.post(
        "/v1/document-folders",
        json={"name": "Letters", "client_id": client_id},
        headers=owner.headers,
    )
    moved = await api.patch(
        url, json={"client_id": client_id, "folder_id": folder.json()["id"]}, headers=owner.headers
    )
    assert moved.status_code == 200, moved.text
    # Clearing the client leaves a folder of that client behind: refused.
    body = assert_problem(
        await api.patch(url, json={"client_id": None}, headers=owner.headers), 422
    )
    assert pointers(body) == {"/folder_id"}

    for patch, expected in [
        ({"title": None}, {"/title"}),
        ({"tags": None}, {"/tags"}),
        ({"document_type": "Not OK"}, {"/document_type"}),
        ({"status": "published"}, {"/status"}),
        ({"owner_id": str(client_user.user.id)}, {"/owner_id"}),
    ]:
        body = assert_problem(await api.patch(url, json=patch, headers=owner.headers), 422)
        assert pointers(body) == expected, patch
    body = assert_problem(
        await api.patch(url, json={"client_id": str(uuid.uuid4())}, headers=owner.headers), 404
    )
    assert pointers(body) == {"/client_id"}
    actions = await audit_actions(db, owner.firm.id, record_type="document")
    assert actions == ["document.created", "document.updated", "document.updated"]


async def test_the_bin_keeps_a_document_restorable_for_30_days(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    document = await created(api, owner, title="Old statement")
    url = f"/v1/documents/{document['id']}"

    deleted = await api.delete(url, headers=owner.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted_at"] is not None
    assert deleted.json()["deleted_by"] == str(owner.user.id)
    assert (await api.delete(url, headers=owner.headers)).status_code == 200
    in_use = await api.get("/v1/documents", headers=owner.headers)
    assert in_use.json()["items"] == []
    binned = await api.get("/v1/documents", params={"deleted": "true"}, headers=owner.headers)
    assert [d["id"] for d in binned.json()["items"]] == [document["id"]]
    # Read-only in the bin.
    assert_problem(await api.patch(url, json={"title": "x"}, headers=owner.headers), 409)
    assert_problem(await upload(api, owner, TEXT, path=f"{url}/versions"), 409)

    await scope_to_firm(db, owner.firm.id)
    document_id = uuid.UUID(document["id"])
    await db.execute(
        update(Document)
        .where(Document.id == document_id)
        .values(deleted_at=datetime.now(UTC) - timedelta(days=29))
    )
    await db.commit()
    restored = await api.post(f"{url}/restore", headers=owner.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["deleted_at"] is None
    assert (await api.post(f"{url}/restore", headers=owner.headers)).status_code == 200

    await api.delete(url, headers=owner.headers)
    await db.execute(
        update(Document)
        .where(Document.id == document_id)
        .values(deleted_at=datetime.now(UTC) - timedelta(days=31))
    )
    await db.commit()
    assert_problem(await api.post(f"{url}/restore", headers=owner.headers), 409)
    assert await audit_actions(db, owner.firm.id, record_type="document") == [
        "document.created",
        "document.deleted",
        "document.restored",
        "document.deleted",
    ]


async def test_a_legal_hold_refuses_the_delete(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    client_id = await make_client(db, owner)
    held_itself = await created(api, owner, title="Held")
    of_held_client = await created(api, owner, title="Client's", client_id=client_id)
    free = await created(api, owner, title="Free")
    await scope_to_firm(db, owner.firm.id)
    principal = Principal.system(owner.firm.id)
    for subject in ({"document_id": held_itself["id"]}, {"client_id": client_id}):
        await holds.place_hold(
            db, principal, fields=holds.HoldFields.model_validate({**subject, "reason": "Audit"})
        )
    await db.commit()

    for document in (held_itself, of_held_client):
        url = f"/v1/documents/{document['id']}"
        assert (await api.get(url, headers=owner.headers)).json()["legal_hold"] is True
        assert_problem(await api.delete(url, headers=owner.headers), 409)
    listed = (await api.get("/v1/documents", headers=owner.headers)).json()["items"]
    assert {d["title"]: d["legal_hold"] for d in listed} == {
        "Held": True,
        "Client's": True,
        "Free": False,
    }
    assert (
        await api.delete(f"/v1/documents/{free['id']}", headers=owner.headers)
    ).status_code == 200


async def test_the_list_filters_and_pages(api: AsyncClient, db: AsyncSession, owner: Actor) -> None:
    client_id = await make_client(db, owner)
    folder = (
        await api.post("/v1/document-folders", json={"name": "Returns"}, headers=owner.headers)
    ).json()
    a = await created(api, owner, title="A", client_id=client_id, tags=["2025", "signed"])
    b = await created(api, owner, title="B", folder_id=folder["id"], document_type="tax_return")
    c = await created(api, owner, title="C", tags=["2025"])
    await scope_to_firm(db, owner.firm.id)
    await db.execute(
        update(Document).where(Document.id == uuid.UUID(c["id"])).values(status="published")
    )
    await db.commit()

    async def titles(**params: Any) -> list[str]:
        response = await api.get("/v1/documents", params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        return [d["title"] for d in response.json()["items"]]

    assert await titles() == ["C", "B", "A"]
    assert await titles(client_id=client_id) == ["A"]
    assert await titles(folder_id=folder["id"]) == ["B"]
    assert await titles(status="published") == ["C"]
    assert await titles(document_type="tax_return") == ["B"]
    assert await titles(tag="2025") == ["C", "A"]
    assert await titles(tag=["2025", "signed"]) == ["A"]
    first = (await api.get("/v1/documents", params={"limit": 2}, headers=owner.headers)).json()
    assert [d["title"] for d in first["items"]] == ["C", "B"]
    assert first["items"][0]["current_version"]["number"] == 1
    assert await titles(limit=2, cursor=first["next_cursor"]) == ["A"]
    assert a["id"] and b["id"]
    for bad in ({"status": "lost"}, {"document_type": "Bad Type"}, {"client_id": "x"}):
        assert_problem(await api.get("/v1/documents", params=bad, headers=owner.headers), 422)


async def test_views_and_downloads_are_recorded(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    staff = await add_user(db, owner, Role.staff)
    document = await created(api, owner)
    url = f"/v1/documents/{document['id']}"
    version_id = document["current_version_id"]

    assert (await api.get(url, headers=staff.headers)).status_code == 200
    link = await api.post(f"{url}/versions/{version_id}/download-link", headers=staff.headers)
    assert link.status_code == 200, link.text
    assert link.json()["url"].startswith("http")
    assert datetime.fromisoformat(link.json()["expires_at"]) > datetime.now(UTC)

    await scope_to_firm(db, owner.firm.id)
    events = [
        e
        for e in await audit_events(db, owner.firm.id, record_type="document")
        if e.action in ("document.viewed", "document.downloaded")
    ]
    assert [(e.action, e.actor_id) for e in events] == [
        ("document.viewed", staff.user.id),
        ("document.downloaded", staff.user.id),
    ]
    assert events[1].summary["after"] == {"version_id": version_id, "file_name": "return.pdf"}


async def test_permissions_per_role(api: AsyncClient, db: AsyncSession, owner: Actor) -> None:
    document = await created(api, owner)
    url = f"/v1/documents/{document['id']}"
    builder = await add_user(db, owner, Role.builder)
    client_user = await add_user(db, owner, Role.client)
    staff = await add_user(db, owner, Role.staff)

    assert (await api.get(url, headers=builder.headers)).status_code == 200
    assert_problem(await upload(api, builder), 403)
    assert_problem(await api.patch(url, json={"title": "x"}, headers=builder.headers), 403)
    assert_problem(await api.delete(url, headers=builder.headers), 403)
    assert_problem(await api.get("/v1/documents", headers=client_user.headers), 403)
    assert_problem(await api.get(url, headers=client_user.headers), 403)
    assert (await upload(api, staff)).status_code == 201
    settings = (await api.get("/v1/firm/document-settings", headers=staff.headers)).json()
    settings.pop("bytes_used")
    assert_problem(
        await api.put("/v1/firm/document-settings", json=settings, headers=staff.headers), 403
    )


async def test_a_large_file_streamed_in_small_chunks_arrives_whole(
    api: AsyncClient, owner: Actor, storage: FilesystemStorage
) -> None:
    # 16 MiB of text in 64 KiB network chunks, the form's fields before the file: the body
    # is never one bytes object on either side.
    size, chunk = 16 * 1024**2, 64 * 1024
    line = b"Ledger line for the streamed upload test.\n"
    piece = (line * (chunk // len(line) + 1))[:chunk]
    boundary = "stream-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nLedger\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="ledger.txt"'
        "\r\nContent-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(size // chunk):
            yield piece
        yield tail

    response = await api.post(
        "/v1/documents", content=body(), headers=form_headers(owner, boundary)
    )

    assert response.status_code == 201, response.text
    version = response.json()["current_version"]
    expected = hashlib.sha256(piece * (size // chunk)).hexdigest()
    assert (version["size"], version["sha256"]) == (size, expected)
    stored = hashlib.sha256()
    async for part in storage.read(blob_key(owner.firm.id, expected)):
        stored.update(part)
    assert stored.hexdigest() == expected


async def test_a_restore_with_an_idempotency_key_happens_once(
    api: AsyncClient, owner: Actor
) -> None:
    document = await created(api, owner)
    path = f"/v1/documents/{document['id']}/versions"
    assert (await upload(api, owner, TEXT, path=path)).status_code == 201
    restore = f"{path}/{document['current_version_id']}/restore"
    key = {**owner.headers, "Idempotency-Key": "restore-1"}

    first = await api.post(restore, json={"note": "Back to v1"}, headers=key)
    again = await api.post(restore, json={"note": "Back to v1"}, headers=key)
    other = await api.post(restore, json={"note": "Another"}, headers=key)

    assert first.status_code == again.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    assert_problem(other, 409)
    listed = (await api.get(path, headers=owner.headers)).json()["items"]
    assert [v["number"] for v in listed] == [3, 2, 1]


async def test_the_system_creates_documents_and_versions_with_nobody_as_their_author(
    db: AsyncSession, owner: Actor
) -> None:
    # As the invoice PDF does: Principal.system, a blob already stored.
    await scope_to_firm(db, owner.firm.id)
    system = Principal.system(owner.firm.id)
    document = await document_with_blob(db, system, title="Invoice 2026-0001", file_name="i.pdf")
    version = await version_with_blob(db, system, document, file_name="i-void.pdf")

    assert (document.created_by, document.owner_id, version.uploaded_by) == (None, None, None)
    assert (version.number, document.current_version_id) == (2, version.id)
    events = await audit_events(db, owner.firm.id, record_type="document")
    assert [(e.action, e.actor_type) for e in events] == [
        ("document.created", "system"),
        ("document.version_added", "system"),
    ]
