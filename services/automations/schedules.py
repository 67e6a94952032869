"""The Temporal Schedule of an automation with a schedule trigger, kept in sync with it.

Every change that can affect the schedule (publish, rollback, activate, pause, archive,
delete) calls ``request_sync`` in its own transaction; the outbox carries the request out
after commit by ``sync`` (the outbox handler of ``sync_schedule`` messages), which reads
the automation as it is then and makes Temporal match. Because ``sync`` converges on the
current state rather than replaying changes, requests carried out late, twice or out of
order all end in the same schedule.

Desired state: a schedule exists iff the automation exists, is not archived and its latest
version's trigger is ``schedule``; it is paused unless the automation is active. A pause
set by ops in the Temporal Web UI (any note other than firmflow's own) is kept while the
automation stays active: only ops lift it.
"""

import re
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from core.search_attributes import SA_AUTOMATION, SA_FIRM, SA_VERSION
from core.temporal import TASK_QUEUE, ClientProvider
from models import Automation, AutomationStatus, AutomationVersion, Firm, OutboxMessage
from services.automations.repository import AUTOMATIONS, VERSIONS
from services.outbox import writer as outbox
from services.outbox.kinds import MessageKind
from workflows.automation.definition.triggers import ScheduleTrigger
from workflows.automation.schedule import contracts as schedule
from workflows.automation.schedule.contracts import ScheduleFire

# The notes firmflow sets; any other note on a paused schedule is an operator's.
PAUSED_NOTE = "automation paused in firmflow"
ACTIVE_NOTE = "automation active in firmflow"
# One Temporal call must not hold the automation row (and a publish waiting on it) long.
RPC_TIMEOUT = timedelta(seconds=10)

OVERLAP: dict[str, ScheduleOverlapPolicy] = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}

_FIRM_KEY = SearchAttributeKey.for_keyword(SA_FIRM)
_AUTOMATION_KEY = SearchAttributeKey.for_keyword(SA_AUTOMATION)
_VERSION_KEY = SearchAttributeKey.for_int(SA_VERSION)


def schedule_id(automation_id: uuid.UUID) -> str:
    return f"automation-schedule-{automation_id}"


def fire_workflow_id(automation_id: uuid.UUID) -> str:
    """The prefix of each fire's workflow id; Temporal appends the fire time."""
    return f"automation-scheduled-{automation_id}"


# Cron validation ---------------------------------------------------------------------------

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Sequence[str] = ()


# Day of week stops at 6: some cron dialects read 7 as Sunday and some refuse it.
_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 6, _DAYS),
)
_ITEM = re.compile(r"^(?:(\*)|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:/([0-9]+))?$")


def _value(field: _Field, text: str) -> int | None:
    if text.isdigit():
        number = int(text)
    elif text in field.names:
        number = list(field.names).index(text) + field.low
    else:
        return None
    return number if field.low <= number <= field.high else None


def _field_problem(field: _Field, text: str) -> str | None:
    bounds = f"{field.low}-{field.high}"
    names = f" or {field.names[0]}-{field.names[-1]}" if field.names else ""
    for item in text.lower().split(","):
        match = _ITEM.match(item)
        if match is None:
            return f"the {field.name} field has an item {item!r} that is not a value, range or step"
        star, first, last, step = match.groups()
        if step is not None and int(step) < 1:
            return f"the {field.name} field has a step of 0"
        if star:
            continue
        if step is not None and last is None:
            return f"the {field.name} field has a step without a range ({item!r}); write a-b/n"
        low = _value(field, first)
        high = low if last is None else _value(field, last)
        if low is None or high is None:
            return f"the {field.name} field has {item!r}; its values are {bounds}{names}"
        if high < low:
            return f"the {field.name} field has a range {item!r} that runs backwards"
    return None


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a five-field cron expression firmflow schedules, or None.
    Fields: minute hour day-of-month month day-of-week; each a list of ``*``, values,
    ranges and steps (``*/15``, ``1-5``, ``mon-fri``). Day of month and day of week may not
    both be restricted: cron dialects disagree on whether either or both must match."""
    fields = expression.split()
    if len(fields) != len(_FIELDS):
        return (
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week); "
            f"this one has {len(fields)}"
        )
    for field, text in zip(_FIELDS, fields, strict=True):
        problem = _field_problem(field, text)
        if problem is not None:
            return problem
    if fields[2] != "*" and fields[4] != "*":
        return "restrict either the day of month or the day of week, not both"
    return None


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA time zone name, or None."""
    if name in _zones():
        return None
    return f"{name!r} is not an IANA time zone name (e.g. Europe/Berlin)"


# The desired schedule -------------------------------------------------------------------


@dataclass(frozen=True)
class Desired:
    """What the schedule should be: absent (``trigger`` None, with the reason) or present."""

    automation_id: uuid.UUID
    firm_id: uuid.UUID
    trigger: ScheduleTrigger | None
    time_zone: str = "UTC"
    version: int | None = None
    paused: bool = False
    absent_reason: str | None = None


async def desired_state(
    session: AsyncSession, firm_id: uuid.UUID, automation_id: uuid.UUID, *, lock: bool = False
) -> Desired:
    """Read in a tenant session of ``firm_id``; ``lock`` holds the automation row until the
    transaction ends, so syncs of one automation (and its publishes) go one at a time."""
    automation = await AUTOMATIONS.get(session, firm_id, automation_id, lock=lock)

    def absent(reason: str) -> Desired:
        return Desired(automation_id, firm_id, None, absent_reason=reason)

    if automation is None:
        return absent("the automation was deleted")
    if automation.status == AutomationStatus.archived:
        return absent("the automation is archived")
    if automation.latest_version is None:
        return absent("the automation has no published version")
    if automation.trigger_type != "schedule":
        return absent("the latest version's trigger is not a schedule")
    definition = await session.scalar(
        select(AutomationVersion.definition).where(
            VERSIONS.owned_by(firm_id),
            AutomationVersion.automation_id == automation_id,
            AutomationVersion.version == automation.latest_version,
        )
    )
    trigger = ScheduleTrigger.model_validate((definition or {})["trigger"])
    firm_zone = await session.scalar(select(Firm.time_zone).where(Firm.id == firm_id))
    return Desired(
        automation_id,
        firm_id,
        trigger,
        time_zone=trigger.time_zone or firm_zone or "UTC",
        version=automation.latest_version,
        paused=automation.status != AutomationStatus.active,
    )


def build_schedule(desired: Desired, *, ops_pause_note: str | None = None) -> Schedule:
    """The Temporal Schedule for a present ``desired``; ``ops_pause_note`` keeps an
    operator's pause of an active automation."""
    trigger = desired.trigger
    assert trigger is not None
    spec = ScheduleSpec(
        cron_expressions=[trigger.cron] if trigger.cron is not None else [],
        intervals=(
            [ScheduleIntervalSpec(every=timedelta(seconds=trigger.interval))]
            if trigger.interval is not None
            else []
        ),
        time_zone_name=desired.time_zone,
        start_at=trigger.start_at,
        end_at=trigger.end_at,
    )
    if desired.paused:
        state = ScheduleState(paused=True, note=PAUSED_NOTE)
    elif ops_pause_note is not None:
        state = ScheduleState(paused=True, note=ops_pause_note)
    else:
        state = ScheduleState(paused=False, note=ACTIVE_NOTE)
    fire = ScheduleFire(firm_id=desired.firm_id, automation_id=desired.automation_id)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            schedule.WORKFLOW_NAME,
            fire,
            id=fire_workflow_id(desired.automation_id),
            task_queue=TASK_QUEUE,
            memo={"firm_id": str(desired.firm_id), "automation_id": str(desired.automation_id)},
            typed_search_attributes=fire.search_attributes().typed(),
        ),
        spec=spec,
        policy=SchedulePolicy(
            overlap=OVERLAP[trigger.overlap],
            catchup_window=timedelta(seconds=trigger.catchup_window),
        ),
        state=state,
    )


def _search_attributes(desired: Desired) -> TypedSearchAttributes:
    assert desired.version is not None
    return TypedSearchAttributes(
        [
            SearchAttributePair(_FIRM_KEY, str(desired.firm_id)),
            SearchAttributePair(_AUTOMATION_KEY, str(desired.automation_id)),
            SearchAttributePair(_VERSION_KEY, desired.version),
        ]
    )


def ops_pause_note(description: ScheduleDescription) -> str | None:
    """The note of a pause an operator set (in the Web UI or CLI), else None."""
    state = description.schedule.state
    if state.paused and state.note not in (PAUSED_NOTE, ACTIVE_NOTE):
        return state.note or "paused by an operator"
    return None


# Sync ---------------------------------------------------------------------------------------


async def request_sync(session: AsyncSession, automation: Automation) -> None:
    """Ask for the automation's schedule to be brought in line once this transaction
    commits (nothing happens for a rolled-back change)."""
    await outbox.enqueue(
        session,
        automation.firm_id,
        kind=MessageKind.sync_schedule,
        dedupe_key=f"schedule-sync:{automation.id}:{uuid.uuid4()}",
        payload={"automation_id": str(automation.id)},
    )


async def _delete(client: Client, automation_id: uuid.UUID) -> None:
    try:
        await client.get_schedule_handle(schedule_id(automation_id)).delete(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def _update(client: Client, desired: Desired) -> bool:
    """Replace the schedule with the desired one; False when there is none to update."""

    def updater(current: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(
            schedule=build_schedule(desired, ops_pause_note=ops_pause_note(current.description)),
            search_attributes=_search_attributes(desired),
        )

    try:
        await client.get_schedule_handle(schedule_id(desired.automation_id)).update(
            updater, rpc_timeout=RPC_TIMEOUT
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def apply(client: Client, desired: Desired) -> None:
    """Make Temporal's schedule match ``desired``. Each branch handles the race with a
    concurrent create or delete by falling through to the other operation."""
    if desired.trigger is None:
        await _delete(client, desired.automation_id)
        return
    if await _update(client, desired):
        return
    try:
        await client.create_schedule(
            schedule_id(desired.automation_id),
            build_schedule(desired),
            memo={"firm_id": str(desired.firm_id), "automation_id": str(desired.automation_id)},
            search_attributes=_search_attributes(desired),
            rpc_timeout=RPC_TIMEOUT,
        )
    except ScheduleAlreadyRunningError:
        # Created since we looked: update it instead.
        await _update(client, desired)


async def sync(session: AsyncSession, temporal: ClientProvider, message: OutboxMessage) -> None:
    """The outbox handler of ``sync_schedule`` messages."""
    automation_id = uuid.UUID(str(message.payload["automation_id"]))
    await sync_automation(session, await temporal(), message.firm_id, automation_id)


async def sync_automation(
    session: AsyncSession, client: Client, firm_id: uuid.UUID, automation_id: uuid.UUID
) -> None:
    """Make the schedule match the automation (create, update, pause, unpause, delete).

    The automation row stays locked while Temporal is told: two syncs of one automation
    cannot interleave (an older reading written after a newer one), and a publish waits
    for the sync in flight, whose own sync then follows."""
    desired = await desired_state(session, firm_id, automation_id, lock=True)
    await apply(client, desired)


# Reading it back ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleView:
    schedule_id: str
    state: Literal["active", "paused", "absent"]
    # Whether Temporal holds what firmflow wants (False while a sync is still on its way).
    synced: bool
    desired: Desired
    note: str | None = None
    next_fire_times: Sequence[datetime] = ()
    # (scheduled at, started at, workflow id), oldest first.
    recent_fires: Sequence[tuple[datetime, datetime, str]] = ()


async def describe(client: Client, desired: Desired) -> ScheduleView:
    """The schedule as Temporal has it (RPCError other than not-found propagates)."""
    sid = schedule_id(desired.automation_id)
    try:
        description = await client.get_schedule_handle(sid).describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return ScheduleView(sid, "absent", synced=desired.trigger is None, desired=desired)
    state = description.schedule.state
    info = description.info
    recent = [
        (fire.scheduled_at, fire.started_at, getattr(fire.action, "workflow_id", ""))
        for fire in info.recent_actions
    ]
    paused_wanted = desired.paused or ops_pause_note(description) is not None
    return ScheduleView(
        sid,
        "paused" if state.paused else "active",
        synced=desired.trigger is not None and state.paused == paused_wanted,
        desired=desired,
        note=state.note,
        next_fire_times=[] if state.paused else list(info.next_action_times),
        recent_fires=recent,
    )
