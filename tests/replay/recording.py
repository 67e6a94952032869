"""What every replay test shares, so each test module holds only its scenario and what it
asserts about its history.

Reading: where the saved histories live, their events, the names of the activities and
signals in them, and replaying one against today's workflows (in the worker's own
sandbox). Tampering: renaming the first activity, or turning it into a timer, which a
replay must refuse. Recording (tests/replay/regenerate.py): the throw-away database and
time-skipping server a history is recorded on, a worker on a queue of its own, a firm to
record in, the outbox's start messages dispatched, and the history as saved.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from core import embedded, migrate
from core.config import Settings
from core.db import APP_ROLE
from core.principal import Principal
from core.roles import Role
from core.temporal import ensure_search_attributes, fixed_client
from services.firms import create_firm_with_owner
from services.outbox.dispatch import dispatch_pending
from tests.fixtures.temporal import BIN
from workflows.registry import workflow_runner

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = Path(__file__).resolve().parent / "histories"
Events = list[dict[str, Any]]
Maker = async_sessionmaker[AsyncSession]


# Reading and replaying -------------------------------------------------------------------


def events(path: Path) -> Events:
    loaded: Events = json.loads(path.read_text())["events"]
    return loaded


def started_type(history: Events) -> str:
    """The workflow type the history's first event started."""
    name: str = history[0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
    return name


def activity_names(history: Events) -> list[str]:
    return [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in history
        if "activityTaskScheduledEventAttributes" in e
    ]


def signal_names(history: Events) -> list[str]:
    return [
        e["workflowExecutionSignaledEventAttributes"]["signalName"]
        for e in history
        if "workflowExecutionSignaledEventAttributes" in e
    ]


def replayer(workflows: Sequence[type]) -> Replayer:
    """Replays in the sandbox the worker runs workflows in (workflows/registry.py)."""
    return Replayer(
        workflows=list(workflows),
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(strict=True),
    )


async def replay(workflows: Sequence[type], name: str, history: str | dict[str, Any]) -> None:
    """Replay one history (JSON text, or ``{"events": [...]}``); raises on nondeterminism."""
    await replayer(workflows).replay_workflow(WorkflowHistory.from_json(name, history))


async def replay_saved(workflows: Sequence[type], path: Path) -> None:
    await replay(workflows, path.stem, await asyncio.to_thread(path.read_text))


async def replay_tampered(workflows: Sequence[type], history: Events) -> None:
    await replay(workflows, "tampered", {"events": history})


# Tampering --------------------------------------------------------------------------------


def first_activity(history: Events) -> dict[str, Any]:
    """The attributes of the first activity the history schedules (to rename it)."""
    scheduled: dict[str, Any] = next(
        e["activityTaskScheduledEventAttributes"]
        for e in history
        if "activityTaskScheduledEventAttributes" in e
    )
    return scheduled


def activity_as_timer(history: Events, timer_id: str = "1") -> None:
    """A timer where the code schedules its first activity."""
    event = next(e for e in history if "activityTaskScheduledEventAttributes" in e)
    attributes = event.pop("activityTaskScheduledEventAttributes")
    event["eventType"] = "EVENT_TYPE_TIMER_STARTED"
    event["timerStartedEventAttributes"] = {
        "timerId": timer_id,
        "startToFireTimeout": "60s",
        "workflowTaskCompletedEventId": attributes["workflowTaskCompletedEventId"],
    }


async def assert_tampering_caught(
    workflows: Sequence[type], path: Path, field: str, *, first_activity_name: str
) -> None:
    """The saved history at ``path``, tampered where the code schedules its first activity
    (``first_activity_name``): that activity renamed (``field`` "activityType") or a timer in
    its place ("timer"), must fail to replay with a nondeterminism error."""
    history = events(path)
    if field == "activityType":
        scheduled = first_activity(history)
        assert scheduled["activityType"]["name"] == first_activity_name
        scheduled["activityType"]["name"] = f"{first_activity_name}_v0"
    else:
        activity_as_timer(history)
    with pytest.raises(NondeterminismError):
        await replay_tampered(workflows, history)


# Recording --------------------------------------------------------------------------------


def own_queue() -> str:
    """A task queue only the recording's worker polls."""
    return f"replay-{uuid.uuid4()}"


def recording_worker(
    env: WorkflowEnvironment, queue: str, workflows: Sequence[type], activities: Sequence[Any]
) -> Worker:
    return Worker(
        env.client,
        task_queue=queue,
        workflows=list(workflows),
        activities=list(activities),
        workflow_runner=workflow_runner(strict=True),
    )


async def history_json(handle: WorkflowHandle[Any, Any]) -> str:
    """The handle's history as it is saved under histories/."""
    history = await handle.fetch_history()
    return history.to_json() + "\n"


async def new_firm_owner(maker: Maker, label: str) -> Principal:
    """A committed firm of its own and its owner, for one recording."""
    suffix = uuid.uuid4().hex[:8]
    async with maker() as session, session.begin():
        created = await create_firm_with_owner(
            session,
            firm_name=f"Replay {label} {suffix}",
            slug=f"replay-{label}-{suffix}",
            owner_email=f"owner-{label}-{suffix}@example.com",
            owner_password=uuid.uuid4().hex,
        )
    return Principal(
        firm_id=created.firm.id, user_id=created.owner.id, role=Role.owner, credential="script"
    )


async def dispatch(env: WorkflowEnvironment, maker: Maker, ids: list[uuid.UUID]) -> None:
    """Carry out the outbox messages a committed transaction queued (the request's fast
    path), so their workflows start on the default task queue."""
    await dispatch_pending(maker, fixed_client(env.client), limit=len(ids), ids=ids)


@contextmanager
def _database() -> Iterator[str]:
    server = embedded.start(ROOT / ".data" / "test-postgres")
    name = f"firmflow_replay_{uuid.uuid4().hex[:8]}"
    embedded.ensure_database(server.superuser_dsn(), name)
    try:
        migrate.upgrade(server.url(embedded.OWNER_ROLE, name))
        yield server.url(APP_ROLE, name)
    finally:
        embedded.drop_database(server.superuser_dsn(), name)


@asynccontextmanager
async def recording_environment() -> AsyncIterator[tuple[Settings, WorkflowEnvironment, Maker]]:
    """A migrated throw-away database on the embedded Postgres and a time-skipping test
    server with firmflow's search attributes; both are gone afterwards."""
    with _database() as url:
        settings = Settings(database_url=url, import_batch_size=2, _env_file=None)
        engine = create_async_engine(settings.runtime_url)
        maker = async_sessionmaker(engine, expire_on_commit=False)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=str(BIN / "temporal-test-server"),
        )
        try:
            await ensure_search_attributes(env.client)
            yield settings, env, maker
        finally:
            await env.shutdown()
            await engine.dispose()
