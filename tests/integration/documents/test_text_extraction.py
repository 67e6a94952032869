"""Text extraction: what is read from a real PDF (made with WeasyPrint), a DOCX (made with
python-docx) and plain text in several charsets; an image-only PDF is no_text, a damaged or
encrypted file failed, an image unsupported; the cap on the text kept. Then the process end
to end on the time-skipping server: an upload through the API starts DocumentTextWorkflow
through the outbox, the app's own worker reads the file from storage, and the words become
searchable; the activity run again, for a version gone or a file missing, stays correct."""

import base64
import io
import uuid
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

import docx
import pytest
import weasyprint  # type: ignore[import-untyped]
from httpx import ASGITransport, AsyncClient
from PIL import Image
from pypdf import PdfReader, PdfWriter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.documents_text import DocumentTextActivities
from core.config import Settings
from core.db import tenant_session
from core.principal import Principal
from core.search_attributes import SA_DOCUMENT
from core.temporal import LazyClient
from models import DocumentBlob, DocumentVersion, TextStatus
from providers.storage import Storage
from providers.storage_backends import build_storage
from services.documents import documents, text
from services.documents.text import MAX_BODY_CHARS, decode_text, extract_text
from tests.document_factories import blob_row
from tests.factories import Actor, principal_of
from tests.fixtures.temporal import result_skipping_time
from worker import build_worker
from workflows.documents.text import contracts
from workflows.documents.text.contracts import DocumentTextResult, ExtractInput

Maker = async_sessionmaker[AsyncSession]
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@cache
def text_pdf() -> bytes:
    html = (
        "<h1>Annual accounts 2025</h1>"
        "<p>The zeppelin ledger shows café totals of 1,234.56 EUR.</p>"
        "<p style='page-break-before: always'>Second page: depreciation schedule.</p>"
    )
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


@cache
def image_pdf() -> bytes:
    png = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 30, 30)).save(png, "PNG")
    data = base64.b64encode(png.getvalue()).decode()
    pdf: bytes = weasyprint.HTML(string=f'<img src="data:image/png;base64,{data}">').write_pdf()
    return pdf


def encrypted_pdf(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf())))
    writer.encrypt(user_password=user_password, owner_password="owner secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_file() -> bytes:
    document = docx.Document()
    document.add_heading("Engagement letter", level=1)
    document.add_paragraph("We will prepare the quarterly VAT returns.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Fee"
    table.rows[0].cells[1].text = "honorarium"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def extract(content_type: str, data: bytes) -> text.Extracted:
    return extract_text(content_type, io.BytesIO(data))


def test_a_pdf_gives_the_text_of_every_page() -> None:
    found = extract(PDF, text_pdf())

    assert found.status == TextStatus.extracted and not found.truncated
    assert found.body is not None
    assert "Annual accounts 2025" in found.body
    assert "zeppelin ledger shows café totals of 1,234.56 EUR." in found.body
    assert "depreciation schedule" in found.body


def test_a_pdf_of_images_only_has_no_text() -> None:
    assert extract(PDF, image_pdf()) == text.Extracted(
        TextStatus.no_text, detail="the file holds no text"
    )


def test_a_damaged_or_encrypted_pdf_fails() -> None:
    halved = text_pdf()[: len(text_pdf()) // 2]
    assert extract(PDF, halved).status == TextStatus.failed
    assert extract(PDF, b"%PDF-1.7\n" + b"\x00garbage" * 50).status == TextStatus.failed
    locked = extract(PDF, encrypted_pdf("user secret"))
    assert locked == text.Extracted(TextStatus.failed, detail="the PDF is encrypted")
    # Restricted by an owner password only: anyone may open it, and so may we.
    restricted = extract(PDF, encrypted_pdf(""))
    assert restricted.status == TextStatus.extracted
    assert restricted.body is not None and "zeppelin" in restricted.body


def test_a_docx_gives_its_paragraphs_and_tables() -> None:
    found = extract(DOCX, docx_file())

    assert found.status == TextStatus.extracted
    assert found.body == (
        "Engagement letter\nWe will prepare the quarterly VAT returns.\nFee honorarium"
    )
    assert extract(DOCX, docx_file()[:300]).status == TextStatus.failed
    assert extract(DOCX, b"PK\x03\x04 not really a zip").status == TextStatus.failed


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Grüße aus Köln".encode(), "Grüße aus Köln"),
        ("\ufeffBOM und Grüße".encode(), "BOM und Grüße"),
        ("Café crème".encode("cp1252"), "Café crème"),
        ("Smart “quotes” €".encode("cp1252"), "Smart “quotes” €"),
        ("\ufeffUTF-16 Grüße".encode("utf-16-le"), "UTF-16 Grüße"),
        ("no mark, UTF-16".encode("utf-16-le"), "no mark, UTF-16"),
        ("big end".encode("utf-16-be"), "big end"),
        # A character cut in two where reading stopped is dropped, not guessed at.
        ("fin €".encode()[:-1], "fin "),
    ],
)
def test_plain_text_is_decoded_in_its_guessed_charset(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


def test_plain_text_is_cleaned_and_capped() -> None:
    found = extract("text/plain", b"tab\there\x00nul\x07bell   spaces\r\nnext")
    assert found.body == "tab here nul bell spaces\r\nnext"
    assert extract("text/plain", b"  \n\t ").status == TextStatus.no_text

    long = extract("text/plain", b"word " * (MAX_BODY_CHARS // 4))
    assert long.status == TextStatus.extracted and long.truncated
    assert long.body is not None and len(long.body) <= MAX_BODY_CHARS
    exact = extract("text/plain", b"x" * MAX_BODY_CHARS)
    assert exact.body is not None and len(exact.body) == MAX_BODY_CHARS
    assert not exact.truncated


def test_other_types_are_unsupported() -> None:
    assert extract("image/png", b"\x89PNG...").status == TextStatus.unsupported
    assert extract("application/zip", b"PK").status == TextStatus.unsupported
    assert not text.extractable("image/jpeg")
    assert text.extractable("text/plain; charset=utf-8")
    assert text.read_limit("text/csv") == text.MAX_PLAIN_BYTES + 1
    assert text.read_limit(PDF) is None


# The process, end to end.


@pytest.fixture
def text_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"storage_dir": tmp_path / "files"})


@pytest.fixture
async def worker(
    text_settings: Settings, committing_sessionmaker: Maker, temporal_env: WorkflowEnvironment
) -> AsyncIterator[Worker]:
    async with build_worker(text_settings, temporal_env.client, committing_sessionmaker) as w:
        yield w


@pytest.fixture
async def api(
    text_settings: Settings, committing_sessionmaker: Maker, temporal_env: WorkflowEnvironment
) -> AsyncIterator[AsyncClient]:
    from api.app import create_app

    app = create_app(
        text_settings,
        sessionmaker=committing_sessionmaker,
        temporal=LazyClient(text_settings, client=temporal_env.client),
    )
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def upload(api: AsyncClient, actor: Actor, name: str, content: bytes) -> dict[str, Any]:
    response = await api.post(
        "/v1/documents",
        data={"title": name},
        files={"file": (name, content, "application/octet-stream")},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


async def extracted(env: WorkflowEnvironment, document: dict[str, Any]) -> DocumentTextResult:
    version_id = uuid.UUID(document["current_version"]["id"])
    handle = env.client.get_workflow_handle(
        contracts.workflow_id(version_id), result_type=DocumentTextResult
    )
    result: DocumentTextResult = await result_skipping_time(env, handle)
    attributes = (await handle.describe()).typed_search_attributes
    assert {p.key.name: p.value for p in attributes}[SA_DOCUMENT] == document["id"]
    return result


async def test_an_upload_becomes_searchable_by_its_text(
    api: AsyncClient, worker: Worker, temporal_env: WorkflowEnvironment, committed_owner: Actor
) -> None:
    report = await upload(api, committed_owner, "accounts.pdf", text_pdf())
    scan = await upload(api, committed_owner, "scan.pdf", image_pdf())
    letter = await upload(api, committed_owner, "letter.docx", docx_file())

    assert await extracted(temporal_env, report) == DocumentTextResult(
        outcome="extracted", characters=len(extract(PDF, text_pdf()).body or ""), truncated=False
    )
    assert (await extracted(temporal_env, scan)).outcome == "no_text"
    assert (await extracted(temporal_env, letter)).outcome == "extracted"

    headers = committed_owner.headers
    found = (await api.get("/v1/document-search", params={"q": "zeppelin"}, headers=headers)).json()
    assert [hit["id"] for hit in found["items"]] == [report["id"]]
    assert "<mark>zeppelin</mark>" in found["items"][0]["highlights"]["body"]
    found = (
        await api.get("/v1/document-search", params={"q": "honorarium"}, headers=headers)
    ).json()
    assert [hit["id"] for hit in found["items"]] == [letter["id"]]
    details = await api.get(f"/v1/documents/{scan['id']}", headers=headers)
    assert details.json()["current_version"]["text_status"] == "no_text"


async def test_the_activity_is_idempotent_and_survives_a_missing_version_or_file(
    text_settings: Settings, committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    storage = build_storage(text_settings)
    activities = DocumentTextActivities(committing_sessionmaker, storage)
    firm_id = committed_owner.firm.id
    # Bytes stored under the blob's key, as an upload leaves them.
    async with tenant_session(firm_id, committing_sessionmaker) as session:
        stored = await stored_version(
            session, storage, principal_of(committed_owner), b"Ledger of the zeppelin works."
        )
        version_id = stored.id
    run = ActivityEnvironment().run

    first = await run(activities.extract, ExtractInput(firm_id=firm_id, version_id=version_id))
    again = await run(activities.extract, ExtractInput(firm_id=firm_id, version_id=version_id))
    assert first == again == contracts.ExtractResult(outcome="extracted", characters=29)
    async with tenant_session(firm_id, committing_sessionmaker) as session:
        row = await session.get(DocumentVersion, version_id)
        assert row is not None and row.body_text == "Ledger of the zeppelin works."
        assert row.search is not None and "'zeppelin':" in row.search

    gone = ExtractInput(firm_id=firm_id, version_id=uuid.uuid4())
    assert await run(activities.extract, gone) == contracts.ExtractResult(outcome="gone")

    async with tenant_session(firm_id, committing_sessionmaker) as session:
        row = await session.get(DocumentVersion, version_id)
        assert row is not None
        blob = await session.get(DocumentBlob, row.blob_id)
        assert blob is not None
    await storage.delete(blob.storage_key)
    missing = await run(activities.extract, ExtractInput(firm_id=firm_id, version_id=version_id))
    assert missing == contracts.ExtractResult(
        outcome="failed", detail="the file is missing from storage"
    )
    async with tenant_session(firm_id, committing_sessionmaker) as session:
        row = await session.get(DocumentVersion, version_id)
        assert row is not None and row.text_status == "failed"
        assert row.body_text is None


async def stored_version(
    session: AsyncSession, storage: Storage, principal: Principal, content: bytes
) -> DocumentVersion:
    """A document whose version 1 holds ``content`` as plain text, its bytes in storage."""
    blob = await blob_row(session, principal.firm_id, content=content, content_type="text/plain")

    async def chunks() -> AsyncIterator[bytes]:
        yield content

    await storage.write(blob.storage_key, chunks())
    document = await documents.create_document(
        session,
        principal,
        fields=documents.DocumentFields(title="Works"),
        blob=blob,
        file_name="works.txt",
        note=None,
    )
    version = await session.get(DocumentVersion, document.current_version_id)
    assert version is not None
    return version
