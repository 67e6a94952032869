"""Invoices as PDF documents, end to end on the time-skipping server: the API finalizes,
sends, voids and credits invoices; the outbox starts InvoicePdfWorkflow and
DunningWorkflow on a worker with their real activities (committed Postgres, documents on
the filesystem provider in a fresh directory, email through a real SMTP server on
loopback). What the client receives is read back with pypdf: the invoice number, the
totals and the seller; a void invoice's new version says VOID; a retried rendering adds
no version; the pay page's pdf_url downloads the newest; another firm gets a 404."""

import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from httpx import ASGITransport, AsyncClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.billing_invoice_pdf import InvoicePdfActivities
from core.config import Settings
from core.db import tenant_session
from core.temporal import LazyClient, fixed_client
from models import Document, DocumentVersion, Invoice
from providers.storage_backends import build_storage
from services.billing.invoice_pdf import InvoicePdfs
from services.billing.pay_links import PayLinks
from tests.factories import Actor
from tests.fixtures.temporal import result_skipping_time
from tests.mailbox import Mailbox
from worker import build_worker
from workflows.billing.dunning import contracts as dunning
from workflows.billing.invoice_pdf import contracts as invoice_pdf
from workflows.billing.invoice_pdf.contracts import InvoicePdfResult, RenderCall, RenderStatus

Maker = async_sessionmaker[AsyncSession]
PUBLIC_URL = "https://app.firmflow.example"
SELLER = {
    "seller_legal_name": "Muster Steuerberatung GmbH",
    "seller_address_line1": "Friedrichstraße 1",
    "seller_postal_code": "10117",
    "seller_city": "Berlin",
    "seller_country": "DE",
    "seller_vat_id": "DE123456789",
    "seller_iban": "DE89370400440532013000",
    "seller_bic": "COBADEFFXXX",
}
DOCUMENT_SETTINGS = (
    "allowed_upload_types",
    "search_config",
    "business_days",
    "business_start",
    "business_end",
)
# A firm template that prints no stamp: the PDF must say VOID all the same.
PLAIN_TEMPLATE = (
    "<html><body><h1>{{ invoice.title }} {{ invoice.number }}</h1>"
    "<p>{{ seller.legal_name }}</p><p>Total {{ totals.total }}</p></body></html>"
)


@pytest.fixture
def pdf_settings(settings: Settings, mailbox: Mailbox, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "storage_dir": tmp_path / "files",
            "email_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "public_url": PUBLIC_URL,
        }
    )


@pytest.fixture
def pdfs(pdf_settings: Settings) -> InvoicePdfs:
    return InvoicePdfs(storage=build_storage(pdf_settings))


@pytest.fixture
async def worker(
    pdf_settings: Settings, committing_sessionmaker: Maker, temporal_env: WorkflowEnvironment
) -> AsyncIterator[Worker]:
    """The app's own worker, its email going to ``mailbox`` and its documents to the test's
    directory."""
    async with build_worker(pdf_settings, temporal_env.client, committing_sessionmaker) as running:
        yield running


@pytest.fixture
async def api(
    pdf_settings: Settings, committing_sessionmaker: Maker, temporal_env: WorkflowEnvironment
) -> AsyncIterator[AsyncClient]:
    from api.app import create_app

    app = create_app(
        pdf_settings,
        sessionmaker=committing_sessionmaker,
        temporal=LazyClient(pdf_settings, client=temporal_env.client),
    )
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass
class Billing:
    http: AsyncClient
    actor: Actor
    client_id: str
    email: str

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.request(method, path, headers=self.actor.headers, **kwargs)
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    async def draft(self, amount: int = 125_000) -> str:
        line = {"description": "Annual accounts 2025", "quantity": "1", "unit_price": amount}
        body = await self.call(
            "POST", "/v1/invoices", json={"client_id": self.client_id, "lines": [line]}
        )
        invoice_id: str = body["id"]
        return invoice_id


@pytest.fixture
async def billing(api: AsyncClient, berlin_owner: Actor, worker: Worker) -> Billing:
    email = f"accounts-{uuid.uuid4().hex[:8]}@client.example"
    setup = Billing(api, berlin_owner, "", email)
    await setup.call("PATCH", "/v1/billing/settings", json=SELLER)
    client = await setup.call("POST", "/v1/clients", json={"name": "Nordwind KG", "email": email})
    setup.client_id = client["id"]
    return setup


async def rendered(env: WorkflowEnvironment, invoice_id: str, occasion: str) -> InvoicePdfResult:
    handle = env.client.get_workflow_handle(
        invoice_pdf.workflow_id(uuid.UUID(invoice_id), occasion),
        result_type=InvoicePdfResult,
    )
    result: InvoicePdfResult = await handle.result()
    return result


async def versions(maker: Maker, actor: Actor, invoice_id: str) -> list[DocumentVersion]:
    async with tenant_session(actor.firm.id, maker) as session:
        invoice = await session.get_one(Invoice, uuid.UUID(invoice_id))
        rows = await session.scalars(
            select(DocumentVersion)
            .where(DocumentVersion.document_id == invoice.document_id)
            .order_by(DocumentVersion.number)
        )
        return list(rows)


async def newest_bytes(pdfs: InvoicePdfs, maker: Maker, actor: Actor, invoice_id: str) -> bytes:
    """The stored bytes of the invoice document's newest version (content-addressed)."""
    newest = (await versions(maker, actor, invoice_id))[-1]
    blob_key = f"firms/{actor.firm.id}/blobs/{newest.sha256}"
    return b"".join([chunk async for chunk in pdfs.storage.read(blob_key)])


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_the_invoice_email_carries_its_pdf(
    billing: Billing,
    temporal_env: WorkflowEnvironment,
    mailbox: Mailbox,
    committing_sessionmaker: Maker,
) -> None:
    invoice_id = await billing.draft()
    sent = await billing.call("POST", f"/v1/invoices/{invoice_id}/send")
    number = sent["number"]
    assert (await rendered(temporal_env, invoice_id, "finalized")).status in (
        RenderStatus.stored,
        RenderStatus.unchanged,
    )
    # Dunning runs to its end on the skipping clock: the invoice email went first.
    handle = temporal_env.client.get_workflow_handle(dunning.workflow_id(uuid.UUID(invoice_id)))
    await result_skipping_time(temporal_env, handle)

    subject = f"Invoice {number} from {billing.actor.firm.name}"
    (email,) = [m for m in mailbox.to(billing.email) if m["Subject"] == subject]
    body = email.get_body(preferencelist=("plain",))
    assert body is not None and "as a PDF" in str(body.get_content())
    (attachment,) = list(email.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"invoice-{number}.pdf"
    data = attachment.get_content()
    text = text_of(data)
    for expected in (
        f"Invoice {number}",
        "Muster Steuerberatung GmbH",
        "Friedrichstraße 1",
        "10117 Berlin",
        "VAT ID DE123456789",
        "IBAN DE89 3704 0044 0532 0130 00",
        "Nordwind KG",
        "Total 1,250.00 EUR",
        "Balance due 1,250.00 EUR",
    ):
        assert expected in text, expected
    # The email's rendering and the finalize one are the same bytes: one version.
    (version,) = await versions(committing_sessionmaker, billing.actor, invoice_id)
    assert version.content_type == "application/pdf"
    assert PdfReader(io.BytesIO(data)).metadata is not None
    reminders = [m for m in mailbox.to(billing.email) if m["Subject"] != subject]
    assert reminders and all(not list(m.iter_attachments()) for m in reminders)


async def test_a_void_invoice_gets_a_version_that_says_void(
    billing: Billing,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    pdfs: InvoicePdfs,
) -> None:
    await billing.call(
        "PUT", "/v1/billing/settings/invoice-template", json={"template": PLAIN_TEMPLATE}
    )
    invoice_id = await billing.draft()
    finalized = await billing.call("POST", f"/v1/invoices/{invoice_id}/finalize")
    first = await rendered(temporal_env, invoice_id, "finalized")
    assert (first.status, first.version_number) == (RenderStatus.stored, 1)
    assert "VOID" not in text_of(
        await newest_bytes(pdfs, committing_sessionmaker, billing.actor, invoice_id)
    )

    await billing.call("POST", f"/v1/invoices/{invoice_id}/void", json={"reason": "duplicate"})
    second = await rendered(temporal_env, invoice_id, "voided")
    assert (second.status, second.version_number) == (RenderStatus.stored, 2)
    assert second.document_id == first.document_id
    text = text_of(await newest_bytes(pdfs, committing_sessionmaker, billing.actor, invoice_id))
    assert "VOID" in text
    assert f"Invoice {finalized['number']}" in text
    async with tenant_session(billing.actor.firm.id, committing_sessionmaker) as session:
        document = await session.get_one(Document, first.document_id)
        assert (document.title, document.document_type) == (
            f"Invoice {finalized['number']}",
            "invoice",
        )
        assert str(document.client_id) == billing.client_id


async def test_a_retried_rendering_adds_no_version(
    billing: Billing,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    pdfs: InvoicePdfs,
) -> None:
    invoice_id = await billing.draft()
    await billing.call("POST", f"/v1/invoices/{invoice_id}/finalize")
    first = await rendered(temporal_env, invoice_id, "finalized")
    # The activity again, as Temporal retries it after a lost completion.
    activities = InvoicePdfActivities(
        committing_sessionmaker, fixed_client(temporal_env.client), pdfs=pdfs
    )
    call = RenderCall(firm_id=billing.actor.firm.id, invoice_id=uuid.UUID(invoice_id))
    again = await activities.render(call)
    assert (again.status, again.version_number) == (RenderStatus.unchanged, 1)
    assert again.document_id == first.document_id
    assert len(await versions(committing_sessionmaker, billing.actor, invoice_id)) == 1
    async with tenant_session(billing.actor.firm.id, committing_sessionmaker) as session:
        documents = await session.scalar(
            select(func.count()).select_from(Document).where(Document.title.like("Invoice %"))
        )
    assert documents == 1


async def test_a_credit_note_rerenders_the_invoice_and_has_its_own_pdf(
    billing: Billing,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    pdfs: InvoicePdfs,
) -> None:
    invoice_id = await billing.draft(amount=100_000)
    await billing.call("POST", f"/v1/invoices/{invoice_id}/finalize")
    await rendered(temporal_env, invoice_id, "finalized")
    note = await billing.call(
        "POST", f"/v1/invoices/{invoice_id}/credit-notes", json={"amount": 40_000}
    )
    credited = await rendered(temporal_env, invoice_id, f"credited-{note['id']}")
    assert (credited.status, credited.version_number) == (RenderStatus.stored, 2)
    text = text_of(await newest_bytes(pdfs, committing_sessionmaker, billing.actor, invoice_id))
    assert "PARTIALLY CREDITED" in text
    assert "Balance due 600.00 EUR" in text

    own = await rendered(temporal_env, note["id"], "finalized")
    assert own.status == RenderStatus.stored and own.document_id != credited.document_id
    note_text = text_of(
        await newest_bytes(pdfs, committing_sessionmaker, billing.actor, note["id"])
    )
    assert f"Credit note {note['number']}" in note_text


async def test_the_pay_page_links_the_pdf_and_staff_get_a_link_other_firms_do_not(
    billing: Billing,
    temporal_env: WorkflowEnvironment,
    pdf_settings: Settings,
    committing_sessionmaker: Maker,
    pdfs: InvoicePdfs,
    owner_of_another_firm: Actor,
) -> None:
    invoice_id = await billing.draft()
    draft_link = await billing.http.post(
        f"/v1/invoices/{invoice_id}/pdf-link", headers=billing.actor.headers
    )
    assert draft_link.status_code == 409, draft_link.text
    assert draft_link.json()["type"].endswith("invoice-pdf-missing")
    await billing.call("POST", f"/v1/invoices/{invoice_id}/finalize")
    await rendered(temporal_env, invoice_id, "finalized")
    newest = await newest_bytes(pdfs, committing_sessionmaker, billing.actor, invoice_id)

    pay_link = PayLinks.from_settings(pdf_settings).issue(
        billing.actor.firm.id, uuid.UUID(invoice_id), now=datetime.now(UTC)
    )
    token = parse_qs(urlsplit(pay_link.url).query)["t"][0]
    page = await billing.http.get(
        f"/v1/public/invoices/{invoice_id}", headers={"X-Pay-Token": token}
    )
    assert page.status_code == 200, page.text
    pdf_url = page.json()["pdf_url"]
    assert pdf_url.startswith(f"{PUBLIC_URL}/v1/files/")
    download = await billing.http.get(pdf_url.removeprefix(PUBLIC_URL))
    assert download.status_code == 200, download.text
    assert download.content == newest
    assert download.headers["content-type"] == "application/pdf"

    staff = await billing.call("POST", f"/v1/invoices/{invoice_id}/pdf-link")
    assert (await billing.http.get(staff["url"].removeprefix(PUBLIC_URL))).content == newest
    other = await billing.http.post(
        f"/v1/invoices/{invoice_id}/pdf-link", headers=owner_of_another_firm.headers
    )
    assert other.status_code == 404, other.text


@pytest.fixture
async def owner_of_another_firm(committed_owner: Actor) -> Actor:
    return committed_owner


async def test_a_refused_pdf_fails_its_run_and_the_email_goes_without_it(
    billing: Billing, temporal_env: WorkflowEnvironment, mailbox: Mailbox
) -> None:
    settings = await billing.call("GET", "/v1/firm/document-settings")
    tiny = {"documents_quota_bytes": 1000, "upload_limit_bytes": 1000}
    fields = {name: settings[name] for name in DOCUMENT_SETTINGS} | tiny
    await billing.call("PUT", "/v1/firm/document-settings", json=fields)
    invoice_id = await billing.draft()
    sent = await billing.call("POST", f"/v1/invoices/{invoice_id}/send")

    with pytest.raises(WorkflowFailureError) as failed:
        await rendered(temporal_env, invoice_id, "finalized")
    activity_failure = failed.value.cause
    assert isinstance(activity_failure, ActivityError)
    cause = activity_failure.cause
    assert isinstance(cause, ApplicationError) and cause.type == invoice_pdf.REFUSED
    assert cause.non_retryable
    handle = temporal_env.client.get_workflow_handle(dunning.workflow_id(uuid.UUID(invoice_id)))
    await result_skipping_time(temporal_env, handle)
    subject = f"Invoice {sent['number']} from {billing.actor.firm.name}"
    (email,) = [m for m in mailbox.to(billing.email) if m["Subject"] == subject]
    assert list(email.iter_attachments()) == []
    page = await billing.http.post(
        f"/v1/invoices/{invoice_id}/pdf-link", headers=billing.actor.headers
    )
    assert page.status_code == 409, page.text


async def test_the_email_goes_without_a_pdf_whose_bytes_are_gone(
    billing: Billing,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    pdfs: InvoicePdfs,
) -> None:
    invoice_id = await billing.draft()
    await billing.call("POST", f"/v1/invoices/{invoice_id}/finalize")
    await rendered(temporal_env, invoice_id, "finalized")
    (version,) = await versions(committing_sessionmaker, billing.actor, invoice_id)
    async with tenant_session(billing.actor.firm.id, committing_sessionmaker) as session:
        invoice = await session.get_one(Invoice, uuid.UUID(invoice_id))
        attached = await pdfs.attachment(session, invoice)
        assert attached is not None and attached.file_name == version.file_name
        await pdfs.storage.delete(f"firms/{billing.actor.firm.id}/blobs/{version.sha256}")
        assert await pdfs.attachment(session, invoice) is None
