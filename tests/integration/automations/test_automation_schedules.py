"""Schedule triggers as Temporal Schedules, on the dev server (the time-skipping test server
has no schedules): the API's changes reach Temporal through the outbox fast path, and the
schedule follows publish, activate, pause, new versions, rollback, archive and delete; a
repeated sync changes nothing; an operator's pause survives a publish; next fire times
across both DST changes; a triggered fire starts a run with trigger ``schedule`` on the
latest version, and a fire while its run still runs is skipped (overlap applies to the run);
GET schedule (absent, another firm, Temporal unreachable)."""

import asyncio
import calendar
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import ScheduleDescription, ScheduleOverlapPolicy
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.config import Settings
from core.db import tenant_session
from core.search_attributes import SA_VERSION
from core.temporal import TASK_QUEUE, LazyClient
from models import AuditEvent, AutomationRun, OutboxMessage
from services.automations import schedules
from services.outbox.kinds import MessageKind
from tests.automations import BASE, RUNS, create, publish
from tests.factories import Actor, make_firm
from tests.mailbox import free_port
from tests.problems import assert_problem
from worker import build_worker
from workflows.automation.schedule import contracts as schedule

Maker = async_sessionmaker[AsyncSession]
T = TypeVar("T")
BERLIN = ZoneInfo("Europe/Berlin")
VERSION_KEY = SearchAttributeKey.for_int(SA_VERSION)
# A fire through the dev server and the worker; generous for a busy 2-core machine.
DEADLINE = 60.0


@pytest.fixture
async def api(
    settings: Settings, committing_sessionmaker: Maker, temporal_dev_server: WorkflowEnvironment
) -> AsyncIterator[AsyncClient]:
    app = create_app(
        settings,
        sessionmaker=committing_sessionmaker,
        temporal=LazyClient(settings, client=temporal_dev_server.client),
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        yield http


STEPS: dict[str, Any] = {
    "hello": {"type": "set", "params": {"vars": {"kind": "{{ trigger.kind }}"}}},
    "wait": {"type": "delay", "params": {"seconds": 3600}},
}


def scheduled(start: str = "hello", **trigger: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "schedule", "payload": {"kind": "weekly"}, **trigger},
        "start": start,
        "steps": {start: STEPS[start]},
    }


MANUAL: dict[str, Any] = {
    "schema_version": 1,
    "trigger": {"type": "manual"},
    "start": "hello",
    "steps": {"hello": {"type": "set", "params": {"vars": {"a": 1}}}},
}


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Polls ``probe`` until it answers something other than None, within DEADLINE."""
    try:
        async with asyncio.timeout(DEADLINE):
            while True:
                found = await probe()
                if found is not None:
                    return found
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(what) from None


async def after_the_second_of(run: AutomationRun) -> None:
    """A fire's dedupe key is its scheduled time in whole seconds (as Temporal names the
    fire's workflow): a second trigger within the same second would be the same fire. So
    the clock is polled (at most a second) until it has moved past the first fire's."""
    assert run.dedupe_key is not None
    fired = datetime.fromisoformat(run.dedupe_key.removeprefix("schedule:"))

    async def later() -> bool | None:
        return True if datetime.now(UTC) >= fired + timedelta(seconds=1) else None

    await eventually(later, "the clock did not move on")


async def describe(env: WorkflowEnvironment, automation_id: str) -> ScheduleDescription | None:
    handle = env.client.get_schedule_handle(schedules.schedule_id(uuid.UUID(automation_id)))
    try:
        return await handle.describe()
    except RPCError as exc:
        assert exc.status == RPCStatusCode.NOT_FOUND
        return None


async def synced(maker: Maker, actor: Actor) -> None:
    """Every schedule sync the firm's requests enqueued was carried out by the fast path."""
    async with tenant_session(actor.firm.id, maker) as session:
        pending = (
            await session.scalars(
                select(OutboxMessage.last_error).where(
                    OutboxMessage.firm_id == actor.firm.id,
                    OutboxMessage.kind == MessageKind.sync_schedule,
                    OutboxMessage.dispatched_at.is_(None),
                )
            )
        ).all()
    assert pending == []


async def sync_now(
    maker: Maker, env: WorkflowEnvironment, actor: Actor, automation_id: str
) -> None:
    """What the outbox does for a sync request, in a transaction of the firm."""
    async with tenant_session(actor.firm.id, maker) as session:
        await schedules.sync_automation(
            session, env.client, actor.firm.id, uuid.UUID(automation_id)
        )


async def action(api: AsyncClient, actor: Actor, automation_id: str, verb: str) -> None:
    response = await api.post(f"{BASE}/{automation_id}/{verb}", headers=actor.headers)
    assert response.status_code == 200, response.text


async def present(env: WorkflowEnvironment, maker: Maker, actor: Actor, automation_id: str) -> Any:
    await synced(maker, actor)
    found = await describe(env, automation_id)
    assert found is not None
    return found


def local(times: Any) -> list[datetime]:
    return [moment.astimezone(BERLIN) for moment in times]


async def test_the_schedule_follows_the_automation(
    api: AsyncClient,
    committed_owner: Actor,
    temporal_dev_server: WorkflowEnvironment,
    committing_sessionmaker: Maker,
) -> None:
    env, maker = temporal_dev_server, committing_sessionmaker
    automation_id = (await create(api, committed_owner))["id"]
    await publish(
        api, committed_owner, automation_id, scheduled(cron="0 8 * * mon", time_zone=BERLIN.key)
    )

    # Published but never activated: the schedule exists, paused by firmflow.
    created = await present(env, maker, committed_owner, automation_id)
    assert created.schedule.state.paused
    assert created.schedule.state.note == schedules.PAUSED_NOTE
    assert created.schedule.spec.time_zone_name == "Europe/Berlin"
    assert created.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert created.schedule.policy.catchup_window == timedelta(hours=1)
    assert created.typed_search_attributes.get(VERSION_KEY) == 1
    fire = created.schedule.action
    assert fire.workflow == schedule.WORKFLOW_NAME
    assert fire.id == f"automation-scheduled-{automation_id}"
    assert fire.task_queue == TASK_QUEUE

    await action(api, committed_owner, automation_id, "activate")
    active = await present(env, maker, committed_owner, automation_id)
    assert not active.schedule.state.paused
    assert active.schedule.state.note == schedules.ACTIVE_NOTE
    mondays = local(active.info.next_action_times)
    assert len(mondays) == 10
    assert all((t.weekday(), t.hour, t.minute) == (0, 8, 0) for t in mondays)

    await action(api, committed_owner, automation_id, "pause")
    assert (await present(env, maker, committed_owner, automation_id)).schedule.state.paused
    await action(api, committed_owner, automation_id, "activate")
    assert not (await present(env, maker, committed_owner, automation_id)).schedule.state.paused

    # A new version with another cron and policy updates the same schedule.
    await publish(
        api,
        committed_owner,
        automation_id,
        scheduled(
            cron="30 6 * * *", time_zone=BERLIN.key, overlap="buffer_one", catchup_window=600
        ),
    )
    daily = await present(env, maker, committed_owner, automation_id)
    assert daily.info.created_at == active.info.created_at
    assert daily.typed_search_attributes.get(VERSION_KEY) == 2
    assert daily.schedule.policy.overlap == ScheduleOverlapPolicy.BUFFER_ONE
    assert daily.schedule.policy.catchup_window == timedelta(minutes=10)
    mornings = local(daily.info.next_action_times)
    assert all((t.hour, t.minute) == (6, 30) for t in mornings)
    assert len({t.date() for t in mornings}) == 10

    # A sync repeated (late, twice) ends where it was.
    for _ in range(2):
        await sync_now(maker, env, committed_owner, automation_id)
    again = await present(env, maker, committed_owner, automation_id)
    assert again.schedule.spec == daily.schedule.spec
    assert again.schedule.policy == daily.schedule.policy
    assert again.schedule.state == daily.schedule.state
    assert again.info.next_action_times == daily.info.next_action_times

    await publish(
        api,
        committed_owner,
        automation_id,
        scheduled(interval=3600, overlap="allow_all", start="hello"),
    )
    hourly = await present(env, maker, committed_owner, automation_id)
    assert hourly.schedule.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
    assert [i.every for i in hourly.schedule.spec.intervals] == [timedelta(hours=1)]
    times = hourly.info.next_action_times
    gaps = {b - a for a, b in itertools.pairwise(times)}
    assert gaps == {timedelta(hours=1)}

    # A version whose trigger is no longer a schedule deletes it; a rollback brings it back.
    await publish(api, committed_owner, automation_id, MANUAL)
    await synced(maker, committed_owner)
    assert await describe(env, automation_id) is None
    view = await api.get(f"{BASE}/{automation_id}/schedule", headers=committed_owner.headers)
    assert view.status_code == 200, view.text
    assert view.json()["state"] == "absent"
    assert view.json()["synced"] is True
    assert view.json()["reason"] == "the latest version's trigger is not a schedule"

    rolled = await api.post(
        f"{BASE}/{automation_id}/versions/3/rollback", headers=committed_owner.headers
    )
    assert rolled.status_code == 201, rolled.text
    back = await present(env, maker, committed_owner, automation_id)
    assert back.typed_search_attributes.get(VERSION_KEY) == 5
    assert not back.schedule.state.paused

    await action(api, committed_owner, automation_id, "archive")
    await synced(maker, committed_owner)
    assert await describe(env, automation_id) is None


async def test_an_operators_pause_survives_a_publish(
    api: AsyncClient,
    committed_owner: Actor,
    temporal_dev_server: WorkflowEnvironment,
    committing_sessionmaker: Maker,
) -> None:
    env, maker = temporal_dev_server, committing_sessionmaker
    automation_id = (await create(api, committed_owner))["id"]
    await publish(api, committed_owner, automation_id, scheduled(cron="0 7 * * *"))
    await action(api, committed_owner, automation_id, "activate")
    handle = env.client.get_schedule_handle(schedules.schedule_id(uuid.UUID(automation_id)))
    await handle.pause(note="mail server maintenance")

    await publish(api, committed_owner, automation_id, scheduled(cron="0 9 * * *"))
    kept = await present(env, maker, committed_owner, automation_id)
    assert kept.schedule.state.paused
    assert kept.schedule.state.note == "mail server maintenance"
    # The firm's zone (UTC for a new firm) when the trigger names none.
    assert kept.schedule.spec.time_zone_name == "UTC"
    assert all(t.hour == 9 for t in kept.info.next_action_times)
    view = (
        await api.get(f"{BASE}/{automation_id}/schedule", headers=committed_owner.headers)
    ).json()
    assert (view["state"], view["note"], view["synced"]) == (
        "paused",
        "mail server maintenance",
        True,
    )
    assert view["next_fire_times"] == []

    # Pausing in firmflow takes over; activating then unpauses.
    await action(api, committed_owner, automation_id, "pause")
    assert (await present(env, maker, committed_owner, automation_id)).schedule.state.note == (
        schedules.PAUSED_NOTE
    )
    await action(api, committed_owner, automation_id, "activate")
    assert not (await present(env, maker, committed_owner, automation_id)).schedule.state.paused


def last_sunday(year: int, month: int) -> date:
    days = calendar.monthrange(year, month)[1]
    last = date(year, month, days)
    return last - timedelta(days=(last.weekday() - 6) % 7)


async def test_next_fire_times_keep_nine_oclock_berlin_across_both_dst_changes(
    api: AsyncClient,
    committed_owner: Actor,
    temporal_dev_server: WorkflowEnvironment,
    committing_sessionmaker: Maker,
) -> None:
    # Next year's changes, so the days around them are always still to come. The last
    # Sunday of a month falls on the 25th to the 31st: the cron fires on exactly those days.
    year = datetime.now(UTC).year + 1
    window = {"start_at": f"{year}-01-01T00:00:00Z", "end_at": f"{year}-12-31T00:00:00Z"}
    automation_id = (await create(api, committed_owner))["id"]
    await publish(
        api,
        committed_owner,
        automation_id,
        scheduled(cron="0 9 25-31 3 *", time_zone=BERLIN.key, **window),
    )
    await action(api, committed_owner, automation_id, "activate")
    await synced(committing_sessionmaker, committed_owner)

    async def next_fires() -> list[datetime]:
        view = await api.get(f"{BASE}/{automation_id}/schedule", headers=committed_owner.headers)
        assert view.status_code == 200, view.text
        body = view.json()
        assert (body["state"], body["time_zone"], body["synced"]) == (
            "active",
            "Europe/Berlin",
            True,
        )
        return [datetime.fromisoformat(t) for t in body["next_fire_times"]]

    spring = last_sunday(year, 3)
    march = await next_fires()
    assert [t.date() for t in march] == [date(year, 3, day) for day in range(25, 32)]
    for moment in march:
        # CET (UTC+1) before the change, CEST (UTC+2) from that Sunday on.
        assert moment.hour == (8 if moment.date() < spring else 7), moment
        assert moment.astimezone(BERLIN).hour == 9

    await publish(
        api,
        committed_owner,
        automation_id,
        scheduled(cron="0 9 25-31 10 *", time_zone=BERLIN.key, **window),
    )
    await synced(committing_sessionmaker, committed_owner)
    autumn = last_sunday(year, 10)
    october = await next_fires()
    assert [t.date() for t in october] == [date(year, 10, day) for day in range(25, 32)]
    for moment in october:
        assert moment.hour == (7 if moment.date() < autumn else 8), moment
        assert moment.astimezone(BERLIN).hour == 9


async def schedule_runs(maker: Maker, actor: Actor, automation_id: str) -> list[AutomationRun]:
    async with tenant_session(actor.firm.id, maker) as session:
        return list(
            (
                await session.scalars(
                    select(AutomationRun)
                    .where(AutomationRun.automation_id == uuid.UUID(automation_id))
                    .order_by(AutomationRun.created_at)
                )
            ).all()
        )


async def test_a_triggered_fire_runs_the_latest_version_and_delete_waits_for_runs(
    settings: Settings,
    api: AsyncClient,
    committed_owner: Actor,
    temporal_dev_server: WorkflowEnvironment,
    committing_sessionmaker: Maker,
) -> None:
    env, maker = temporal_dev_server, committing_sessionmaker
    automation_id = (await create(api, committed_owner))["id"]
    # Far in the future: only the triggers below fire.
    await publish(api, committed_owner, automation_id, scheduled(cron="0 3 1 1 *"))
    await action(api, committed_owner, automation_id, "activate")
    v2 = scheduled(cron="0 3 1 1 *")
    v2["trigger"]["payload"] = {"kind": "monthly"}
    await publish(api, committed_owner, automation_id, v2)
    await synced(maker, committed_owner)
    handle = env.client.get_schedule_handle(schedules.schedule_id(uuid.UUID(automation_id)))

    async with build_worker(settings, env.client, maker):
        await handle.trigger()

        async def succeeded() -> AutomationRun | None:
            runs = await schedule_runs(maker, committed_owner, automation_id)
            return runs[0] if runs and runs[0].status == "succeeded" else None

        run = await eventually(succeeded, "the triggered fire's run did not succeed")
        assert (run.trigger, run.version, run.trigger_payload) == (
            "schedule",
            2,
            {"kind": "monthly"},
        )
        assert run.dedupe_key is not None and run.dedupe_key.startswith("schedule:")
        view = (
            await api.get(f"{BASE}/{automation_id}/schedule", headers=committed_owner.headers)
        ).json()
        [fired] = view["recent_fires"]
        assert fired["workflow_id"].startswith(f"automation-scheduled-{automation_id}-")
        # The dedupe key is the fire's scheduled time (TemporalScheduledStartTime, which
        # keeps whole seconds; a triggered fire's time has a fraction).
        assert datetime.fromisoformat(run.dedupe_key.removeprefix("schedule:")) == (
            datetime.fromisoformat(fired["scheduled_at"]).replace(microsecond=0)
        )

        # A run still going (an hour's delay) holds the delete off until it is canceled.
        await publish(
            api, committed_owner, automation_id, scheduled(start="wait", cron="0 3 1 1 *")
        )
        await after_the_second_of(run)
        await handle.trigger()

        async def waiting() -> AutomationRun | None:
            runs = await schedule_runs(maker, committed_owner, automation_id)
            return runs[1] if len(runs) == 2 and runs[1].status == "running" else None

        held = await eventually(waiting, "the second fire's run did not start")

        # overlap "skip": the fire waits for its run, so a fire while it runs is skipped.
        await after_the_second_of(held)
        await handle.trigger()

        async def skipped() -> int | None:
            count = (await handle.describe()).info.num_actions_skipped_overlap
            return count if count > 0 else None

        assert await eventually(skipped, "the overlapping fire was not skipped") == 1
        assert len(await schedule_runs(maker, committed_owner, automation_id)) == 2
        refused = await api.delete(f"{BASE}/{automation_id}", headers=committed_owner.headers)
        assert_problem(refused, 409)
        assert "1 run(s) running or queued" in refused.json()["detail"]

        canceled = await api.post(f"{RUNS}/{held.id}/cancel", headers=committed_owner.headers)
        assert canceled.status_code == 202, canceled.text

        async def ended() -> AutomationRun | None:
            runs = await schedule_runs(maker, committed_owner, automation_id)
            return runs[1] if runs[1].status == "canceled" else None

        await eventually(ended, "the held run was not canceled")

    deleted = await api.delete(f"{BASE}/{automation_id}", headers=committed_owner.headers)
    assert deleted.status_code == 204, deleted.text
    await synced(maker, committed_owner)
    assert await describe(env, automation_id) is None
    assert await schedule_runs(maker, committed_owner, automation_id) == []
    gone = await api.get(f"{BASE}/{automation_id}", headers=committed_owner.headers)
    assert_problem(gone, 404)
    again = await api.delete(f"{BASE}/{automation_id}", headers=committed_owner.headers)
    assert_problem(again, 404)
    async with tenant_session(committed_owner.firm.id, maker) as session:
        audited = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.record_id == uuid.UUID(automation_id),
                    AuditEvent.action == "automation.deleted",
                )
            )
        ).one()
    assert audited.actor_id == committed_owner.user.id
    assert audited.summary["before"]["latest_version"] == 3


async def test_get_schedule_of_another_firm_absent_and_unreachable(
    settings: Settings,
    api: AsyncClient,
    committed_owner: Actor,
    committing_sessionmaker: Maker,
) -> None:
    automation_id = (await create(api, committed_owner))["id"]
    nothing = await api.get(f"{BASE}/{automation_id}/schedule", headers=committed_owner.headers)
    assert nothing.status_code == 200, nothing.text
    assert nothing.json() == {
        "schedule_id": f"automation-schedule-{automation_id}",
        "state": "absent",
        "synced": True,
        "reason": "the automation has no published version",
        "note": None,
        "version": None,
        "spec": None,
        "time_zone": None,
        "overlap": None,
        "next_fire_times": [],
        "recent_fires": [],
    }
    await publish(api, committed_owner, automation_id, scheduled(cron="15 7 * * 1-5"))
    mine = await api.get(f"{BASE}/{automation_id}/schedule", headers=committed_owner.headers)
    assert mine.json()["spec"] == {
        "cron": "15 7 * * 1-5",
        "interval": None,
        "start_at": None,
        "end_at": None,
        "catchup_window": 3600.0,
    }
    # A new firm's zone is UTC.
    assert (mine.json()["time_zone"], mine.json()["state"]) == ("UTC", "paused")

    async with committing_sessionmaker() as session:
        other = await make_firm(session, "Other")
    foreign = await api.get(f"{BASE}/{automation_id}/schedule", headers=other.headers)
    assert_problem(foreign, 404)
    assert (await api.delete(f"{BASE}/{automation_id}", headers=other.headers)).status_code == 404

    # Nothing listens on this port: the connection is refused at once.
    down = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    app = create_app(down, sessionmaker=committing_sessionmaker)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        unreachable = await http.get(
            f"{BASE}/{automation_id}/schedule", headers=committed_owner.headers
        )
    assert_problem(unreachable, 503)
    assert unreachable.json()["detail"] == "The workflow service is not reachable; try again"


async def test_a_sync_restores_a_schedule_removed_behind_its_back(
    api: AsyncClient,
    committed_owner: Actor,
    temporal_dev_server: WorkflowEnvironment,
    committing_sessionmaker: Maker,
) -> None:
    env, maker = temporal_dev_server, committing_sessionmaker
    automation_id = (await create(api, committed_owner))["id"]
    await publish(api, committed_owner, automation_id, scheduled(cron="0 6 * * *"))
    await action(api, committed_owner, automation_id, "activate")
    handle = env.client.get_schedule_handle(schedules.schedule_id(uuid.UUID(automation_id)))
    await handle.delete()
    view = (
        await api.get(f"{BASE}/{automation_id}/schedule", headers=committed_owner.headers)
    ).json()
    assert (view["state"], view["synced"], view["reason"]) == ("absent", False, None)

    # The update finds nothing, so the sync creates it; a second sync updates it.
    for _ in range(2):
        await sync_now(maker, env, committed_owner, automation_id)
        restored = await describe(env, automation_id)
        assert restored is not None and not restored.schedule.state.paused

    # Deleting what is already gone (the archive's own sync did) is not an error either.
    await action(api, committed_owner, automation_id, "archive")
    await synced(maker, committed_owner)
    await sync_now(maker, env, committed_owner, automation_id)
    assert await describe(env, automation_id) is None
