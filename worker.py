"""The Temporal worker: runs every workflow and activity on the ``firmflow`` task queue and
makes sure the outbox relay is running.

``python worker.py`` reads its settings from the environment (``FIRMFLOW_DATABASE_URL``,
``FIRMFLOW_TEMPORAL_ADDRESS``, ...). SIGTERM or SIGINT stops it gracefully: it stops
polling, lets running activities finish (up to a timeout) and exits.
"""

import asyncio
import contextlib
import logging
import os
import signal
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from activities import build_activities
from core.config import Settings, get_settings
from core.logging import configure_logging
from core.temporal import (
    OUTBOX_RELAY_ID,
    TASK_QUEUE,
    connect,
    ensure_search_attributes,
    fixed_client,
)
from services.esignature.sealing_keys import ensure_platform_key
from workflows.documents.retention import contracts as retention
from workflows.outbox.relay.contracts import OutboxRelayInput
from workflows.outbox.relay.workflow import OutboxRelayWorkflow
from workflows.registry import WORKFLOWS, workflow_runner

log = logging.getLogger("firmflow.worker")

GRACEFUL_SHUTDOWN = timedelta(seconds=20)


def build_worker(
    settings: Settings,
    client: Client,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    task_queue: str = TASK_QUEUE,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=build_activities(settings, sessionmaker, fixed_client(client)),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


async def ensure_outbox_relay(client: Client, *, task_queue: str = TASK_QUEUE) -> None:
    """Start the singleton relay unless it is running; every worker calls this at start,
    so the relay comes back after it was terminated or failed."""
    relay = OutboxRelayInput()
    await client.start_workflow(
        OutboxRelayWorkflow.run,
        relay,
        id=OUTBOX_RELAY_ID,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=relay.search_attributes().typed(),
    )


async def ensure_retention_schedule(client: Client, *, task_queue: str = TASK_QUEUE) -> None:
    """Create the nightly retention sweep's Schedule (02:00 UTC) unless it exists; every
    worker calls this at start. An existing one is left as it is, so a pause or a new time
    set by ops in the Web UI or CLI stays."""
    sweep = retention.RetentionSweepInput()
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            retention.WORKFLOW_NAME,
            sweep,
            id=retention.SCHEDULE_ID,
            task_queue=task_queue,
            typed_search_attributes=sweep.search_attributes().typed(),
        ),
        spec=ScheduleSpec(cron_expressions=[retention.SCHEDULE_CRON], time_zone_name="UTC"),
        # A sweep still running when the next is due (a very large night) finishes first.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(retention.SCHEDULE_ID, schedule)


async def run(settings: Settings, stop: asyncio.Event) -> None:
    client = await connect(settings)
    engine = create_async_engine(
        settings.runtime_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
    )
    try:
        # Before polling: a run's first task sets these attributes, a seal needs the key.
        await ensure_search_attributes(client)
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        async with sessionmaker() as session, session.begin():
            await ensure_platform_key(session, settings)
        async with build_worker(settings, client, sessionmaker):
            await ensure_outbox_relay(client)
            await ensure_retention_schedule(client)
            log.info("worker polling task queue %s", TASK_QUEUE)
            await stop.wait()
            log.info("worker stopping: finishing running activities")
    finally:
        await engine.dispose()
    log.info("worker stopped")


async def _serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await run(settings, stop)


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(_serve(settings))
    # The worker has shut down cleanly and every log line is written. The Temporal SDK's
    # native runtime threads can still crash interpreter finalisation ("PyGILState_Release:
    # thread state must be current"), which would turn a clean stop into a failed exit, so
    # the process ends here, skipping finalisation. Failures above still raise.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
