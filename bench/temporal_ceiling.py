"""The raw-SDK ceiling: how many workflows of 3 trivial activities per second this machine
completes against the Temporal dev server (SQLite in WAL mode), with the worker in this
process: what the SDK and the server do with no work at all. Our engine is judged against
bench/automation_throughput.py's hand-written baseline doing the same work, not this.

    python bench/temporal_ceiling.py [--workflows 200]

Other benchmarks reuse it: ``from temporal_ceiling import measure_ceiling`` (against a
server they started) or ``ceiling()`` (starts its own dev server).
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

WARMUP_WORKFLOWS = 20
STEP_TIMEOUT = timedelta(seconds=30)
STEP_RETRY = RetryPolicy(maximum_attempts=3)


@activity.defn(name="bench_step")
async def step(value: int) -> int:
    return value + 1


@workflow.defn(name="BenchThreeSteps")
class ThreeSteps:
    @workflow.run
    async def run(self, value: int) -> int:
        for _ in range(3):
            value = await workflow.execute_activity(
                step, value, start_to_close_timeout=STEP_TIMEOUT, retry_policy=STEP_RETRY
            )
        return value


async def _run_batch(client: Client, task_queue: str, count: int) -> None:
    handles = await asyncio.gather(
        *(
            client.start_workflow(
                ThreeSteps.run, i, id=f"bench-{uuid.uuid4()}", task_queue=task_queue
            )
            for i in range(count)
        )
    )
    results = await asyncio.gather(*(handle.result() for handle in handles))
    if results != [i + 3 for i in range(count)]:
        raise RuntimeError("a benchmark workflow returned a wrong result")


async def measure_ceiling(address: str, workflows: int = 200) -> float:
    """Workflows per second completed against the server at ``address``."""
    client = await Client.connect(address)
    task_queue = f"bench-ceiling-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[ThreeSteps], activities=[step]):
        await _run_batch(client, task_queue, WARMUP_WORKFLOWS)
        started = time.perf_counter()
        await _run_batch(client, task_queue, workflows)
        elapsed = time.perf_counter() - started
    return workflows / elapsed


async def ceiling(workflows: int = 200) -> float:
    """Start a dev server of our own (temp dir, free port, WAL pragmas), then measure."""
    from launcher.temporal import temporal_dev_server

    with tempfile.TemporaryDirectory(prefix="firmflow-bench-temporal-") as directory:
        async with temporal_dev_server(Path(directory)) as address:
            return await measure_ceiling(address, workflows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=200)
    workflows = parser.parse_args().workflows
    print(f"temporal ceiling: {workflows} workflows x 3 activities, dev server (SQLite WAL)")
    rate = asyncio.run(ceiling(workflows))
    print(f"temporal ceiling: {rate:.1f} workflows/s ({rate * 3:.0f} activities/s)", flush=True)
    sys.stdout.flush()
    # The SDK's native threads can crash interpreter teardown (temporalio/sdk-python#300);
    # the figures are printed, so leave without it rather than fail `make bench`.
    os._exit(0)


if __name__ == "__main__":
    main()
