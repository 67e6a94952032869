"""E-signature test data through the API: a small real PDF (two pages, made once per test
session), a library document of it, a draft envelope with two signers in sequence and
their fields, and sending it. ``http`` is any API client whose storage holds the uploads
(the ``api`` fixture of tests/integration/esignature, ``temporal_api``, …)."""

import functools
from typing import Any

import weasyprint  # type: ignore[import-untyped]
from httpx import AsyncClient

from tests.factories import Actor

SIGNER_ONE = {"name": "Ada Lovelace", "email": "ada@example.com"}
SIGNER_TWO = {"name": "Grace Hopper", "email": "grace@example.com"}


@functools.cache
def sample_pdf(pages: int = 2, *, text: str = "Engagement letter") -> bytes:
    """A real PDF of ``pages`` A4 pages (WeasyPrint), the same bytes for the same
    arguments within a test session."""
    body = "".join(
        f"<section style='page-break-after: always'><h1>{text}</h1><p>Page {n}</p></section>"
        for n in range(1, pages + 1)
    )
    data: bytes = weasyprint.HTML(string=f"<html><body>{body}</body></html>").write_pdf()
    return data


async def upload_pdf(
    http: AsyncClient,
    actor: Actor,
    *,
    title: str = "Engagement letter",
    content: bytes | None = None,
    **fields: str,
) -> dict[str, Any]:
    """A library document of ``content`` (:func:`sample_pdf` by default); the API's
    DocumentRead. ``fields`` are further form fields (client_id, …)."""
    response = await http.post(
        "/v1/documents",
        data={"title": title, **fields},
        files={"file": ("letter.pdf", content or sample_pdf(), "application/pdf")},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def two_signers(*, parallel: bool = False) -> list[dict[str, Any]]:
    """Ada signs first, then Grace (both in group 1 when ``parallel``)."""
    return [
        {**SIGNER_ONE, "role": "signer", "routing_order": 1},
        {**SIGNER_TWO, "role": "signer", "routing_order": 1 if parallel else 2},
    ]


def signer_fields(envelope: dict[str, Any]) -> list[dict[str, Any]]:
    """For each signer of ``envelope`` (an EnvelopeRead) a signature and a date on the first
    document's page 1; for the first signer also a required text field on its last page."""
    document = envelope["documents"][0]
    signers = [r for r in envelope["recipients"] if r["role"] == "signer"]
    out: list[dict[str, Any]] = []
    for index, recipient in enumerate(signers):
        base = {"recipient_id": recipient["id"], "envelope_document_id": document["id"]}
        top = 0.6 + 0.15 * (index % 2)
        out.append(
            {
                **base,
                "kind": "signature",
                "page": 1,
                "x": 0.1,
                "y": top,
                "width": 0.3,
                "height": 0.06,
                "required": True,
            }
        )
        out.append(
            {
                **base,
                "kind": "date_signed",
                "page": 1,
                "x": 0.55,
                "y": top,
                "width": 0.2,
                "height": 0.04,
                "required": True,
            }
        )
    if signers:
        out.append(
            {
                "recipient_id": signers[0]["id"],
                "envelope_document_id": document["id"],
                "kind": "text",
                "page": document["page_count"],
                "x": 0.1,
                "y": 0.1,
                "width": 0.4,
                "height": 0.04,
                "required": True,
                "label": "Tax year",
            }
        )
    return out


async def draft_envelope(
    http: AsyncClient,
    actor: Actor,
    *,
    document_ids: list[str] | None = None,
    recipients: list[dict[str, Any]] | None = None,
    with_fields: bool = True,
    **body: Any,
) -> dict[str, Any]:
    """A draft envelope (EnvelopeRead) of ``document_ids`` (one new :func:`upload_pdf` by
    default) to ``recipients`` (:func:`two_signers` by default), with
    :func:`signer_fields` placed unless ``with_fields`` is false. ``body`` overrides the
    create request's other members (title, message, client_id, expiry_days, …)."""
    if document_ids is None:
        document_ids = [(await upload_pdf(http, actor))["id"]]
    request = {
        "title": "Engagement letter 2026",
        "message": "Please sign the engagement letter.",
        "document_ids": document_ids,
        "recipients": recipients if recipients is not None else two_signers(),
        **body,
    }
    response = await http.post("/v1/envelopes", json=request, headers=actor.headers)
    assert response.status_code == 201, response.text
    envelope: dict[str, Any] = response.json()
    if with_fields:
        placed = await http.put(
            f"/v1/envelopes/{envelope['id']}/fields",
            json={"fields": signer_fields(envelope)},
            headers=actor.headers,
        )
        assert placed.status_code == 200, placed.text
        envelope = placed.json()
    return envelope


async def send_envelope(http: AsyncClient, actor: Actor, envelope_id: str) -> dict[str, Any]:
    """Send a draft; the EnvelopeRead as sent."""
    response = await http.post(f"/v1/envelopes/{envelope_id}/send", headers=actor.headers)
    assert response.status_code == 200, response.text
    envelope: dict[str, Any] = response.json()
    return envelope


async def sent_envelope(http: AsyncClient, actor: Actor, **kwargs: Any) -> dict[str, Any]:
    """:func:`draft_envelope` (same arguments), sent."""
    draft = await draft_envelope(http, actor, **kwargs)
    return await send_envelope(http, actor, draft["id"])
