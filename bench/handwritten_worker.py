"""The worker of the hand-written baseline (bench/handwritten_workflow.py), in a process of
its own so that bench/automation_throughput.py can read its CPU time from /proc apart from
the load generator's. What a plain Temporal user would run: one ``httpx.AsyncClient`` kept
open for the worker's life, one SQLAlchemy engine (pooled connections), the default
sandbox, data converter and worker options.

    python bench/handwritten_worker.py ADDRESS TASK_QUEUE DATABASE_URL

Polls until SIGINT or SIGTERM. The rows go to ``handwritten_runs``, a table of the bench's
own that bench/automation_throughput.py creates in the bench database.
"""

import argparse
import asyncio
import os
import signal
import sys

import httpx
from handwritten_workflow import (
    HTTP_GET,
    RECORD_RUN,
    HandwrittenThreeCalls,
    HttpResponse,
    RunRecord,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

# What the bench creates as the owner; the worker inserts as the app role.
CREATE_TABLE = (
    "CREATE TABLE handwritten_runs (workflow_id text PRIMARY KEY, n integer NOT NULL,"
    " total integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
)
GRANT_TABLE = "GRANT SELECT, INSERT ON handwritten_runs TO firmflow_app"
COUNT_ROWS = "SELECT count(*) FROM handwritten_runs WHERE workflow_id = ANY(:ids)"
# A retried activity whose first attempt did commit inserts nothing more.
_INSERT = text(
    "INSERT INTO handwritten_runs (workflow_id, n, total) VALUES (:workflow_id, :n, :total)"
    " ON CONFLICT (workflow_id) DO NOTHING"
)


class Activities:
    def __init__(self, http: httpx.AsyncClient, engine: AsyncEngine) -> None:
        self.http = http
        self.engine = engine

    @activity.defn(name=HTTP_GET)
    async def http_get(self, url: str) -> HttpResponse:
        response = await self.http.get(url)
        return HttpResponse(status=response.status_code, body=response.json())

    @activity.defn(name=RECORD_RUN)
    async def record_run(self, record: RunRecord) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                _INSERT, {"workflow_id": record.workflow_id, "n": record.n, "total": record.total}
            )


async def serve(address: str, task_queue: str, database_url: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = await Client.connect(address)
    engine = create_async_engine(database_url, pool_size=10, max_overflow=10)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            activities = Activities(http, engine)
            async with Worker(
                client,
                task_queue=task_queue,
                workflows=[HandwrittenThreeCalls],
                activities=[activities.http_get, activities.record_run],
            ):
                await stop.wait()
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("task_queue")
    parser.add_argument("database_url")
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue, args.database_url))
    sys.stdout.flush()
    # The SDK's native threads can crash interpreter teardown (temporalio/sdk-python#300).
    os._exit(0)


if __name__ == "__main__":
    main()
