"""The invoice PDF renderer on the sample invoice: the text a reader extracts, PDF/A-3b as
far as pypdf can see it, the same bytes for the same state, the stamp the HTML may lack,
and a template that names files or hosts fetching nothing."""

import hashlib
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from services.billing.invoice_pdf import PdfPage, pdf_bytes
from services.billing.rendering import _render, default_template, sample_context

FINALIZED = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
PAGE = PdfPage(title="Invoice INV-2026-0001", created=FINALIZED, modified=FINALIZED, mark=None)


@pytest.fixture(scope="module")
def html() -> str:
    return _render(default_template(), sample_context())


@pytest.fixture(scope="module")
def pdf(html: str) -> bytes:
    return pdf_bytes(html, PAGE)


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def test_the_pdf_holds_the_number_the_totals_and_the_seller(pdf: bytes) -> None:
    text = _text(pdf)
    for expected in (
        "Invoice INV-2026-0001",
        "Sample Firm LLP",
        "1 Sample Street",
        "VAT ID DE123456789",
        "IBAN DE89 3704 0044 0532 0130 00",
        "Total 334.00 USD",
        "Balance due 234.00 USD",
        "Sample Client <Ltd>",
        "Page 1 of 1",
    ):
        assert expected in text


def test_it_is_pdf_a_3b_as_far_as_pypdf_sees(pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    assert pdf.startswith(b"%PDF-1.7")
    xmp = reader.xmp_metadata
    assert xmp is not None
    descriptions = xmp.rdf_root.getElementsByTagNameNS(
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "Description"
    )
    ns = "http://www.aiim.org/pdfa/ns/id/"
    ids = {
        (d.getAttributeNS(ns, "part"), d.getAttributeNS(ns, "conformance")) for d in descriptions
    }
    assert ("3", "B") in ids
    catalog = _resolve(reader.trailer["/Root"])
    (intent,) = catalog["/OutputIntents"]
    intent = _resolve(intent)
    assert intent["/S"] == "/GTS_PDFA1"
    assert _resolve(intent["/DestOutputProfile"]).get_data()
    assert len(_resolve(reader.trailer["/ID"])) == 2
    fonts = [
        _resolve(font)
        for page in reader.pages
        for font in _resolve(page["/Resources"])["/Font"].values()
    ]
    assert fonts
    for font in fonts:
        descendant = _resolve(font["/DescendantFonts"][0]) if "/DescendantFonts" in font else font
        descriptor = _resolve(descendant["/FontDescriptor"])
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor)


def test_the_metadata_dates_are_the_invoices_not_the_clock(pdf: bytes) -> None:
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info is not None
    assert str(info["/CreationDate"]) == "D:20260115103000Z"
    assert str(info["/ModDate"]) == "D:20260115103000Z"
    assert info.title == "Invoice INV-2026-0001"


def test_the_same_state_renders_the_same_bytes(html: str, pdf: bytes) -> None:
    again = pdf_bytes(html, PAGE)
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(pdf).hexdigest()
    later = PdfPage(
        title=PAGE.title, created=FINALIZED, modified=datetime(2026, 2, 1, tzinfo=UTC), mark="VOID"
    )
    assert pdf_bytes(html, later) != pdf


def test_the_stamp_is_printed_whatever_the_template_shows() -> None:
    bare = "<html><body><h1>Invoice INV-7</h1><p>Total 10.00 EUR</p></body></html>"
    assert "VOID" not in _text(pdf_bytes(bare, PAGE))
    stamped = PdfPage(title="Invoice INV-7", created=FINALIZED, modified=FINALIZED, mark="VOID")
    text = _text(pdf_bytes(bare, stamped))
    assert "VOID" in text
    assert "Total 10.00 EUR" in text


def test_a_template_cannot_make_the_worker_fetch_anything(tmp_path: Any) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("body::after { content: 'LEAKED-FILE' }")
    image = tmp_path / "logo.svg"
    image.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<text y="10">LEAKED-IMAGE</text></svg>'
    )
    html = (
        f'<html><head><link rel="stylesheet" href="file://{secret}">'
        "<style>@import url('http://127.0.0.1:9/x.css');</style></head>"
        f'<body><p>Invoice INV-8</p><img src="file://{image}">'
        '<img src="data:image/svg+xml;utf8,<svg xmlns=%22http://www.w3.org/2000/svg%22 '
        'width=%2210%22 height=%2210%22><text y=%2210%22>INLINE</text></svg>"></body></html>'
    )
    text = _text(pdf_bytes(html, PAGE))
    assert "Invoice INV-8" in text
    assert "LEAKED" not in text
