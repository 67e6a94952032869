"""Tasks: the CRUD API, completion, the list filters and pagination, the rules on the ids a
body names (another firm's assignee or client is a 404), and the service the automation
step calls with a system principal."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.routes.tasks import _assignee
from core.db import scope_to_firm
from core.errors import BadRequest, NotFound, Unprocessable
from core.principal import Principal
from core.roles import Role
from models import AuditEvent, Firm, Task, User
from services import clients, tasks
from tests.audit import audit_actions
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, pointers


async def make_client(db: AsyncSession, actor: Actor, name: str = "Northwind") -> uuid.UUID:
    await scope_to_firm(db, actor.firm.id)
    client = await clients.create_client(
        db, Principal.system(actor.firm.id), fields=clients.validate_client_fields({"name": name})
    )
    await db.commit()
    return client.id


async def create(http: AsyncClient, actor: Actor, **body: Any) -> dict[str, Any]:
    response = await http.post(
        "/v1/tasks", json={"title": "File Q3 return", **body}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_create_get_update_complete_reopen_delete(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    client_id = await make_client(db, owner)

    task = await create(
        client,
        owner,
        title="  Collect W-9  ",
        description="Ask twice",
        assignee_id=str(staff.user.id),
        client_id=str(client_id),
        due_date="2026-12-15",
    )
    assert task["title"] == "Collect W-9"
    assert task["status"] == "open"
    assert task["due_date"] == "2026-12-15"
    assert task["created_by"] == str(owner.user.id)
    assert task["completed_at"] is None

    got = await client.get(f"/v1/tasks/{task['id']}", headers=staff.headers)
    assert got.status_code == 200 and got.json() == task

    patched = await client.patch(
        f"/v1/tasks/{task['id']}",
        json={"title": "Collect W-9 form", "due_date": None, "client_id": None},
        headers=staff.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Collect W-9 form"
    assert patched.json()["due_date"] is None and patched.json()["client_id"] is None
    assert patched.json()["assignee_id"] == str(staff.user.id)

    done = await client.post(f"/v1/tasks/{task['id']}/complete", headers=staff.headers)
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["completed_by"] == str(staff.user.id)
    assert done.json()["completed_at"] is not None
    again = await client.post(f"/v1/tasks/{task['id']}/complete", headers=staff.headers)
    assert again.json()["completed_at"] == done.json()["completed_at"]

    reopened = await client.post(f"/v1/tasks/{task['id']}/reopen", headers=staff.headers)
    assert reopened.json()["status"] == "open"
    assert reopened.json()["completed_at"] is None and reopened.json()["completed_by"] is None

    deleted = await client.delete(f"/v1/tasks/{task['id']}", headers=staff.headers)
    assert deleted.status_code == 204
    assert_problem(await client.get(f"/v1/tasks/{task['id']}", headers=staff.headers), 404)
    assert_problem(await client.delete(f"/v1/tasks/{task['id']}", headers=staff.headers), 404)

    assert await audit_actions(db, owner.firm.id, record_type="task", record_id=task["id"]) == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.reopened",
        "task.deleted",
    ]


async def test_a_patch_that_changes_nothing_records_nothing(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    task = await create(client, owner, description="same")
    response = await client.patch(
        f"/v1/tasks/{task['id']}", json={"description": "same"}, headers=owner.headers
    )
    assert response.status_code == 200
    assert await audit_actions(db, owner.firm.id, record_type="task", record_id=task["id"]) == [
        "task.created"
    ]


async def test_audit_records_what_changed(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    task = await create(client, owner, description="old")
    await client.patch(
        f"/v1/tasks/{task['id']}", json={"description": "new"}, headers=owner.headers
    )
    await scope_to_firm(db, owner.firm.id)
    event = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "task.updated", AuditEvent.record_id == uuid.UUID(task["id"])
        )
    )
    assert event is not None
    assert event.summary == {"before": {"description": "old"}, "after": {"description": "new"}}
    assert event.actor_id == owner.user.id


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/title"),
        ({"title": ""}, "/title"),
        ({"title": "   "}, "/title"),
        ({"title": "x" * 201}, "/title"),
        ({"title": "ok", "description": "x" * 10_001}, "/description"),
        ({"title": "ok", "due_date": "15/12/2026"}, "/due_date"),
        ({"title": "ok", "due_date": "2026-02-30"}, "/due_date"),
        ({"title": "ok", "assignee_id": "not-a-uuid"}, "/assignee_id"),
        ({"title": "ok", "status": "done"}, "/status"),
        ({"title": "ok", "firm_id": str(uuid.uuid4())}, "/firm_id"),
    ],
)
async def test_create_rejects_bad_fields(
    client: AsyncClient, db: AsyncSession, body: dict[str, Any], pointer: str
) -> None:
    owner = await make_firm(db)
    response = await client.post("/v1/tasks", json=body, headers=owner.headers)
    problem = assert_problem(response, 422)
    assert any(p.endswith(pointer) for p in pointers(problem)), problem


async def test_title_is_200_characters_at_most(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    assert (await create(client, owner, title="x" * 200))["title"] == "x" * 200


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"title": None}, "/title"),
        ({"completed_at": None}, "/completed_at"),
        ({"title": ""}, "/title"),
    ],
)
async def test_patch_rejects_bad_fields(
    client: AsyncClient, db: AsyncSession, body: dict[str, Any], pointer: str
) -> None:
    owner = await make_firm(db)
    task = await create(client, owner)
    response = await client.patch(f"/v1/tasks/{task['id']}", json=body, headers=owner.headers)
    problem = assert_problem(response, 422)
    assert any(p.endswith(pointer) for p in pointers(problem)), problem


async def test_another_firms_assignee_or_client_is_404(
    client: AsyncClient, db: AsyncSession
) -> None:
    mine = await make_firm(db, "Mine")
    theirs = await make_firm(db, "Theirs")
    their_staff = await add_user(db, theirs, Role.staff)
    their_client = await make_client(db, theirs)
    for body, pointer in [
        ({"assignee_id": str(their_staff.user.id)}, "/assignee_id"),
        ({"assignee_id": str(uuid.uuid4())}, "/assignee_id"),
        ({"client_id": str(their_client)}, "/client_id"),
        ({"client_id": str(uuid.uuid4())}, "/client_id"),
    ]:
        created = await client.post("/v1/tasks", json={"title": "t", **body}, headers=mine.headers)
        assert pointers(assert_problem(created, 404)) == {pointer}
    task = await create(client, mine)
    for body in ({"assignee_id": str(their_staff.user.id)}, {"client_id": str(their_client)}):
        patched = await client.patch(f"/v1/tasks/{task['id']}", json=body, headers=mine.headers)
        assert_problem(patched, 404)
    await scope_to_firm(db, mine.firm.id)
    assert (
        await db.scalar(select(Task.assignee_id).where(Task.id == uuid.UUID(task["id"])))
    ) is None


async def test_assignee_must_be_active_staff(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    portal_user = await add_user(db, owner, Role.client)
    leaver = await add_user(db, owner, Role.staff)
    await scope_to_firm(db, owner.firm.id)
    await db.execute(update(User).where(User.id == leaver.user.id).values(is_active=False))
    await db.commit()
    for user in (portal_user, leaver):
        response = await client.post(
            "/v1/tasks",
            json={"title": "t", "assignee_id": str(user.user.id)},
            headers=owner.headers,
        )
        assert pointers(assert_problem(response, 422)) == {"/assignee_id"}
    builder = await add_user(db, owner, Role.builder)
    task = await create(client, owner, assignee_id=str(builder.user.id))
    assert task["assignee_id"] == str(builder.user.id)


async def test_an_unchanged_assignee_who_left_does_not_block_other_changes(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    leaver = await add_user(db, owner, Role.staff)
    task = await create(client, owner, assignee_id=str(leaver.user.id))
    await scope_to_firm(db, owner.firm.id)
    await db.execute(update(User).where(User.id == leaver.user.id).values(is_active=False))
    await db.commit()
    response = await client.patch(
        f"/v1/tasks/{task['id']}",
        json={"title": "Renamed", "assignee_id": str(leaver.user.id)},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text


async def test_permissions(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    task = await create(client, owner)
    builder = await add_user(db, owner, Role.builder)
    portal_user = await add_user(db, owner, Role.client)
    # Builders read tasks but do not change them; client-role users do neither.
    assert (await client.get(f"/v1/tasks/{task['id']}", headers=builder.headers)).status_code == 200
    assert_problem(
        await client.post("/v1/tasks", json={"title": "t"}, headers=builder.headers), 403
    )
    assert_problem(
        await client.post(f"/v1/tasks/{task['id']}/complete", headers=builder.headers), 403
    )
    assert_problem(await client.get("/v1/tasks", headers=portal_user.headers), 403)
    assert_problem(await client.get(f"/v1/tasks/{task['id']}", headers=portal_user.headers), 403)
    assert_problem(await client.get("/v1/tasks"), 401)


async def test_idempotent_create(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    headers = {**owner.headers, "Idempotency-Key": "task-1"}
    first = await client.post("/v1/tasks", json={"title": "Once"}, headers=headers)
    second = await client.post("/v1/tasks", json={"title": "Once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    other = await client.post("/v1/tasks", json={"title": "Twice"}, headers=headers)
    assert_problem(other, 409)
    await scope_to_firm(db, owner.firm.id)
    count = (await db.scalars(select(Task.id).where(Task.firm_id == owner.firm.id))).all()
    assert len(count) == 1


async def test_system_principal_creates_tasks_for_automations(db: AsyncSession) -> None:
    owner = await make_firm(db)
    client_id = await make_client(db, owner)
    principal = Principal.system(owner.firm.id)
    await scope_to_firm(db, owner.firm.id)
    task = await tasks.create_task(
        db,
        principal,
        fields=tasks.TaskFields(
            title="Welcome call",
            assignee_id=owner.user.id,
            client_id=client_id,
            due_date=date(2027, 1, 4),
        ),
    )
    assert task.created_by is None and task.firm_id == owner.firm.id
    event = await db.scalar(select(AuditEvent).where(AuditEvent.record_id == task.id))
    assert event is not None and event.actor_type == "system"
    other = await make_firm(db, "Other")
    with pytest.raises(NotFound, match="No client"):
        await tasks.create_task(
            db,
            Principal.system(other.firm.id),
            fields=tasks.TaskFields(title="x", client_id=client_id),
        )


def test_raw_fields_are_validated_with_pointers() -> None:
    fields = tasks.validate_task_fields({"title": " Call ", "due_date": "2027-01-04"})
    assert (fields.title, fields.due_date) == ("Call", date(2027, 1, 4))
    with pytest.raises(Unprocessable) as refused:
        tasks.validate_task_fields({"title": "", "due_date": "soon", "owner": "x"})
    assert {e["pointer"] for e in refused.value.errors or []} == {"/title", "/due_date", "/owner"}
    assert "title" in refused.value.detail


async def list_ids(http: AsyncClient, actor: Actor, **params: Any) -> list[str]:
    response = await http.get("/v1/tasks", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_list_filters(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    client_id = await make_client(db, owner)
    today = datetime.now(UTC).date()
    past = (today - timedelta(days=3)).isoformat()
    future = (today + timedelta(days=3)).isoformat()
    mine_late = await create(client, staff, assignee_id=str(staff.user.id), due_date=past)
    mine_done_late = await create(client, staff, assignee_id=str(staff.user.id), due_date=past)
    await client.post(f"/v1/tasks/{mine_done_late['id']}/complete", headers=staff.headers)
    theirs = await create(
        client, owner, assignee_id=str(owner.user.id), client_id=str(client_id), due_date=future
    )
    loose = await create(client, owner)

    assert await list_ids(client, owner) == [
        loose["id"],
        theirs["id"],
        mine_done_late["id"],
        mine_late["id"],
    ]
    assert await list_ids(client, staff, assignee="me") == [mine_done_late["id"], mine_late["id"]]
    assert await list_ids(client, owner, assignee=str(staff.user.id), status="open") == [
        mine_late["id"]
    ]
    assert await list_ids(client, owner, status="done") == [mine_done_late["id"]]
    assert await list_ids(client, owner, assignee="none") == [loose["id"]]
    assert await list_ids(client, owner, client_id=str(client_id)) == [theirs["id"]]
    assert await list_ids(client, owner, overdue="true") == [mine_late["id"]]
    assert await list_ids(client, owner, due_before=today.isoformat()) == [
        mine_done_late["id"],
        mine_late["id"],
    ]
    assert await list_ids(client, owner, due_after=today.isoformat()) == [theirs["id"]]
    assert await list_ids(client, owner, due_after=past, due_before=past) == [
        mine_done_late["id"],
        mine_late["id"],
    ]
    # Another firm's ids in filters find nothing rather than leaking.
    other = await make_firm(db, "Other")
    assert await list_ids(client, other) == []
    assert await list_ids(client, other, client_id=str(client_id)) == []


async def test_overdue_uses_the_firms_time_zone(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    # Kiritimati (UTC+14) and Pago Pago (UTC-11) never share a date; a task due "today" in
    # one is overdue there only when the firm's own date has moved past it.
    ahead = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    behind = datetime.now(ZoneInfo("Pacific/Pago_Pago")).date()
    assert ahead > behind
    task = await create(client, owner, due_date=behind.isoformat())
    for zone, expected in (("Pacific/Pago_Pago", []), ("Pacific/Kiritimati", [task["id"]])):
        await scope_to_firm(db, owner.firm.id)
        await db.execute(update(Firm).where(Firm.id == owner.firm.id).values(time_zone=zone))
        await db.commit()
        assert await list_ids(client, owner, overdue="true") == expected


async def test_list_pagination(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    made = [(await create(client, owner, title=f"T{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/tasks", params=params, headers=owner.headers)
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


@pytest.mark.parametrize(
    "params",
    [
        {"assignee": "someone"},
        {"status": "closed"},
        {"client_id": "nope"},
        {"due_before": "tomorrow"},
        {"due_after": "2026-12-02", "due_before": "2026-12-01"},
        {"limit": 0},
        {"limit": 101},
        {"cursor": "garbage"},
    ],
)
async def test_list_rejects_bad_parameters(
    client: AsyncClient, db: AsyncSession, params: dict[str, Any]
) -> None:
    owner = await make_firm(db)
    response = await client.get("/v1/tasks", params=params, headers=owner.headers)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_assignee_me_needs_a_user(db: AsyncSession) -> None:
    owner = await make_firm(db)
    with pytest.raises(BadRequest, match="signed-in user"):
        _assignee(Principal.system(owner.firm.id), "me")
