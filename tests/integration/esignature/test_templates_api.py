"""Envelope templates through the API: saved with their roles and fields (each refusal with
its pointer, a taken name a 409), changed, listed and deleted; instantiated for a client
with its contacts or named people (another client's contact refused), as a draft or sent at
once; and the firm's e-signature settings."""

from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from core.roles import Role
from tests.audit import audit_actions
from tests.esignature_factories import sample_pdf, upload_pdf
from tests.factories import Actor, add_user, make_firm, new_client
from tests.problems import assert_problem, pointers


def layout(document_id: str) -> dict[str, Any]:
    place = {"document_id": document_id, "page": 1, "width": 0.3, "height": 0.05, "x": 0.1}
    return {
        "name": "Engagement letter",
        "title": "Engagement letter 2026",
        "message": "Please sign.",
        "document_ids": [document_id],
        "roles": [
            {"key": "client", "name": "Client", "routing_order": 1},
            {"key": "partner", "name": "Partner", "routing_order": 2, "require_code": True},
            {"key": "office", "name": "Office", "role": "cc", "routing_order": 3},
        ],
        "fields": [
            {**place, "role_key": "client", "kind": "signature", "y": 0.7},
            {**place, "role_key": "client", "kind": "date_signed", "y": 0.8},
            {**place, "role_key": "partner", "kind": "signature", "y": 0.9, "page": 2},
        ],
        "expiry_days": 10,
    }


async def saved(api: AsyncClient, actor: Actor) -> dict[str, Any]:
    document = await upload_pdf(api, actor)
    response = await api.post(
        "/v1/envelope-templates", json=layout(document["id"]), headers=actor.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def contact(api: AsyncClient, actor: Actor, client_id: str, **fields: Any) -> str:
    response = await api.post(
        f"/v1/clients/{client_id}/contacts", json={"name": "Ada", **fields}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    contact_id: str = response.json()["id"]
    return contact_id


async def test_a_template_is_saved_changed_listed_and_deleted(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    template = await saved(api, owner)
    assert [r["key"] for r in template["roles"]] == ["client", "partner", "office"]
    assert template["roles"][0] == {
        "key": "client",
        "name": "Client",
        "role": "signer",
        "routing_order": 1,
        "require_code": False,
    }
    assert len(template["fields"]) == 3 and template["expiry_days"] == 10
    path = f"/v1/envelope-templates/{template['id']}"
    changed = await api.patch(path, json={"title": "Letter 2027"}, headers=owner.headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], len(changed.json()["fields"])) == ("Letter 2027", 3)
    listed = await api.get("/v1/envelope-templates", headers=owner.headers)
    assert [t["id"] for t in listed.json()["items"]] == [template["id"]]
    again = await api.post(
        "/v1/envelope-templates",
        json=layout(template["document_ids"][0]),
        headers=owner.headers,
    )
    assert pointers(assert_problem(again, 409)) == {"/name"}
    assert (await api.delete(path, headers=owner.headers)).status_code == 204
    assert_problem(await api.get(path, headers=owner.headers), 404)
    actions = await audit_actions(db, owner.firm.id, record_type="envelope_template")
    assert actions == [
        "envelope_template.created",
        "envelope_template.updated",
        "envelope_template.deleted",
    ]


async def test_a_bad_template_is_refused_with_pointers(api: AsyncClient, owner: Actor) -> None:
    document = (await upload_pdf(api, owner, content=sample_pdf(1)))["id"]
    body = layout(document)
    body["fields"] += [
        {**body["fields"][0], "role_key": "nobody"},
        {**body["fields"][0], "role_key": "office", "kind": "text"},
        {**body["fields"][0], "document_id": body["fields"][0]["document_id"][:-1] + "0"},
    ]
    response = await api.post("/v1/envelope-templates", json=body, headers=owner.headers)
    assert pointers(assert_problem(response, 422)) == {
        "/fields/2/page",
        "/fields/3/role_key",
        "/fields/4/role_key",
        "/fields/5/document_id",
    }
    duplicate_roles = {**layout(document), "roles": [layout(document)["roles"][0]] * 2}
    response = await api.post("/v1/envelope-templates", json=duplicate_roles, headers=owner.headers)
    assert pointers(assert_problem(response, 422)) == {"/roles"}
    other = await upload_pdf(api, owner, title="Notes", content=sample_pdf(2))
    missing = {**layout(other["id"]), "document_ids": [document, "0" * 8 + other["id"][8:]]}
    response = await api.post("/v1/envelope-templates", json=missing, headers=owner.headers)
    assert "/document_ids/1" in pointers(assert_problem(response, 422))


async def instantiate(api: AsyncClient, actor: Actor, template_id: str, **body: Any) -> Response:
    return await api.post(
        f"/v1/envelope-templates/{template_id}/envelopes", json=body, headers=actor.headers
    )


async def test_a_template_makes_an_envelope_for_a_client(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    template = await saved(api, owner)
    client_id = await new_client(api, owner)
    ada = await contact(api, owner, client_id, email="Ada@Client.example")
    people = {
        "client": {"contact_id": ada},
        "partner": {"name": "Grace Hopper", "email": "grace@firm.example"},
        "office": {"name": "Office", "email": "office@firm.example"},
    }
    response = await instantiate(api, owner, template["id"], client_id=client_id, recipients=people)
    assert response.status_code == 201, response.text
    envelope = response.json()
    assert (envelope["status"], envelope["client_id"], envelope["template_id"]) == (
        "draft",
        client_id,
        template["id"],
    )
    assert (envelope["title"], envelope["expiry_days"]) == ("Engagement letter 2026", 10)
    recipients = envelope["recipients"]
    assert [(r["template_role"], r["email"], r["role"]) for r in recipients] == [
        ("client", "ada@client.example", "signer"),
        ("partner", "grace@firm.example", "signer"),
        ("office", "office@firm.example", "cc"),
    ]
    assert recipients[0]["contact_id"] == ada and recipients[1]["require_code"] is True
    by_id = {r["id"]: r["template_role"] for r in recipients}
    assert sorted((by_id[f["recipient_id"]], f["kind"], f["page"]) for f in envelope["fields"]) == [
        ("client", "date_signed", 1),
        ("client", "signature", 1),
        ("partner", "signature", 2),
    ]
    # Staff, who may not change templates, make and send envelopes from them.
    staff = await add_user(db, owner, Role.staff)
    sent = await instantiate(
        api, staff, template["id"], client_id=client_id, recipients=people, send=True, title="Now"
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["status"], sent.json()["title"], sent.json()["send_round"]) == (
        "sent",
        "Now",
        1,
    )


async def test_roles_must_be_filled_by_the_clients_own_contacts(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    template = await saved(api, owner)
    client_id = await new_client(api, owner)
    other_client = await new_client(api, owner, "Contoso")
    theirs = await contact(api, owner, other_client, email="eve@contoso.example")
    no_email = await contact(api, owner, client_id)
    named = {"name": "Grace", "email": "grace@firm.example"}

    async def refusal(**body: Any) -> set[str]:
        return pointers(assert_problem(await instantiate(api, owner, template["id"], **body), 422))

    people = {"client": {"contact_id": theirs}, "partner": named, "office": named}
    assert await refusal(client_id=client_id, recipients=people) == {
        "/recipients/client/contact_id"
    }
    people["client"] = {"contact_id": no_email}
    assert await refusal(client_id=client_id, recipients=people) == {
        "/recipients/client/contact_id"
    }
    assert await refusal(client_id=client_id, recipients={"client": named, "stranger": named}) == {
        "/recipients/stranger",
        "/recipients/office",
        "/recipients/partner",
    }
    stranger = await make_firm(db, "Other")
    foreign = await new_client(api, stranger)
    response = await instantiate(
        api, owner, template["id"], client_id=foreign, recipients={k: named for k in people}
    )
    assert pointers(assert_problem(response, 404)) == {"/client_id"}
    assert_problem(
        await instantiate(api, stranger, template["id"], client_id=foreign, recipients={}), 404
    )


async def test_the_firms_esignature_settings(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    path = "/v1/firm/esignature-settings"
    assert (await api.get(path, headers=owner.headers)).json() == {
        "legal_hold_on_completion": False
    }
    put = await api.put(path, json={"legal_hold_on_completion": True}, headers=owner.headers)
    assert put.json() == {"legal_hold_on_completion": True}
    staff = await add_user(db, owner, Role.staff)
    assert (await api.get(path, headers=staff.headers)).json()["legal_hold_on_completion"]
    refused = await api.put(path, json={"legal_hold_on_completion": False}, headers=staff.headers)
    assert_problem(refused, 403)
    assert_problem(await api.put(path, json={}, headers=owner.headers), 422)
    actions = await audit_actions(db, owner.firm.id, record_type="firm")
    assert actions.count("firm.esignature_settings_updated") == 1


async def test_a_change_is_checked_as_a_whole_template_and_pages_again_when_used(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    template = await saved(api, owner)
    path = f"/v1/envelope-templates/{template['id']}"
    no_partner = [r for r in template["roles"] if r["key"] != "partner"]
    response = await api.patch(path, json={"roles": no_partner}, headers=owner.headers)
    assert pointers(assert_problem(response, 422)) == {"/fields/2/role_key"}
    assert_problem(await api.patch(path, json={"name": None}, headers=owner.headers), 422)
    builder = await add_user(db, owner, Role.builder)
    assert (await api.get(path, headers=builder.headers)).status_code == 200
    assert_problem(await api.patch(path, json={"title": "x"}, headers=builder.headers), 403)
    staff = await add_user(db, owner, Role.staff)
    assert_problem(await api.patch(path, json={"title": "x"}, headers=staff.headers), 403)
    assert_problem(await api.delete(path, headers=staff.headers), 403)
    # The document lost its second page since: the partner's field has nowhere to go.
    document_id = template["document_ids"][0]
    shorter = await api.post(
        f"/v1/documents/{document_id}/versions",
        files={"file": ("v2.pdf", sample_pdf(1), "application/pdf")},
        headers=owner.headers,
    )
    assert shorter.status_code == 201, shorter.text
    client_id = await new_client(api, owner)
    named = {"name": "Grace", "email": "grace@firm.example"}
    people = {key: named for key in ("client", "partner", "office")}
    response = await instantiate(api, owner, template["id"], client_id=client_id, recipients=people)
    assert pointers(assert_problem(response, 422)) == {"/fields/2/page"}
