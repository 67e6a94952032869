"""The public signing page's API (services/esignature/signing*.py): viewing, consent,
the page images, signing in routing order, a double submit, field and signature checks,
declining, a closed envelope. The workflow is not run: the tests read the
RECIPIENT_SIGNAL messages queued for it."""

import base64
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from httpx import AsyncClient
from PIL import Image, PngImagePlugin
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from models import Envelope
from providers.storage_filesystem import FilesystemStorage
from services.esignature.disclosure import VERSION
from tests.esignature_signing import (
    ADA,
    GRACE,
    USER_AGENT,
    Party,
    consent,
    events,
    link_of,
    page,
    reloaded,
    sent_envelope,
    sign_body,
    signals,
    signing_app,
)
from tests.factories import Actor
from tests.mailbox import Mailbox
from tests.problems import assert_problem, pointers


@pytest.fixture
async def http(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    storage: FilesystemStorage,
    mailbox: Mailbox,
) -> AsyncIterator[AsyncClient]:
    async with signing_app(settings, sessionmaker, storage, mailbox) as client:
        yield client


def png(*, text_chunk: str | None = None, size: tuple[int, int] = (300, 100)) -> str:
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    for x in range(20, 280):
        image.putpixel((x, 50), (0, 0, 0, 255))
    info = PngImagePlugin.PngInfo()
    if text_chunk is not None:
        info.add_text("Comment", text_chunk)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return base64.b64encode(out.getvalue()).decode()


async def test_the_first_view_records_viewed_once_with_address_and_browser(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, http, owner)
    token = link_of(settings, sent, 0)

    first = await page(http, token, sent.of(0).id)
    again = await page(http, token, sent.of(0).id)

    assert first.status_code == again.status_code == 200, first.text
    view = first.json()
    assert view["recipient"]["status"] == "viewed"
    assert view["firm"]["name"] == owner.firm.name
    assert (view["needs_consent"], view["needs_code"], view["can_sign"]) == (True, False, True)
    assert view["disclosure_version"] == VERSION and "paper copy" in view["disclosure"]
    assert [d["page_count"] for d in view["documents"]] == [2]
    assert {f["kind"] for f in view["fields"]} == {"signature", "date_signed", "text", "checkbox"}
    assert all(f["id"] in {str(x.id) for x in sent.fields[sent.of(0).id]} for f in view["fields"])
    viewed = await events(db, sent, "viewed")
    assert len(viewed) == 1
    assert (viewed[0].email, viewed[0].user_agent, viewed[0].source) == (
        ADA.email,
        USER_AGENT,
        "builtin",
    )
    assert viewed[0].ip_address is not None
    assert await signals(db, sent) == [{"recipient_id": str(sent.of(0).id), "change": "viewed"}]


async def test_pages_need_consent_first_and_consent_is_recorded_once(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, http, owner)
    token = link_of(settings, sent, 0)
    page_path = f"/documents/{sent.document.id}/pages/1"

    refused = assert_problem(await page(http, token, sent.of(0).id, path=page_path), 409)
    assert refused["type"].endswith("consent-required")
    consented = await consent(http, token, sent.of(0).id)
    await consent(http, token, sent.of(0).id)
    image = await page(http, token, sent.of(0).id, path=page_path, params={"width": 300})
    beyond = await page(http, token, sent.of(0).id, path=f"/documents/{sent.document.id}/pages/3")

    assert consented.status_code == 200 and consented.json()["needs_consent"] is False
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size[0] == 300
    assert_problem(beyond, 404)
    recorded = await events(db, sent, "consented")
    assert [e.detail for e in recorded] == [{"disclosure_version": VERSION}]
    assert recorded[0].user_agent == USER_AGENT
    assert_problem(await page(http, token, sent.of(0).id, "POST", path="/consent", json={}), 422)


async def test_the_second_signer_waits_for_the_first(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, http, owner, ADA, GRACE)
    ada, grace = link_of(settings, sent, 0), link_of(settings, sent, 1)
    await consent(http, grace, sent.of(1).id)

    early = await page(http, grace, sent.of(1).id, "POST", path="/sign", json=sign_body(sent, 1))
    assert assert_problem(early, 409)["type"].endswith("not-your-turn")
    assert (await page(http, grace, sent.of(1).id)).json()["can_sign"] is False

    await consent(http, ada, sent.of(0).id)
    first = await page(http, ada, sent.of(0).id, "POST", path="/sign", json=sign_body(sent, 0))
    assert first.status_code == 200, first.text
    assert first.json()["recipient"]["status"] == "signed"
    assert first.json()["can_sign"] is False
    assert (await page(http, grace, sent.of(1).id)).json()["can_sign"] is True
    second = await page(http, grace, sent.of(1).id, "POST", path="/sign", json=sign_body(sent, 1))

    assert second.status_code == 200, second.text
    changes = [(s["recipient_id"], s["change"]) for s in await signals(db, sent)]
    assert (str(sent.of(0).id), "signed") in changes
    assert (str(sent.of(1).id), "signed") in changes


async def test_signing_fills_the_fields_and_keeps_the_signature(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, http, owner, ADA)
    token = link_of(settings, sent, 0)
    await consent(http, token, sent.of(0).id)
    body = sign_body(sent, 0, signature={"kind": "typed", "text": "  Ada Lovelace "})

    signed = await page(http, token, sent.of(0).id, "POST", path="/sign", json=body)

    assert signed.status_code == 200, signed.text
    values = {f["kind"]: f["value"] for f in signed.json()["fields"]}
    assert values["text"] == "2026" and values["checkbox"] == "false"
    assert values["signature"] is None
    assert date.fromisoformat(values["date_signed"])
    recipient = await reloaded(db, sent.of(0))
    assert (recipient.status, recipient.signature_kind) == ("signed", "typed")
    assert recipient.signature_text == "Ada Lovelace" and recipient.signature_image is None
    assert recipient.signed_at is not None
    [event] = await events(db, sent, "signed")
    assert event.detail == {"signature_kind": "typed"} and event.user_agent == USER_AGENT


async def test_a_double_submit_signs_once(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, http, owner, ADA)
    token = link_of(settings, sent, 0)
    await consent(http, token, sent.of(0).id)
    body = sign_body(sent, 0)

    first = await page(http, token, sent.of(0).id, "POST", path="/sign", json=body)
    second = await page(http, token, sent.of(0).id, "POST", path="/sign", json=body)

    assert first.status_code == 200, first.text
    assert assert_problem(second, 409)["type"].endswith("recipient-done")
    assert len(await events(db, sent, "signed")) == 1
    assert [s["change"] for s in await signals(db, sent)].count("signed") == 1


async def test_a_drawn_signature_must_be_a_png_and_is_kept_as_pixels_only(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, http, owner, ADA)
    token = link_of(settings, sent, 0)
    await consent(http, token, sent.of(0).id)
    gif = io.BytesIO()
    Image.new("RGB", (100, 40)).save(gif, format="GIF")
    for bad in (
        base64.b64encode(b"%PDF-1.7 not an image").decode(),
        base64.b64encode(gif.getvalue()).decode(),
        "not base64 at all!",
        png(size=(5000, 100)),
    ):
        body = sign_body(sent, 0, signature={"kind": "drawn", "image_png_base64": bad})
        refused = await page(http, token, sent.of(0).id, "POST", path="/sign", json=body)
        assert pointers(assert_problem(refused, 422)) == {"/signature/image_png_base64"}

    drawn = sign_body(
        sent, 0, signature={"kind": "drawn", "image_png_base64": png(text_chunk="secret")}
    )
    signed = await page(http, token, sent.of(0).id, "POST", path="/sign", json=drawn)

    assert signed.status_code == 200, signed.text
    recipient = await reloaded(db, sent.of(0))
    assert recipient.signature_kind == "drawn" and recipient.signature_image is not None
    stored = Image.open(io.BytesIO(recipient.signature_image))
    assert stored.format == "PNG" and stored.size == (300, 100)
    assert b"secret" not in recipient.signature_image and "Comment" not in stored.info


async def test_the_fields_are_checked_with_a_pointer_each(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, http, owner, ADA)
    token = link_of(settings, sent, 0)
    await consent(http, token, sent.of(0).id)
    by_kind = {f.kind: str(f.id) for f in sent.fields[sent.of(0).id]}
    other = str(sent.envelope.id)
    body = {
        "signature": {"kind": "typed", "text": "   "},
        "fields": [
            {"field_id": by_kind["checkbox"], "value": "yes"},
            {"field_id": other, "value": "x"},
            {"field_id": by_kind["date_signed"], "value": "1999-01-01"},
            {"field_id": by_kind["checkbox"], "value": "true"},
        ],
    }

    refused = await page(http, token, sent.of(0).id, "POST", path="/sign", json=body)

    assert pointers(assert_problem(refused, 422)) == {
        "/fields/0/value",
        "/fields/1/field_id",
        "/fields/2/value",
        "/fields/3/field_id",
        "/fields",
        "/signature/text",
    }
    blank = sign_body(sent, 0)
    blank["fields"] = [{"field_id": by_kind["text"], "value": " "}]
    assert pointers(
        assert_problem(
            await page(http, token, sent.of(0).id, "POST", path="/sign", json=blank), 422
        )
    ) == {"/fields/0/value"}
    long = sign_body(sent, 0)
    long["fields"] = [{"field_id": by_kind["text"], "value": "x" * 501}]
    assert pointers(
        assert_problem(await page(http, token, sent.of(0).id, "POST", path="/sign", json=long), 422)
    ) == {"/fields/0/value"}
    unsigned = sign_body(sent, 0)
    del unsigned["signature"]
    assert pointers(
        assert_problem(
            await page(http, token, sent.of(0).id, "POST", path="/sign", json=unsigned), 422
        )
    ) == {"/signature"}
    assert (await reloaded(db, sent.of(0))).signed_at is None


async def test_initials_are_asked_for_exactly_when_placed_and_approvers_do_not_sign(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    initialled = Party(
        "Ada Lovelace",
        "ada@example.com",
        fields=(("signature", True, None), ("initials", True, None)),
    )
    approver = Party("Alan Turing", "alan@example.com", role="approver", fields=())
    sent = await sent_envelope(db, http, owner, initialled, approver)
    ada, alan = link_of(settings, sent, 0), link_of(settings, sent, 1)
    for token, recipient in ((ada, sent.of(0)), (alan, sent.of(1))):
        await consent(http, token, recipient.id)
    typed = {"kind": "typed", "text": "Ada Lovelace"}

    missing = await page(http, ada, sent.of(0).id, "POST", path="/sign", json={"signature": typed})
    long_initials = {"kind": "typed", "text": "Augusta Ada King-Noel, Countess"}
    too_long = await page(
        http,
        ada,
        sent.of(0).id,
        "POST",
        path="/sign",
        json={"signature": typed, "initials": long_initials},
    )
    signed = await page(
        http,
        ada,
        sent.of(0).id,
        "POST",
        path="/sign",
        json={"signature": typed, "initials": {"kind": "drawn", "image_png_base64": png()}},
    )
    approver_signing = await page(
        http, alan, sent.of(1).id, "POST", path="/sign", json={"signature": typed}
    )
    approved = await page(http, alan, sent.of(1).id, "POST", path="/sign", json={})

    assert pointers(assert_problem(missing, 422)) == {"/initials"}
    assert pointers(assert_problem(too_long, 422)) == {"/initials/text"}
    assert signed.status_code == 200, signed.text
    assert (await reloaded(db, sent.of(0))).initials_image is not None
    assert pointers(assert_problem(approver_signing, 422)) == {"/signature"}
    assert approved.status_code == 200, approved.text
    assert (await reloaded(db, sent.of(1))).signature_kind is None


async def test_decline_with_a_reason(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, http, owner)
    token = link_of(settings, sent, 0)

    blank = await page(http, token, sent.of(0).id, "POST", path="/decline", json={"reason": "  "})
    declined = await page(
        http, token, sent.of(0).id, "POST", path="/decline", json={"reason": "Wrong tax year"}
    )
    again = await page(http, token, sent.of(0).id, "POST", path="/decline", json={"reason": "x"})
    signing = await page(http, token, sent.of(0).id, "POST", path="/sign", json=sign_body(sent, 0))

    assert pointers(assert_problem(blank, 422)) == {"/reason"}
    assert declined.status_code == 200, declined.text
    assert declined.json()["recipient"]["status"] == "declined"
    assert assert_problem(again, 409)["type"].endswith("recipient-done")
    assert_problem(signing, 409)
    recipient = await reloaded(db, sent.of(0))
    assert recipient.decline_reason == "Wrong tax year" and recipient.declined_at is not None
    [event] = await events(db, sent, "declined")
    assert event.detail == {"reason": "Wrong tax year"}
    assert await signals(db, sent) == [{"recipient_id": str(sent.of(0).id), "change": "declined"}]


@pytest.mark.parametrize("status", ["voided", "expired", "completed", "declined"])
async def test_a_closed_envelope_is_410(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor, status: str
) -> None:
    sent = await sent_envelope(db, http, owner, ADA)
    token = link_of(settings, sent, 0)
    await consent(http, token, sent.of(0).id)
    await scope_to_firm(db, owner.firm.id)
    closed_at = datetime.now(UTC) if status == "voided" else None
    await db.execute(
        update(Envelope)
        .where(Envelope.id == sent.envelope.id)
        .values(
            status=status, voided_at=closed_at, void_reason="Wrong client" if closed_at else None
        )
    )
    await db.commit()

    for method, path, body in (
        ("GET", "", None),
        ("GET", f"/documents/{sent.document.id}/pages/1", None),
        ("POST", "/sign", sign_body(sent, 0)),
        ("POST", "/decline", {"reason": "Too late"}),
        ("POST", "/code", None),
    ):
        response = await page(http, token, sent.of(0).id, method, path=path, json=body)
        assert assert_problem(response, 410)["type"].endswith("envelope-closed"), path
    assert await events(db, sent, "viewed") == []
