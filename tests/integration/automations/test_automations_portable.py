"""Diff between versions, and export/import of automations as JSON or YAML documents."""

import json
from typing import Any

import yaml
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.audit import audit_actions
from tests.automations import BASE, published, save_draft
from tests.factories import make_firm
from tests.integration.automations.test_automations import definition
from tests.problems import assert_problem, pointers


async def test_diff_between_versions(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    automation_id = await published(client, actor, definition())
    changed = definition("https://example.com/v2")
    changed["trigger"] = {"type": "webhook"}
    del changed["steps"]["done"]
    changed["steps"]["call"]["next"] = "finish"
    changed["steps"]["finish"] = {"type": "stop", "params": {"status": "failed"}}
    await save_draft(client, actor, automation_id, changed)
    await client.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)

    response = await client.get(f"{BASE}/{automation_id}/versions/1/diff/2", headers=actor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == 1 and body["to"] == 2
    assert body["trigger"] == {"before": {"type": "manual"}, "after": {"type": "webhook"}}
    assert body["steps"]["added"] == [{"id": "finish", "pointer": "/steps/finish"}]
    assert body["steps"]["removed"] == [{"id": "done", "pointer": "/steps/done"}]
    [call] = body["steps"]["changed"]
    assert call["id"] == "call"
    assert call["changes"] == [
        {"op": "replace", "pointer": "/steps/call/next", "before": "done", "after": "finish"},
        {
            "op": "replace",
            "pointer": "/steps/call/params/url",
            "before": "https://example.com/hook",
            "after": "https://example.com/v2",
        },
    ]
    assert body["changes"] == [
        {"op": "replace", "pointer": "/trigger/type", "before": "manual", "after": "webhook"}
    ]

    backwards = await client.get(f"{BASE}/{automation_id}/versions/2/diff/1", headers=actor.headers)
    assert backwards.json()["steps"]["added"] == [{"id": "done", "pointer": "/steps/done"}]
    same = await client.get(f"{BASE}/{automation_id}/versions/1/diff/1", headers=actor.headers)
    assert same.json()["steps"] == {"added": [], "removed": [], "changed": []}
    assert same.json()["trigger"] is None and same.json()["changes"] == []
    missing = await client.get(f"{BASE}/{automation_id}/versions/1/diff/7", headers=actor.headers)
    assert "no version 7" in assert_problem(missing, 404)["detail"]
    not_a_number = await client.get(
        f"{BASE}/{automation_id}/versions/1/diff/x", headers=actor.headers
    )
    assert_problem(not_a_number, 422)


async def test_export_and_import_round_trip_in_json_and_yaml(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    automation_id = await published(client, actor, definition())
    await client.patch(
        f"{BASE}/{automation_id}", json={"description": "Calls the CRM"}, headers=actor.headers
    )

    exported = await client.get(f"{BASE}/{automation_id}/export", headers=actor.headers)
    assert exported.headers["content-type"].startswith("application/json")
    assert "attachment" in exported.headers["content-disposition"]
    document = exported.json()
    assert document == {
        "kind": "firmflow/automation",
        "name": "Onboarding",
        "description": "Calls the CRM",
        "definition": definition(),
    }
    as_yaml = await client.get(
        f"{BASE}/{automation_id}/export", params={"format": "yaml"}, headers=actor.headers
    )
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text) == document

    for content, headers, params in [
        (json.dumps(document), {}, {}),
        (as_yaml.text, {"Content-Type": "application/yaml"}, {}),
        (as_yaml.text, {}, {"format": "yaml"}),
    ]:
        response = await client.post(
            f"{BASE}/import",
            content=content,
            params=params,
            headers={**actor.headers, **headers},
        )
        assert response.status_code == 201, response.text
        imported = response.json()
        assert imported["version"] is None
        assert imported["automation"]["draft"] == definition()
        assert imported["automation"]["status"] == "draft"
        assert imported["automation"]["description"] == "Calls the CRM"
        assert imported["automation"]["id"] != automation_id
        assert await audit_actions(db, actor.firm.id, record_id=imported["automation"]["id"]) == [
            "automation.imported"
        ]

    with_publish = await client.post(
        f"{BASE}/import",
        content=json.dumps(document),
        params={"publish": "true"},
        headers=actor.headers,
    )
    assert with_publish.json()["version"]["version"] == 1
    assert with_publish.json()["version"]["definition"] == definition()


async def test_export_of_the_draft_and_when_nothing_is_published(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    created = await client.post(BASE, json={"name": "New"}, headers=actor.headers)
    automation_id = created.json()["id"]
    url = f"{BASE}/{automation_id}/export"
    assert (
        "no published version"
        in assert_problem(await client.get(url, headers=actor.headers), 409)["detail"]
    )
    no_draft = await client.get(url, params={"source": "draft"}, headers=actor.headers)
    assert "no draft" in assert_problem(no_draft, 409)["detail"]
    work_in_progress: dict[str, Any] = {"schema_version": 1, "steps": {}}
    await save_draft(client, actor, automation_id, work_in_progress)
    draft = await client.get(url, params={"source": "draft"}, headers=actor.headers)
    assert draft.json()["definition"] == work_in_progress
    bad_format = await client.get(url, params={"format": "xml"}, headers=actor.headers)
    assert_problem(bad_format, 422)


async def test_import_refuses_invalid_documents(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    good = {"kind": "firmflow/automation", "name": "X", "definition": definition()}
    broken_definition = json.loads(json.dumps(good))
    broken_definition["definition"]["steps"]["call"]["next"] = "ghost"
    duplicate_yaml = (
        "kind: firmflow/automation\nname: X\ndefinition:\n  schema_version: 1\n"
        "  steps:\n    a: {type: stop}\n    a: {type: stop}\n"
    )
    cases: list[tuple[str, dict[str, str], str, str]] = [
        (json.dumps(broken_definition), {}, "/definition/steps/call/next", "does not exist"),
        (json.dumps({**good, "kind": "zapier"}), {}, "/kind", "firmflow/automation"),
        (json.dumps({**good, "extra": 1}), {}, "/extra", "unknown member"),
        (json.dumps({"kind": "firmflow/automation", "name": "X"}), {}, "/definition", "required"),
        ('{"kind": "a", "kind": "b"}', {}, "/kind", "duplicate key"),
        (duplicate_yaml, {"Content-Type": "application/yaml"}, "", "duplicate key 'a'"),
        ("a: [unclosed", {"Content-Type": "application/yaml"}, "", "not valid YAML"),
        ("!!python/object:os.system {}", {"Content-Type": "application/yaml"}, "", "YAML"),
        ("- just\n- a list\n", {"Content-Type": "application/yaml"}, "", "valid dictionary"),
        ("a: " + "[" * 40 + "]" * 40, {"Content-Type": "application/yaml"}, "", "levels deep"),
        ('{"a": ' + "[" * 900 + "]" * 900 + "}", {}, "", "levels deep"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
            {"Content-Type": "application/yaml"},
            "",
            "aliases (*name) are not accepted",
        ),
    ]
    for content, headers, pointer, detail in cases:
        response = await client.post(
            f"{BASE}/import", content=content, headers={**actor.headers, **headers}
        )
        body = assert_problem(response, 422)
        assert pointer in pointers(body), (content, body)
        assert detail in body["detail"], (content, body)
    listed = await client.get(BASE, headers=actor.headers)
    assert listed.json()["items"] == [], "nothing is created by a refused import"
