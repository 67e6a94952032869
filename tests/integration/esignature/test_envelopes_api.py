"""Envelope drafts through the API: created from library PDFs (pinned, measured) with their
recipients, each refusal of a document or recipient with its pointer, changes and deletion
of a draft only, documents added and taken out, the list's filters, the page preview and
the download links, and who may do what."""

import io
import uuid
from typing import Any

from httpx import AsyncClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import Document, EnvelopeEvent
from tests.audit import audit_actions
from tests.esignature_factories import (
    SIGNER_ONE,
    draft_envelope,
    sample_pdf,
    upload_pdf,
)
from tests.factories import Actor, add_user, make_firm, new_client
from tests.problems import assert_problem, pointers


async def create(api: AsyncClient, actor: Actor, **body: Any) -> Any:
    request = {"title": "Letter", "document_ids": [], "recipients": [], **body}
    return await api.post("/v1/envelopes", json=request, headers=actor.headers)


async def test_a_draft_pins_each_documents_current_version_and_measures_its_pages(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    one = await upload_pdf(api, owner, title="Letter")
    three = await upload_pdf(api, owner, title="Schedule", content=sample_pdf(3))
    client_id = await new_client(api, owner)
    envelope = await draft_envelope(
        api, owner, document_ids=[one["id"], three["id"]], client_id=client_id, with_fields=False
    )
    assert envelope["status"] == "draft"
    assert envelope["send_round"] == 0 and envelope["expires_at"] is None
    assert (envelope["expiry_days"], envelope["reminder_first_days"]) == (30, 2)
    assert (envelope["reminder_every_days"], envelope["reminder_max"]) == (3, 5)
    documents = envelope["documents"]
    assert [d["title"] for d in documents] == ["Letter", "Schedule"]
    assert [d["page_count"] for d in documents] == [2, 3]
    assert documents[1]["page_sizes"] == [[595.28, 841.89]] * 3
    assert documents[0]["version_id"] == one["current_version"]["id"]
    assert documents[0]["original_sha256"] == one["current_version"]["sha256"]
    assert documents[0]["signed_version_id"] is None
    recipients = envelope["recipients"]
    assert [(r["email"], r["routing_order"], r["status"]) for r in recipients] == [
        ("ada@example.com", 1, "created"),
        ("grace@example.com", 2, "created"),
    ]
    assert all(r["has_signature"] is False and r["link_version"] == 1 for r in recipients)
    assert "code_hash" not in recipients[0] and "signature_image" not in recipients[0]
    # A later version of the document does not change what the envelope sends.
    await upload_new_version(api, owner, one["id"])
    again = (await api.get(f"/v1/envelopes/{envelope['id']}", headers=owner.headers)).json()
    assert again["documents"][0]["version_id"] == one["current_version"]["id"]
    await scope_to_firm(db, owner.firm.id)
    trail = (await db.scalars(select(EnvelopeEvent))).all()
    assert [(e.kind, e.source, e.email) for e in trail] == [("created", "staff", owner.user.email)]
    assert "envelope.created" in await audit_actions(db, owner.firm.id, record_type="envelope")


async def upload_new_version(api: AsyncClient, actor: Actor, document_id: str) -> None:
    response = await api.post(
        f"/v1/documents/{document_id}/versions",
        files={"file": ("v2.pdf", sample_pdf(1), "application/pdf")},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text


async def test_documents_that_cannot_be_sent_are_refused_with_their_pointer(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    good = (await upload_pdf(api, owner))["id"]
    text = await api.post(
        "/v1/documents",
        data={"title": "Notes"},
        files={"file": ("notes.txt", b"Plain notes for the file.\n", "text/plain")},
        headers=owner.headers,
    )
    assert text.status_code == 201, text.text
    binned = (await upload_pdf(api, owner, title="Old"))["id"]
    assert (await api.delete(f"/v1/documents/{binned}", headers=owner.headers)).status_code == 200
    other = await make_firm(db, "Other")
    theirs = (await upload_pdf(api, other))["id"]
    for index, bad in enumerate([text.json()["id"], binned, theirs, str(uuid.uuid4())], 1):
        body = assert_problem(await create(api, owner, document_ids=[good, bad]), 422)
        assert pointers(body) == {"/document_ids/1"}, index
    body = assert_problem(await create(api, owner, document_ids=[good, good]), 422)
    assert pointers(body) == {"/document_ids"}
    await scope_to_firm(db, owner.firm.id)
    assert (await db.scalars(select(EnvelopeEvent))).all() == []


async def test_an_unreadable_pdf_is_refused(api: AsyncClient, owner: Actor) -> None:
    broken = sample_pdf()[:400]
    document = await upload_pdf(api, owner, content=broken)
    body = assert_problem(await create(api, owner, document_ids=[document["id"]]), 422)
    assert pointers(body) == {"/document_ids/0"}


async def test_recipients_are_checked_with_pointers(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    bad_email = {**SIGNER_ONE, "email": "not an address"}
    no_order = {**SIGNER_ONE, "routing_order": 0}
    body = assert_problem(await create(api, owner, recipients=[bad_email, no_order]), 422)
    assert pointers(body) == {"/recipients/0/email", "/recipients/1/routing_order"}
    role = assert_problem(await create(api, owner, recipients=[{**SIGNER_ONE, "role": "x"}]), 422)
    assert pointers(role) == {"/recipients/0/role"}
    other = await make_firm(db, "Other")
    client_id = await new_client(api, other)
    contact = await api.post(
        f"/v1/clients/{client_id}/contacts", json={"name": "Eve"}, headers=other.headers
    )
    theirs = {**SIGNER_ONE, "contact_id": contact.json()["id"]}
    body = assert_problem(await create(api, owner, recipients=[theirs]), 422)
    assert pointers(body) == {"/recipients/0/contact_id"}
    unknown_client = assert_problem(await create(api, owner, client_id=client_id), 404)
    assert pointers(unknown_client) == {"/client_id"}
    assert assert_problem(await create(api, owner, expiry_days=121), 422)


async def test_a_draft_changes_and_is_deleted_and_a_sent_one_is_not(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await draft_envelope(api, owner)
    path = f"/v1/envelopes/{envelope['id']}"
    changed = await api.patch(
        path, json={"title": "Letter 2027", "expiry_days": 10}, headers=owner.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["expiry_days"]) == ("Letter 2027", 10)
    null = assert_problem(await api.patch(path, json={"title": None}, headers=owner.headers), 422)
    assert pointers(null) == {"/title"}
    sent = await api.post(f"{path}/send", headers=owner.headers)
    assert sent.status_code == 200, sent.text
    refused = assert_problem(await api.patch(path, json={"title": "x"}, headers=owner.headers), 409)
    assert pointers(refused) == {"/status"}
    assert_problem(await api.delete(path, headers=owner.headers), 409)
    draft = await draft_envelope(api, owner)
    assert (
        await api.delete(f"/v1/envelopes/{draft['id']}", headers=owner.headers)
    ).status_code == 204
    assert_problem(await api.get(f"/v1/envelopes/{draft['id']}", headers=owner.headers), 404)
    actions = await audit_actions(db, owner.firm.id, record_type="envelope")
    assert {"envelope.updated", "envelope.deleted", "envelope.sent"} <= set(actions)


async def test_documents_are_added_and_taken_out_of_a_draft(api: AsyncClient, owner: Actor) -> None:
    envelope = await draft_envelope(api, owner)
    path = f"/v1/envelopes/{envelope['id']}/documents"
    second = await upload_pdf(api, owner, title="Schedule", content=sample_pdf(1))
    added = await api.post(path, json={"document_id": second["id"]}, headers=owner.headers)
    assert added.status_code == 201, added.text
    assert [d["title"] for d in added.json()["documents"]] == ["Engagement letter", "Schedule"]
    again = await api.post(path, json={"document_id": second["id"]}, headers=owner.headers)
    assert pointers(assert_problem(again, 422)) == {"/document_id"}
    first = added.json()["documents"][0]["id"]
    removed = await api.delete(f"{path}/{first}", headers=owner.headers)
    assert removed.status_code == 200, removed.text
    # The fields placed on it went with it.
    assert [d["title"] for d in removed.json()["documents"]] == ["Schedule"]
    assert removed.json()["fields"] == []
    assert_problem(await api.delete(f"{path}/{first}", headers=owner.headers), 404)


async def test_the_list_filters_by_status_and_client_and_pages(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    client_id = await new_client(api, owner)
    document = (await upload_pdf(api, owner))["id"]
    extras: list[dict[str, Any]] = [{}, {"client_id": client_id}, {"client_id": client_id}]
    made = [
        await draft_envelope(api, owner, document_ids=[document], title=f"E{n}", **extra)
        for n, extra in enumerate(extras)
    ]
    await api.post(f"/v1/envelopes/{made[2]['id']}/send", headers=owner.headers)
    other = await make_firm(db, "Other")
    await draft_envelope(api, other)

    async def titles(query: str) -> list[str]:
        response = await api.get(f"/v1/envelopes?{query}", headers=owner.headers)
        assert response.status_code == 200, response.text
        return [e["title"] for e in response.json()["items"]]

    assert await titles("") == ["E2", "E1", "E0"]
    assert await titles(f"client_id={client_id}") == ["E2", "E1"]
    assert await titles("status=sent") == ["E2"]
    assert await titles(f"status=draft&client_id={client_id}") == ["E1"]
    first = (await api.get("/v1/envelopes?limit=2", headers=owner.headers)).json()
    rest = await api.get(
        f"/v1/envelopes?limit=2&cursor={first['next_cursor']}", headers=owner.headers
    )
    assert [e["title"] for e in rest.json()["items"]] == ["E0"]
    assert rest.json()["next_cursor"] is None
    assert_problem(await api.get("/v1/envelopes?status=lost", headers=owner.headers), 422)


async def test_a_page_preview_is_a_png_of_the_asked_width(api: AsyncClient, owner: Actor) -> None:
    envelope = await draft_envelope(api, owner)
    document = envelope["documents"][0]
    path = f"/v1/envelopes/{envelope['id']}/documents/{document['id']}/pages"
    response = await api.get(f"{path}/2?width=300", headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.width == 300 and abs(image.height - 300 * 841.89 / 595.28) < 1
    default = await api.get(f"{path}/1", headers=owner.headers)
    assert Image.open(io.BytesIO(default.content)).width == 800
    assert_problem(await api.get(f"{path}/3", headers=owner.headers), 404)
    assert_problem(await api.get(f"{path}/1?width=100", headers=owner.headers), 422)
    assert_problem(await api.get(f"{path}/1?width=1601", headers=owner.headers), 422)


async def test_download_links_give_the_pinned_version_and_the_signed_one_only_when_sealed(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await draft_envelope(api, owner)
    document = envelope["documents"][0]
    path = f"/v1/envelopes/{envelope['id']}/documents/{document['id']}/download-link"
    original = await api.post(path, json={"variant": "original"}, headers=owner.headers)
    assert original.status_code == 200, original.text
    fetched = await api.get(original.json()["url"].removeprefix(str(api.base_url).rstrip("/")))
    assert fetched.status_code == 200
    assert fetched.content == sample_pdf()
    signed = await api.post(path, json={"variant": "signed"}, headers=owner.headers)
    assert pointers(assert_problem(signed, 409)) == {"/variant"}
    actions = await audit_actions(db, owner.firm.id, record_type="envelope")
    assert "envelope.document_downloaded" in actions


async def test_builders_read_and_only_staff_send(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await draft_envelope(api, owner)
    path = f"/v1/envelopes/{envelope['id']}"
    builder = await add_user(db, owner, Role.builder)
    assert (await api.get(path, headers=builder.headers)).status_code == 200
    assert (await api.get("/v1/envelopes", headers=builder.headers)).status_code == 200
    assert (await api.get(f"{path}/events", headers=builder.headers)).status_code == 200
    assert_problem(await api.patch(path, json={"title": "x"}, headers=builder.headers), 403)
    assert_problem(await api.post(f"{path}/send", headers=builder.headers), 403)
    assert_problem(await create(api, builder), 403)
    client_user = await add_user(db, owner, Role.client)
    assert_problem(await api.get(path, headers=client_user.headers), 403)


async def test_another_firms_envelope_is_404(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await draft_envelope(api, owner)
    other = await make_firm(db, "Other")
    path = f"/v1/envelopes/{envelope['id']}"
    assert_problem(await api.get(path, headers=other.headers), 404)
    assert_problem(await api.post(f"{path}/send", headers=other.headers), 404)
    assert_problem(await api.delete(path, headers=other.headers), 404)
    await scope_to_firm(db, owner.firm.id)
    assert await db.get(Document, uuid.UUID(envelope["documents"][0]["document_id"]))
