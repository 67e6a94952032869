"""The upload endpoint and the reports, inside the test's rolled-back transaction. No
Temporal runs here: the fast path fails to connect, which leaves the start message pending
for the relay, exactly as after an outage."""

import uuid
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from core.config import Settings
from core.db import scope_to_firm
from core.errors import NotFound
from core.principal import Principal
from core.roles import Role
from models import AuditEvent, ClientImport, OutboxMessage
from services import client_imports
from tests.factories import Actor, add_user, make_firm, principal_of

PROBLEM = "application/problem+json"


async def upload(
    client: AsyncClient, actor: Actor, data: bytes, filename: str = "clients.csv"
) -> Response:
    return await client.post(
        "/v1/clients/imports",
        headers=actor.headers,
        files={"file": (filename, data, "text/csv")},
    )


async def import_count(db: AsyncSession, actor: Actor) -> int:
    await scope_to_firm(db, actor.firm.id)
    count = await db.scalar(select(func.count()).select_from(ClientImport))
    assert count is not None
    return count


async def test_upload_stores_the_import_and_its_start_message_in_one_transaction(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    data = "\ufeffName,Email,Notes\r\nAcme,a@acme.io,big\r\nGlobex,,\r\n".encode()
    response = await upload(client, actor, data, filename="march.csv")

    assert response.status_code == 202, response.text
    body = response.json()
    import_id = uuid.UUID(body["id"])
    assert response.headers["location"] == f"/v1/clients/imports/{import_id}"
    assert body == {
        "id": str(import_id),
        "filename": "march.csv",
        "status": "pending",
        "total": 2,
        "processed": 0,
        "created": 0,
        "skipped": 0,
        "invalid": 0,
        "unknown_columns": ["Notes"],
        "failure_reason": None,
        "created_at": body["created_at"],
        "finished_at": None,
    }
    await scope_to_firm(db, actor.firm.id)
    message = await db.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"start:client-import-{import_id}")
    )
    assert message is not None
    assert message.kind == "start_workflow"
    assert message.payload == {
        "workflow": "ClientImportWorkflow",
        "workflow_id": f"client-import-{import_id}",
        "task_queue": "firmflow",
        "arg": {"firm_id": str(actor.firm.id), "import_id": str(import_id)},
        # What ops find it by in the Temporal Web UI, set when the workflow starts.
        "search_attributes": {
            "FirmflowProcess": "client-import",
            "FirmflowFirmId": str(actor.firm.id),
            "FirmflowClientImportId": str(import_id),
        },
    }
    # Temporal is unreachable here: the fast path failed and left the row to the relay.
    assert message.dispatched_at is None
    assert message.attempts == 1
    assert message.last_error == "RuntimeError: FIRMFLOW_TEMPORAL_ADDRESS is not set"
    audit = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "client_import.created", AuditEvent.record_id == import_id
        )
    )
    assert audit is not None
    assert audit.actor_id == actor.user.id
    assert audit.summary == {
        "after": {"filename": "march.csv", "total_rows": 2, "unknown_columns": ["Notes"]}
    }


@pytest.mark.parametrize(
    ("data", "status", "detail"),
    [
        (
            b'name,email\r\nAcme,"a@acme.io\r\nGlobex,g@globex.io\r\n',
            400,
            "The CSV is malformed at line 2: unexpected end of data.",
        ),
        (
            "name,email\nAcme,a@acme.io\nCaf\u00e9 Noir,c@noir.fr\n".encode("cp1252"),
            400,
            "The file is not valid UTF-8 (first bad byte on line 3); "
            "save it as 'CSV UTF-8' and upload it again.",
        ),
        (
            b"company,email\r\nAcme,a@acme.io\r\n",
            422,
            "The header has no 'name' column (columns found: 'company', 'email'); "
            "the first row must name the columns.",
        ),
        (b"", 400, "The file is empty; upload a CSV with a header row and data rows."),
        (b"name,email\r\n", 422, "The file has a header row but no data rows."),
        (
            b"name,email,EMAIL\r\nAcme,a,b\r\n",
            422,
            "The column 'email' appears twice in the header (columns 2 and 3).",
        ),
    ],
    ids=["malformed", "encoding", "no-name-column", "empty", "header-only", "twice"],
)
async def test_bad_files_are_rejected_and_nothing_is_stored(
    client: AsyncClient, db: AsyncSession, data: bytes, status: int, detail: str
) -> None:
    actor = await make_firm(db)
    response = await upload(client, actor, data)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == detail
    assert await import_count(db, actor) == 0
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_a_file_over_the_byte_limit_is_413_naming_the_limit(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    header = b"name\r\n"
    row = b"A client with a reasonably long name\r\n"
    limit = 20 * 1024 * 1024
    data = header + row * ((limit - len(header)) // len(row) + 1)
    assert len(data) > limit
    response = await upload(client, actor, data)
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "The file is larger than 20 MB (20,971,520 bytes), the most one import accepts; "
        "split it into smaller files."
    )
    assert await import_count(db, actor) == 0


async def test_a_file_exactly_at_the_byte_limit_is_accepted(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    actor = await make_firm(db)
    data = b"name\r\nAcme\r\n"
    app = create_app(
        settings.model_copy(update={"import_max_bytes": len(data)}), sessionmaker=sessionmaker
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        accepted = await upload(client, actor, data)
        too_large = await upload(client, actor, data + b"B\r\n")
    assert accepted.status_code == 202
    assert too_large.status_code == 413
    assert too_large.json()["detail"] == (
        "The file is larger than 12 bytes, the most one import accepts; "
        "split it into smaller files."
    )


async def test_more_rows_than_the_limit_is_413_naming_the_limit(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    rows = "".join(f"Client {i}\r\n" for i in range(50_001))
    response = await upload(client, actor, ("name\r\n" + rows).encode())
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "The file has more than 50,000 data rows, the most one import accepts; "
        "split it into smaller files."
    )
    assert await import_count(db, actor) == 0


async def test_exactly_the_row_limit_is_accepted(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    rows = "".join(f"Client {i}\r\n" for i in range(50_000))
    response = await upload(client, actor, ("name\r\n" + rows).encode())
    assert response.status_code == 202
    assert response.json()["total"] == 50_000


async def test_missing_file_field_is_422(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    response = await client.post("/v1/clients/imports", headers=actor.headers, data={"other": "x"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"] == "This field is required; add it."


@pytest.mark.parametrize("role", [Role.builder, Role.client])
async def test_only_staff_roles_may_import_or_read_imports(
    client: AsyncClient, db: AsyncSession, role: Role
) -> None:
    owner = await make_firm(db)
    user = await add_user(db, owner, role)
    assert (await upload(client, user, b"name\r\nAcme\r\n")).status_code == 403
    assert (await client.get("/v1/clients/imports", headers=user.headers)).status_code == 403
    assert await import_count(db, owner) == 0


async def test_staff_may_import(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    assert (await upload(client, staff, b"name\r\nAcme\r\n")).status_code == 202


async def test_anonymous_upload_is_401(client: AsyncClient) -> None:
    response = await client.post(
        "/v1/clients/imports", files={"file": ("c.csv", b"name\r\nA\r\n", "text/csv")}
    )
    assert response.status_code == 401


async def test_another_firms_import_is_404(client: AsyncClient, db: AsyncSession) -> None:
    alpha = await make_firm(db, "Alpha")
    beta = await make_firm(db, "Beta")
    created = await upload(client, alpha, b"name\r\nAcme\r\n")
    import_id = created.json()["id"]

    assert (await client.get(f"/v1/clients/imports/{import_id}", headers=alpha.headers)).is_success
    response = await client.get(f"/v1/clients/imports/{import_id}", headers=beta.headers)
    assert response.status_code == 404
    assert response.json()["detail"] == "No client import with this id in your firm"
    listed = await client.get("/v1/clients/imports", headers=beta.headers)
    assert listed.json() == {"items": [], "next_cursor": None}


async def test_unknown_import_is_404_and_a_malformed_id_is_422(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    missing = await client.get(f"/v1/clients/imports/{uuid.uuid4()}", headers=actor.headers)
    assert missing.status_code == 404
    malformed = await client.get("/v1/clients/imports/not-a-uuid", headers=actor.headers)
    assert malformed.status_code == 422


async def test_report_of_a_pending_import_has_no_errors_yet(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    created = await upload(client, actor, b"name,color\r\nAcme,red\r\n")
    report = await client.get(f"/v1/clients/imports/{created.json()['id']}", headers=actor.headers)
    assert report.status_code == 200
    body = report.json()
    assert (body["status"], body["total"], body["processed"]) == ("pending", 1, 0)
    assert body["unknown_columns"] == ["color"]
    assert body["errors"] == []


async def test_list_is_newest_first_with_keyset_pages(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    ids = []
    for n in range(5):
        created = await upload(client, actor, b"name\r\nAcme\r\n", filename=f"{n}.csv")
        ids.append(created.json()["id"])

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = await client.get("/v1/clients/imports", headers=actor.headers, params=params)
        assert page.status_code == 200
        body = page.json()
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert pages == 3


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"cursor": "garbage"}],
    ids=["limit-0", "limit-101", "bad-cursor"],
)
async def test_list_rejects_bad_paging(
    client: AsyncClient, db: AsyncSession, params: dict[str, Any]
) -> None:
    actor = await make_firm(db)
    response = await client.get("/v1/clients/imports", headers=actor.headers, params=params)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == PROBLEM


async def test_service_refuses_an_import_of_another_firm_by_id(db: AsyncSession) -> None:
    alpha = await make_firm(db, "Alpha")
    beta = await make_firm(db, "Beta")
    await scope_to_firm(db, alpha.firm.id)
    summary = await client_imports.create_import(
        db,
        principal_of(alpha),
        filename=None,
        data=b"name\r\nAcme\r\n",
        max_bytes=1000,
        max_rows=10,
    )
    assert summary.client_import.filename == "import.csv"
    await scope_to_firm(db, beta.firm.id)
    with pytest.raises(NotFound):
        await client_imports.get_report(
            db, Principal.system(beta.firm.id), summary.client_import.id
        )


async def test_a_repeated_upload_with_one_idempotency_key_returns_the_first_import(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    headers = {**actor.headers, "Idempotency-Key": "march-import"}
    files = {"file": ("march.csv", b"name\r\nAcme\r\n", "text/csv")}
    first = await client.post("/v1/clients/imports", headers=headers, files=files)
    again = await client.post("/v1/clients/imports", headers=headers, files=files)
    other = await client.post(
        "/v1/clients/imports",
        headers=headers,
        files={"file": ("march.csv", b"name\r\nGlobex\r\n", "text/csv")},
    )

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert other.status_code == 409
    assert await import_count(db, actor) == 1
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 1
