"""Automations through the API: draft, publish, immutable versions, rollback, status,
validation, the list, permissions, the audit trail and the constant-query load."""

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.roles import Role
from services.automations import automations
from services.automations.automations import AutomationFields
from tests.audit import audit_actions
from tests.automations import BASE, create, published, save_draft
from tests.factories import add_user, make_firm, principal_of
from tests.problems import assert_problem, pointers


def definition(url: str = "https://example.com/hook", **extra_steps: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "call",
        "steps": {
            "call": {
                "type": "http_request",
                "params": {"method": "POST", "url": url},
                "next": "done",
            },
            "done": {"type": "stop"},
            **extra_steps,
        },
    }


def chain(length: int) -> dict[str, Any]:
    steps: dict[str, Any] = {
        f"s{i}": {"type": "set", "params": {"vars": {"i": i}}, "next": f"s{i + 1}"}
        for i in range(length - 1)
    }
    steps[f"s{length - 1}"] = {"type": "stop"}
    return {"schema_version": 1, "trigger": {"type": "manual"}, "start": "s0", "steps": steps}


async def test_draft_publish_versions_and_rollback(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    created = await create(client, actor)
    assert created["status"] == "draft" and created["draft"] is None
    assert created["latest_version"] is None
    automation_id = created["id"]

    saved = await save_draft(client, actor, automation_id, definition())
    assert saved["problems"] == [] and saved["draft"] == definition()
    first = await client.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    assert first.status_code == 201
    assert first.json()["version"] == 1 and first.json()["definition"] == definition()

    again = await client.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    assert "identical to version 1" in assert_problem(again, 409)["detail"]

    await save_draft(client, actor, automation_id, definition("https://example.com/v2"))
    second = await client.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    assert second.json()["version"] == 2

    v1 = await client.get(f"{BASE}/{automation_id}/versions/1", headers=actor.headers)
    assert v1.json()["definition"] == definition(), "a published version never changes"

    rolled = await client.post(f"{BASE}/{automation_id}/versions/1/rollback", headers=actor.headers)
    assert rolled.status_code == 201
    assert rolled.json()["version"] == 3 and rolled.json()["rolled_back_from"] == 1
    assert rolled.json()["definition"] == definition()
    current = (await client.get(f"{BASE}/{automation_id}", headers=actor.headers)).json()
    assert current["latest_version"] == 3 and current["draft"] == definition()

    latest = await client.post(f"{BASE}/{automation_id}/versions/3/rollback", headers=actor.headers)
    assert "already the latest" in assert_problem(latest, 409)["detail"]
    missing = await client.post(
        f"{BASE}/{automation_id}/versions/9/rollback", headers=actor.headers
    )
    assert_problem(missing, 404)

    listed = await client.get(f"{BASE}/{automation_id}/versions", headers=actor.headers)
    assert [v["version"] for v in listed.json()["items"]] == [3, 2, 1]
    assert "definition" not in listed.json()["items"][0]

    assert await audit_actions(db, actor.firm.id, record_id=automation_id) == [
        "automation.created",
        "automation.draft_saved",
        "automation.published",
        "automation.draft_saved",
        "automation.published",
        "automation.rolled_back",
    ]


async def test_draft_may_be_invalid_but_publishing_it_is_refused(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    automation_id = (await create(client, actor))["id"]
    draft = definition()
    draft["steps"]["call"]["next"] = "nowhere"
    saved = await save_draft(client, actor, automation_id, draft)
    assert [p["pointer"] for p in saved["problems"]] == ["/steps/call/next"]

    response = await client.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    body = assert_problem(response, 422)
    assert pointers(body) == {"/steps/call/next"}
    assert body["detail"].startswith("/steps/call/next: ")
    versions = await client.get(f"{BASE}/{automation_id}/versions", headers=actor.headers)
    assert versions.json()["items"] == []


async def test_publish_without_a_draft(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    automation_id = (await create(client, actor))["id"]
    response = await client.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    assert "no draft" in assert_problem(response, 409)["detail"]


@pytest.mark.parametrize(
    ("body", "pointer", "detail"),
    [
        (b'{"steps": {"a": {}, "a": {}}}', "/steps/a", "duplicate step id 'a'"),
        (b"{not json", "", "not valid JSON"),
        (b"[]", "", "must be an object"),
    ],
)
async def test_a_draft_must_be_one_json_object_without_duplicates(
    client: AsyncClient, db: AsyncSession, body: bytes, pointer: str, detail: str
) -> None:
    actor = await make_firm(db)
    automation_id = (await create(client, actor))["id"]
    response = await client.put(
        f"{BASE}/{automation_id}/draft", content=body, headers=actor.headers
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["pointer"] == pointer
    assert detail in problem["errors"][0]["detail"]
    unchanged = await client.get(f"{BASE}/{automation_id}", headers=actor.headers)
    assert unchanged.json()["draft"] is None


async def test_validate_endpoint(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    ok = await client.post(
        f"{BASE}/validate", content=json.dumps(definition()), headers=actor.headers
    )
    assert ok.status_code == 200 and ok.json() == {"valid": True}

    bad = definition()
    bad["steps"]["call"]["params"]["url"] = "https://x/{{ trigger.id "
    bad["steps"]["lost"] = {"type": "stop"}
    response = await client.post(f"{BASE}/validate", content=json.dumps(bad), headers=actor.headers)
    body = assert_problem(response, 422)
    assert body["type"].endswith("/invalid-automation-definition")
    assert pointers(body) == {"/steps/call/params/url"}
    assert body["errors"][0]["detail"].startswith("invalid expression")

    duplicate = b'{"schema_version": 1, "steps": {"x": {"type": "stop"}, "x": {"type": "stop"}}}'
    response = await client.post(f"{BASE}/validate", content=duplicate, headers=actor.headers)
    assert pointers(assert_problem(response, 422)) == {"/steps/x"}

    nothing_saved = await client.get(BASE, headers=actor.headers)
    assert nothing_saved.json()["items"] == []


async def test_status_transitions(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    automation_id = (await create(client, actor))["id"]
    url = f"{BASE}/{automation_id}"

    early = await client.post(f"{url}/activate", headers=actor.headers)
    assert "Publish a version" in assert_problem(early, 409)["detail"]
    assert_problem(await client.post(f"{url}/pause", headers=actor.headers), 409)

    await save_draft(client, actor, automation_id, definition())
    await client.post(f"{url}/publish", headers=actor.headers)
    activated = await client.post(f"{url}/activate", headers=actor.headers)
    assert activated.json()["status"] == "active"
    assert (await client.post(f"{url}/activate", headers=actor.headers)).status_code == 200
    assert (await client.post(f"{url}/pause", headers=actor.headers)).json()["status"] == "paused"
    assert (await client.post(f"{url}/pause", headers=actor.headers)).status_code == 200
    reactivated = await client.post(f"{url}/activate", headers=actor.headers)
    assert reactivated.json()["status"] == "active"
    archived = await client.post(f"{url}/archive", headers=actor.headers)
    assert archived.json()["status"] == "archived"
    assert (await client.post(f"{url}/archive", headers=actor.headers)).status_code == 200

    # Archived is read-only for good.
    assert_problem(await client.post(f"{url}/activate", headers=actor.headers), 409)
    assert_problem(await client.post(f"{url}/pause", headers=actor.headers), 409)
    draft = await client.put(f"{url}/draft", content=b"{}", headers=actor.headers)
    assert "archived" in assert_problem(draft, 409)["detail"]
    assert_problem(await client.post(f"{url}/publish", headers=actor.headers), 409)
    rename = await client.patch(url, json={"name": "New"}, headers=actor.headers)
    assert_problem(rename, 409)
    assert_problem(await client.post(f"{url}/versions/1/rollback", headers=actor.headers), 409)
    # Its versions stay readable.
    assert (await client.get(f"{url}/versions/1", headers=actor.headers)).status_code == 200

    trail = await audit_actions(db, actor.firm.id, record_id=automation_id)
    assert trail.count("automation.activated") == 2
    assert trail.count("automation.paused") == 1 and trail.count("automation.archived") == 1


async def test_update_name_and_description(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    automation_id = (await create(client, actor))["id"]
    url = f"{BASE}/{automation_id}"
    changed = await client.patch(
        url, json={"name": " Renamed ", "description": "Why"}, headers=actor.headers
    )
    assert changed.json()["name"] == "Renamed" and changed.json()["description"] == "Why"
    same = await client.patch(url, json={"name": "Renamed"}, headers=actor.headers)
    assert same.status_code == 200
    assert (await audit_actions(db, actor.firm.id, record_id=automation_id)).count(
        "automation.updated"
    ) == 1

    for body, pointer in [
        ({"name": None}, "/name"),
        ({"name": ""}, "/name"),
        ({"colour": "red"}, "/colour"),
    ]:
        response = await client.patch(url, json=body, headers=actor.headers)
        assert pointers(assert_problem(response, 422)) == {pointer}
    cleared = await client.patch(url, json={"description": None}, headers=actor.headers)
    assert cleared.json()["description"] is None


async def test_create_rejects_bad_bodies(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    for body, pointer in [
        ({}, "/name"),
        ({"name": "x" * 201}, "/name"),
        ({"name": "A", "definition": {}}, "/definition"),
    ]:
        response = await client.post(BASE, json=body, headers=actor.headers)
        assert pointers(assert_problem(response, 422)) == {pointer}


async def test_list_filters_by_status_and_paginates(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    other = await make_firm(db, "Other")
    await create(client, other, "Not mine")
    ids = [(await create(client, actor, f"A{i}"))["id"] for i in range(3)]
    await save_draft(client, actor, ids[0], definition())
    await client.post(f"{BASE}/{ids[0]}/publish", headers=actor.headers)
    await client.post(f"{BASE}/{ids[0]}/activate", headers=actor.headers)

    first = await client.get(BASE, params={"limit": 2}, headers=actor.headers)
    assert [a["id"] for a in first.json()["items"]] == [ids[2], ids[1]]
    assert "draft" not in first.json()["items"][0]
    cursor = first.json()["next_cursor"]
    second = await client.get(BASE, params={"limit": 2, "cursor": cursor}, headers=actor.headers)
    assert [a["id"] for a in second.json()["items"]] == [ids[0]]
    assert second.json()["next_cursor"] is None

    active = await client.get(BASE, params={"status": "active"}, headers=actor.headers)
    assert [a["id"] for a in active.json()["items"]] == [ids[0]]
    bad = await client.get(BASE, params={"status": "sleeping"}, headers=actor.headers)
    assert_problem(bad, 422)
    bad_cursor = await client.get(BASE, params={"cursor": "nope"}, headers=actor.headers)
    assert_problem(bad_cursor, 400)


async def test_reads_and_writes_need_their_permissions(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    automation_id = await published(client, owner, definition())
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    client_user = await add_user(db, owner, Role.client)

    assert (await client.get(f"{BASE}/{automation_id}", headers=staff.headers)).status_code == 200
    for response in [
        await client.post(BASE, json={"name": "x"}, headers=staff.headers),
        await client.post(f"{BASE}/{automation_id}/pause", headers=staff.headers),
        await client.put(f"{BASE}/{automation_id}/draft", content=b"{}", headers=staff.headers),
        await client.get(BASE, headers=client_user.headers),
        await client.get(f"{BASE}/{automation_id}/versions/1", headers=client_user.headers),
    ]:
        assert_problem(response, 403)
    made = await client.post(BASE, json={"name": "Builder's"}, headers=builder.headers)
    assert made.status_code == 201
    assert made.json()["created_by"] == str(builder.user.id)
    assert_problem(await client.get(BASE), 401)


async def test_another_firms_automation_and_versions_are_404(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    intruder = await make_firm(db, "Intruder")
    automation_id = await published(client, owner, definition())
    for method, path in [
        ("GET", f"{BASE}/{automation_id}"),
        ("GET", f"{BASE}/{automation_id}/versions"),
        ("GET", f"{BASE}/{automation_id}/versions/1"),
        ("GET", f"{BASE}/{automation_id}/versions/1/diff/1"),
        ("GET", f"{BASE}/{automation_id}/export"),
        ("POST", f"{BASE}/{automation_id}/publish"),
        ("POST", f"{BASE}/{automation_id}/versions/1/rollback"),
        ("POST", f"{BASE}/{automation_id}/archive"),
    ]:
        response = await client.request(method, path, headers=intruder.headers)
        assert_problem(response, 404)
    draft = await client.put(
        f"{BASE}/{automation_id}/draft", content=b"not even json", headers=intruder.headers
    )
    assert_problem(draft, 404)
    listed = await client.get(BASE, headers=intruder.headers)
    assert listed.json()["items"] == []


async def test_published_versions_are_immutable_in_the_database(db: AsyncSession) -> None:
    actor = await make_firm(db)
    principal = principal_of(actor)
    automation = await automations.create_automation(
        db, principal, fields=AutomationFields(name="Frozen"), draft=definition()
    )
    version = await automations.publish(db, principal, automation.id)
    for statement in [
        "UPDATE automation_versions SET definition = '{}' WHERE id = :id",
        "DELETE FROM automation_versions WHERE id = :id",
    ]:
        with pytest.raises(DBAPIError, match="permission denied"):
            async with db.begin_nested():
                await db.execute(text(statement), {"id": version.id})


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_a_1000_step_version_loads_in_at_most_3_queries(
    db: AsyncSession, engine: AsyncEngine
) -> None:
    actor = await make_firm(db)
    principal = principal_of(actor)
    big = chain(1000)
    automation = await automations.create_automation(
        db, principal, fields=AutomationFields(name="Big"), draft=big
    )
    await automations.publish(db, principal, automation.id)
    db.expunge_all()

    with counted(engine) as statements:
        version = await automations.get_version(db, principal, automation.id, 1)
        definition_loaded = version.definition
    assert len(definition_loaded["steps"]) == 1000
    assert 1 <= len(statements) <= 3, statements
    db.expunge_all()

    with counted(engine) as statements:
        parsed = await automations.load_definition(db, principal, automation.id, 1)
    assert len(parsed.steps) == 1000 and parsed.start == "s0"
    assert 1 <= len(statements) <= 3, statements


async def test_oversized_definitions_are_refused_before_parsing(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    automation_id = (await create(client, actor))["id"]
    huge = b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    for method, path in [
        ("POST", f"{BASE}/validate"),
        ("PUT", f"{BASE}/{automation_id}/draft"),
        ("POST", f"{BASE}/import"),
    ]:
        response = await client.request(method, path, content=huge, headers=actor.headers)
        assert "at most" in assert_problem(response, 413)["detail"]

    async def chunked() -> AsyncIterator[bytes]:
        # No Content-Length: the limit is enforced while reading.
        for _ in range(6):
            yield b" " * (1024 * 1024)

    streamed = await client.post(f"{BASE}/validate", content=chunked(), headers=actor.headers)
    assert_problem(streamed, 413)


async def test_versions_list_paginates(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    automation_id = await published(client, actor, definition())
    for n in range(2, 4):
        await save_draft(client, actor, automation_id, definition(f"https://example.com/v{n}"))
        await client.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    url = f"{BASE}/{automation_id}/versions"
    first = await client.get(url, params={"limit": 2}, headers=actor.headers)
    assert [v["version"] for v in first.json()["items"]] == [3, 2]
    cursor = first.json()["next_cursor"]
    rest = await client.get(url, params={"limit": 2, "cursor": cursor}, headers=actor.headers)
    assert [v["version"] for v in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None
    assert_problem(await client.get(url, params={"limit": 0}, headers=actor.headers), 422)
