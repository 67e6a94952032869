"""Automations and their runs set up as a user sets them up, through the API (create, save a
draft, publish, activate, start a run) and read back the same way, for every test that needs
one; ``runs_of`` reads the run rows a worker committed."""

import asyncio
import contextlib
import json
import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.db import tenant_session
from models import AutomationRun
from tests.factories import Actor
from tests.fixtures.temporal import result_skipping_time
from workflows.automation.run.contracts import workflow_id

BASE = "/v1/automations"
RUNS = "/v1/automation-runs"

Definition = dict[str, Any]


def definition(start: str, **steps: dict[str, Any]) -> Definition:
    return {"schema_version": 1, "trigger": {"type": "manual"}, "start": start, "steps": steps}


def http_step(url: str, next: str | None = None, **extra: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"type": "http_request", "params": {"method": "POST", "url": url}}
    if next is not None:
        step["next"] = next
    step.update(extra)
    return step


async def create(http: AsyncClient, actor: Actor, name: str = "Onboarding") -> dict[str, Any]:
    response = await http.post(BASE, json={"name": name}, headers=actor.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def save_draft(
    http: AsyncClient, actor: Actor, automation_id: str, draft: dict[str, Any]
) -> dict[str, Any]:
    response = await http.put(
        f"{BASE}/{automation_id}/draft", content=json.dumps(draft), headers=actor.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def publish(http: AsyncClient, actor: Actor, automation_id: str, draft: Definition) -> int:
    await save_draft(http, actor, automation_id, draft)
    response = await http.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    assert response.status_code == 201, response.text
    version: int = response.json()["version"]
    return version


async def published(http: AsyncClient, actor: Actor, draft: Definition) -> str:
    """A new automation with ``draft`` published as its version 1."""
    automation_id: str = (await create(http, actor))["id"]
    await publish(http, actor, automation_id, draft)
    return automation_id


async def active_automation(http: AsyncClient, actor: Actor, draft: Definition) -> str:
    """:func:`published`, then activated."""
    automation_id = await published(http, actor, draft)
    response = await http.post(f"{BASE}/{automation_id}/activate", headers=actor.headers)
    assert response.status_code == 200, response.text
    return automation_id


async def start(http: AsyncClient, actor: Actor, automation_id: str, payload: Any = None) -> str:
    response = await http.post(
        f"{BASE}/{automation_id}/runs", json={"payload": payload or {}}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    run_id: str = response.json()["id"]
    return run_id


def handle(env: WorkflowEnvironment, run_id: str) -> WorkflowHandle[Any, Any]:
    return env.client.get_workflow_handle(workflow_id(uuid.UUID(run_id)))


# How long a cancelled workflow may take to close on a loaded machine.
CLOSE_DEADLINE = 60.0


async def finished(
    http: AsyncClient, env: WorkflowEnvironment, actor: Actor, run_id: str
) -> dict[str, Any]:
    """Waits for the workflow (timers skip ahead) and returns the run as the API shows it."""
    with contextlib.suppress(WorkflowFailureError):
        await result_skipping_time(env, handle(env, run_id))
    response = await http.get(f"{RUNS}/{run_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


async def closed(handle: WorkflowHandle[Any, Any]) -> None:
    """Returns once the workflow has closed, without letting the test server skip time
    (bounded): a wait that unlocks time skipping before a cancellation has reached a
    workflow's timers lets the server fire them first when the worker is slow."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_DEADLINE
    while loop.time() < deadline:
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return
    raise AssertionError(f"{handle.id} never closed")


def step_rows(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{step['step_id']}#{step['visit']}": step for step in run["steps"]}


async def runs_of(
    maker: async_sessionmaker[AsyncSession], actor: Actor, automation_id: uuid.UUID
) -> list[AutomationRun]:
    """The automation's run rows as committed (a worker's activities wrote them)."""
    async with tenant_session(actor.firm.id, maker) as session:
        query = select(AutomationRun).where(AutomationRun.automation_id == automation_id)
        return list((await session.scalars(query)).all())
