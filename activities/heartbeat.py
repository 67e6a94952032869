"""Heartbeats for activities whose single steps (one large INSERT, one CSV parse) may each
take longer than a heartbeat interval: a side task beats while the activity works, so a
worker that dies is noticed after one heartbeat timeout, not the whole start-to-close."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity

_DEFAULT_INTERVAL_SECONDS = 5.0


async def _beat(interval: float) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    timeout = activity.info().heartbeat_timeout
    interval = timeout.total_seconds() / 3 if timeout else _DEFAULT_INTERVAL_SECONDS
    task = asyncio.create_task(_beat(interval))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
