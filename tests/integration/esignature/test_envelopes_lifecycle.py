"""An envelope after its draft, through the API: send (what it refuses, with pointers;
the workflow's start in the outbox with its id and search attributes), void, a recipient's
correction, re-send once expired (the next round's signal-with-start), remind now, and the
trail; each step in the wrong state is a 409."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.search_attributes import SA_ENVELOPE, SA_FIRM, SA_PROCESS
from models import Envelope, EnvelopeEvent, EnvelopeRecipient, OutboxMessage
from services.esignature import lifecycle, progress
from tests.audit import audit_actions
from tests.esignature_factories import SIGNER_ONE, draft_envelope, send_envelope, sent_envelope
from tests.factories import Actor
from tests.problems import assert_problem, pointers
from workflows.esignature.envelope import contracts as envelope_contracts


async def outbox(db: AsyncSession, actor: Actor, kind: str) -> list[OutboxMessage]:
    """The firm's messages of ``kind`` about envelopes (an upload starts other work)."""
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.firm_id == actor.firm.id, OutboxMessage.kind == kind)
        .order_by(OutboxMessage.created_at)
    )
    return [m for m in rows if _about_envelopes(m.payload)]


def _about_envelopes(payload: dict[str, Any]) -> bool:
    return str(payload.get("workflow_id", "")).startswith("envelope-") or str(
        payload.get("event", "")
    ).startswith("envelope.")


async def trail(db: AsyncSession, actor: Actor, envelope_id: str) -> list[EnvelopeEvent]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(EnvelopeEvent)
        .where(EnvelopeEvent.envelope_id == uuid.UUID(envelope_id))
        .order_by(EnvelopeEvent.occurred_at, EnvelopeEvent.id)
    )
    return list(rows)


async def test_sending_starts_the_workflow_through_the_outbox(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await sent_envelope(api, owner, expiry_days=14)
    assert envelope["status"] == "sent" and envelope["send_round"] == 1
    assert envelope["sent_by"] == str(owner.user.id)
    sent_at = datetime.fromisoformat(envelope["sent_at"])
    assert datetime.fromisoformat(envelope["expires_at"]) - sent_at == timedelta(days=14)
    [start] = await outbox(db, owner, "start_workflow")
    workflow_id = f"envelope-{envelope['id']}"
    assert start.dedupe_key == f"start:{workflow_id}"
    assert start.payload["workflow"] == "EnvelopeWorkflow"
    assert start.payload["workflow_id"] == workflow_id
    assert start.payload["arg"] == {
        "firm_id": str(owner.firm.id),
        "envelope_id": envelope["id"],
        "send_round": 1,
    }
    assert start.payload["search_attributes"] == {
        SA_PROCESS: "envelope",
        SA_FIRM: str(owner.firm.id),
        SA_ENVELOPE: envelope["id"],
    }
    events = [m.payload for m in await outbox(db, owner, "event")]
    assert [(e["event"], e["envelope_id"]) for e in events] == [("envelope.sent", envelope["id"])]
    kinds = [(e.kind, e.source, e.email) for e in await trail(db, owner, envelope["id"])]
    assert kinds == [("created", "staff", owner.user.email), ("sent", "staff", owner.user.email)]
    assert "envelope.sent" in await audit_actions(db, owner.firm.id, record_type="envelope")
    again = await api.post(f"/v1/envelopes/{envelope['id']}/send", headers=owner.headers)
    assert pointers(assert_problem(again, 409)) == {"/status"}
    assert len(await outbox(db, owner, "start_workflow")) == 1


async def test_a_draft_that_is_not_ready_is_not_sent(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    async def refusal(envelope: dict[str, Any]) -> set[str]:
        response = await api.post(f"/v1/envelopes/{envelope['id']}/send", headers=owner.headers)
        return pointers(assert_problem(response, 422))

    empty = await draft_envelope(api, owner, document_ids=[], recipients=[], with_fields=False)
    assert await refusal(empty) == {"/documents", "/recipients"}
    unplaced = await draft_envelope(api, owner, with_fields=False)
    assert await refusal(unplaced) == {"/recipients/0", "/recipients/1"}
    copy_only = [{**SIGNER_ONE, "role": "cc"}]
    assert await refusal(await draft_envelope(api, owner, recipients=copy_only)) == {"/recipients"}
    docusign = await draft_envelope(api, owner, provider="docusign")
    assert await refusal(docusign) == {"/provider"}
    # A signer made a copy recipient after the fields were placed: their fields are wrong.
    placed = await draft_envelope(api, owner)
    second = placed["recipients"][1]
    changed = await api.patch(
        f"/v1/envelopes/{placed['id']}/recipients/{second['id']}",
        json={"role": "cc"},
        headers=owner.headers,
    )
    assert changed.status_code == 200, changed.text
    problems = await refusal(placed)
    assert problems and all(p.startswith("/fields/") for p in problems)
    assert await outbox(db, owner, "start_workflow") == []


async def test_voiding_needs_a_reason_and_signals_the_workflow(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    draft = await draft_envelope(api, owner)
    path = f"/v1/envelopes/{draft['id']}/void"
    assert_problem(
        await api.post(path, json={"reason": "Wrong client"}, headers=owner.headers), 409
    )
    await send_envelope(api, owner, draft["id"])
    for bad in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}):
        assert pointers(assert_problem(await api.post(path, json=bad, headers=owner.headers), 422))
    voided = await api.post(path, json={"reason": "Wrong client"}, headers=owner.headers)
    assert voided.status_code == 200, voided.text
    body = voided.json()
    assert (body["status"], body["void_reason"]) == ("voided", "Wrong client")
    assert body["voided_at"] is not None
    [signal] = await outbox(db, owner, "signal_workflow")
    assert signal.payload == {
        "workflow_id": f"envelope-{draft['id']}",
        "signal": envelope_contracts.VOID_SIGNAL,
        "arg": {"reason": "Wrong client"},
    }
    events = [m.payload["event"] for m in await outbox(db, owner, "event")]
    assert events == ["envelope.sent", "envelope.voided"]
    last = (await trail(db, owner, draft["id"]))[-1]
    assert (last.kind, last.detail) == ("voided", {"reason": "Wrong client"})
    assert_problem(await api.post(path, json={"reason": "Again"}, headers=owner.headers), 409)
    assert_problem(
        await api.post(f"/v1/envelopes/{draft['id']}/remind", headers=owner.headers), 409
    )


async def test_a_recipient_is_corrected_after_sending_until_they_sign(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await sent_envelope(api, owner)
    first, second = envelope["recipients"]
    path = f"/v1/envelopes/{envelope['id']}/recipients"
    role = await api.patch(f"{path}/{second['id']}", json={"role": "cc"}, headers=owner.headers)
    assert pointers(assert_problem(role, 422)) == {"/role"}
    corrected = await api.patch(
        f"{path}/{second['id']}", json={"email": "Grace@Navy.example"}, headers=owner.headers
    )
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["email"], corrected.json()["link_version"]) == (
        "grace@navy.example",
        2,
    )
    event = (await trail(db, owner, envelope["id"]))[-1]
    assert event.kind == "recipient_corrected" and event.email == owner.user.email
    assert event.detail["from"]["email"] == "grace@example.com"
    assert event.detail["to"]["email"] == "grace@navy.example"
    [signal] = await outbox(db, owner, "signal_workflow")
    assert signal.payload["signal"] == envelope_contracts.CORRECTED_SIGNAL
    assert signal.payload["arg"] == {"recipient_id": second["id"], "change": "corrected"}
    actions = await audit_actions(db, owner.firm.id, record_type="envelope")
    assert "envelope.recipient_corrected" in actions
    # The same again changes nothing and signals nothing.
    same = await api.patch(
        f"{path}/{second['id']}", json={"email": "grace@navy.example"}, headers=owner.headers
    )
    assert same.json()["link_version"] == 2
    assert len(await outbox(db, owner, "signal_workflow")) == 1
    await sign(db, owner, envelope["id"], first["id"])
    late = await api.patch(f"{path}/{first['id']}", json={"name": "Ada"}, headers=owner.headers)
    assert pointers(assert_problem(late, 409)) == {"/status"}
    assert_problem(await api.delete(f"{path}/{first['id']}", headers=owner.headers), 409)
    assert_problem(await api.post(path, json=SIGNER_ONE, headers=owner.headers), 409)


async def sign(db: AsyncSession, actor: Actor, envelope_id: str, recipient_id: str) -> None:
    await scope_to_firm(db, actor.firm.id)
    envelope = await db.get_one(Envelope, uuid.UUID(envelope_id))
    recipient = await db.get_one(EnvelopeRecipient, uuid.UUID(recipient_id))
    assert await progress.recipient_changed(db, envelope, recipient, "signed", source="builtin")
    await db.commit()


async def expire(db: AsyncSession, actor: Actor, envelope_id: str) -> None:
    """What the workflow's expiry step leaves (that step is the workflow's own test's)."""
    await scope_to_firm(db, actor.firm.id)
    await db.execute(
        update(Envelope).where(Envelope.id == uuid.UUID(envelope_id)).values(status="expired")
    )
    await db.commit()


async def test_an_expired_envelope_is_resent_in_a_new_round(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await sent_envelope(api, owner)
    path = f"/v1/envelopes/{envelope['id']}/resend"
    assert pointers(assert_problem(await api.post(path, json={}, headers=owner.headers), 409))
    first = envelope["recipients"][0]
    await sign(db, owner, envelope["id"], first["id"])
    await expire(db, owner, envelope["id"])
    assert_problem(await api.post(path, json={"expiry_days": 121}, headers=owner.headers), 422)
    resent = await api.post(path, json={"expiry_days": 7}, headers=owner.headers)
    assert resent.status_code == 200, resent.text
    body = resent.json()
    assert (body["status"], body["send_round"], body["expiry_days"]) == ("sent", 2, 7)
    assert [r["status"] for r in body["recipients"]] == ["signed", "created"]
    [start] = await outbox(db, owner, "signal_with_start")
    assert start.dedupe_key == envelope_contracts.resend_key(uuid.UUID(envelope["id"]), 2)
    assert start.payload["workflow_id"] == f"envelope-{envelope['id']}"
    assert start.payload["arg"]["send_round"] == 2
    assert start.payload["signal"] == envelope_contracts.RESENT_SIGNAL
    assert start.payload["signal_arg"] == {"send_round": 2}
    assert start.payload["search_attributes"][SA_ENVELOPE] == envelope["id"]
    kinds = [e.kind for e in await trail(db, owner, envelope["id"])]
    assert kinds == ["created", "sent", "signed", "resent"]
    assert "envelope.resent" in await audit_actions(db, owner.firm.id, record_type="envelope")
    assert_problem(await api.post(path, json={}, headers=owner.headers), 409)


async def test_remind_now_signals_once_per_click(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    draft = await draft_envelope(api, owner)
    path = f"/v1/envelopes/{draft['id']}/remind"
    assert pointers(assert_problem(await api.post(path, headers=owner.headers), 409)) == {"/status"}
    await send_envelope(api, owner, draft["id"])
    first = await api.post(path, headers=owner.headers)
    assert first.status_code == 202, first.text
    # A double click is one reminder.
    assert (await api.post(path, headers=owner.headers)).status_code == 202
    signals = await outbox(db, owner, "signal_workflow")
    assert [s.payload["signal"] for s in signals] == [envelope_contracts.REMIND_SIGNAL]
    assert signals[0].payload["arg"] == {"requested_by": str(owner.user.id)}
    # A click a few minutes later is another one.
    await scope_to_firm(db, owner.firm.id)
    row = await db.get_one(Envelope, uuid.UUID(draft["id"]))
    at = datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC)
    assert lifecycle.remind_key(row, at) == lifecycle.remind_key(row, at + timedelta(seconds=30))
    assert lifecycle.remind_key(row, at) != lifecycle.remind_key(row, at + timedelta(minutes=2))


async def test_the_trail_is_read_oldest_first_in_pages(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await sent_envelope(api, owner)
    await api.post(
        f"/v1/envelopes/{envelope['id']}/void", json={"reason": "Done"}, headers=owner.headers
    )
    path = f"/v1/envelopes/{envelope['id']}/events"
    page = await api.get(f"{path}?limit=2", headers=owner.headers)
    assert page.status_code == 200, page.text
    assert [e["kind"] for e in page.json()["items"]] == ["created", "sent"]
    assert page.json()["items"][0]["email"] == owner.user.email
    rest = await api.get(
        f"{path}?limit=2&cursor={page.json()['next_cursor']}", headers=owner.headers
    )
    assert [e["kind"] for e in rest.json()["items"]] == ["voided"]
    assert rest.json()["next_cursor"] is None
    assert rest.json()["items"][0]["detail"] == {"reason": "Done"}


async def test_the_certificate_is_a_pdf(api: AsyncClient, owner: Actor) -> None:
    envelope = await sent_envelope(api, owner)
    response = await api.get(f"/v1/envelopes/{envelope['id']}/certificate", headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    missing = await api.get(f"/v1/envelopes/{uuid.uuid4()}/certificate", headers=owner.headers)
    assert_problem(missing, 404)
