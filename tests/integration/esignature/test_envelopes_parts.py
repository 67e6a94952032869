"""A draft's recipients and field layout through the API (each bad field with its own
pointer), and the trail's one way in: a provider's event delivered twice is recorded
once."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from models import EnvelopeEvent, EnvelopeEventKind
from services.esignature import trail
from tests.audit import audit_actions
from tests.esignature_factories import draft_envelope, send_envelope, signer_fields
from tests.factories import Actor, make_firm
from tests.problems import assert_problem, pointers


def field(envelope: dict[str, Any], recipient: int, **overrides: Any) -> dict[str, Any]:
    return {
        "recipient_id": envelope["recipients"][recipient]["id"],
        "envelope_document_id": envelope["documents"][0]["id"],
        "kind": "signature",
        "page": 1,
        "x": 0.1,
        "y": 0.1,
        "width": 0.2,
        "height": 0.05,
        **overrides,
    }


async def put_fields(api: AsyncClient, actor: Actor, envelope: dict[str, Any], fields: Any) -> Any:
    return await api.put(
        f"/v1/envelopes/{envelope['id']}/fields", json={"fields": fields}, headers=actor.headers
    )


async def test_the_layout_is_replaced_whole(api: AsyncClient, owner: Actor) -> None:
    envelope = await draft_envelope(api, owner)
    assert len(envelope["fields"]) == len(signer_fields(envelope)) == 5
    text = field(envelope, 0, kind="text", page=2, label="Tax year", required=False)
    replaced = await put_fields(api, owner, envelope, [field(envelope, 0), text])
    assert replaced.status_code == 200, replaced.text
    placed = replaced.json()["fields"]
    assert [(f["kind"], f["page"], f["required"], f["label"]) for f in placed] == [
        ("signature", 1, True, None),
        ("text", 2, False, "Tax year"),
    ]
    assert (await put_fields(api, owner, envelope, [])).json()["fields"] == []


async def test_each_bad_field_is_refused_with_its_pointer(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    recipients = [
        {"name": "Ada", "email": "ada@example.com", "role": "signer"},
        {"name": "Alan", "email": "alan@example.com", "role": "approver"},
        {"name": "Cc", "email": "cc@example.com", "role": "cc"},
    ]
    envelope = await draft_envelope(api, owner, recipients=recipients, with_fields=False)
    other = await draft_envelope(api, owner)
    bad = [
        field(envelope, 0),
        field(envelope, 1, kind="initials"),
        field(envelope, 2, kind="text"),
        field(envelope, 0, page=3),
        field(envelope, 0, x=0.9, width=0.2),
        field(envelope, 0, y=0.99, height=0.05),
        {**field(envelope, 0), "recipient_id": other["recipients"][0]["id"]},
        {**field(envelope, 0), "envelope_document_id": other["documents"][0]["id"]},
        field(envelope, 1, kind="checkbox"),
    ]
    body = assert_problem(await put_fields(api, owner, envelope, bad), 422)
    assert pointers(body) == {
        "/fields/1/kind",
        "/fields/2/recipient_id",
        "/fields/3/page",
        "/fields/4/width",
        "/fields/5/height",
        "/fields/6/recipient_id",
        "/fields/7/envelope_document_id",
    }
    shape = [field(envelope, 0, x=-0.1), field(envelope, 0, width=0), field(envelope, 0, kind="x")]
    body = assert_problem(await put_fields(api, owner, envelope, shape), 422)
    assert pointers(body) == {"/fields/0/x", "/fields/1/width", "/fields/2/kind"}
    unchanged = await api.get(f"/v1/envelopes/{envelope['id']}", headers=owner.headers)
    assert unchanged.json()["fields"] == []
    await send_envelope(api, owner, other["id"])
    late = await put_fields(api, owner, other, [field(other, 0)])
    assert pointers(assert_problem(late, 409)) == {"/status"}
    stranger = await make_firm(db, "Other")
    assert_problem(
        await api.put(
            f"/v1/envelopes/{envelope['id']}/fields", json={"fields": []}, headers=stranger.headers
        ),
        404,
    )


async def test_a_drafts_recipients_are_added_changed_and_removed(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await draft_envelope(api, owner)
    path = f"/v1/envelopes/{envelope['id']}/recipients"
    added = await api.post(
        path,
        json={"name": "Alan", "email": "ALAN@example.com", "role": "approver", "routing_order": 3},
        headers=owner.headers,
    )
    assert added.status_code == 201, added.text
    alan = added.json()
    assert (alan["email"], alan["role"], alan["status"]) == (
        "alan@example.com",
        "approver",
        "created",
    )
    changed = await api.patch(
        f"{path}/{alan['id']}",
        json={"routing_order": 2, "require_code": True},
        headers=owner.headers,
    )
    assert (changed.json()["routing_order"], changed.json()["require_code"]) == (2, True)
    bad = await api.patch(f"{path}/{alan['id']}", json={"email": "nope"}, headers=owner.headers)
    assert pointers(assert_problem(bad, 422)) == {"/email"}
    first = envelope["recipients"][0]["id"]
    assert (await api.delete(f"{path}/{first}", headers=owner.headers)).status_code == 204
    after = (await api.get(f"/v1/envelopes/{envelope['id']}", headers=owner.headers)).json()
    assert [r["name"] for r in after["recipients"]] == ["Grace Hopper", "Alan"]
    # Their fields went with them.
    assert all(f["recipient_id"] != first for f in after["fields"])
    assert_problem(await api.delete(f"{path}/{first}", headers=owner.headers), 404)
    other = await draft_envelope(api, owner)
    elsewhere = f"/v1/envelopes/{other['id']}/recipients/{alan['id']}"
    assert_problem(await api.patch(elsewhere, json={"name": "x"}, headers=owner.headers), 404)
    actions = await audit_actions(db, owner.firm.id, record_type="envelope")
    assert {"envelope.recipient_added", "envelope.recipient_updated"} <= set(actions)
    assert "envelope.recipient_removed" in actions


async def test_a_providers_event_delivered_twice_is_recorded_once(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    envelope = await draft_envelope(api, owner, with_fields=False)
    envelope_id = uuid.UUID(envelope["id"])
    await scope_to_firm(db, owner.firm.id)
    kwargs: dict[str, Any] = {"source": "docusign", "provider_event_id": "evt-1"}
    first = await trail.record_event(
        db, owner.firm.id, envelope_id, EnvelopeEventKind.viewed, **kwargs
    )
    again = await trail.record_event(
        db, owner.firm.id, envelope_id, EnvelopeEventKind.viewed, **kwargs
    )
    assert first is not None and again is None
    count = await db.scalar(
        select(func.count()).where(
            EnvelopeEvent.envelope_id == envelope_id, EnvelopeEvent.provider_event_id == "evt-1"
        )
    )
    assert count == 1
    # Events without a provider id are never taken for duplicates.
    for _ in range(2):
        assert await trail.record_event(db, owner.firm.id, envelope_id, EnvelopeEventKind.reminded)
