"""What the HTTP benchmarks share: the API in a uvicorn subprocess on a free loopback port,
and a bounded load of concurrent requests measured for throughput and latency."""

import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CONCURRENCY = 8

# One request of a measurement: the n-th, on the shared client.
Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def get(path: str, headers: dict[str, str] | None = None) -> Send:
    async def send(http: httpx.AsyncClient, n: int) -> httpx.Response:
        return await http.get(path, headers=headers)

    return send


@asynccontextmanager
async def uvicorn_api(
    factory: str, env: dict[str, str], *, app_dir: Path | None = None
) -> AsyncIterator[str]:
    """Serve the app ``factory`` (``module:function``) with ``env``; yields its base URL
    once ``/health`` answers."""
    from launcher.processes import Deadline, free_port, spawn

    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", factory, "--factory"]
    if app_dir is not None:
        argv += ["--app-dir", str(app_dir)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    server = await spawn("bench API", [*argv, "--log-level", "warning"], env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = Deadline(60)
        async with httpx.AsyncClient(base_url=base, timeout=2) as http:
            while True:
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    if server.exited or deadline.expired:
                        raise RuntimeError("the bench API did not start") from None
                    await asyncio.sleep(0.1)
        yield base
    finally:
        await server.stop()


def client(base: str) -> httpx.AsyncClient:
    """Keep-alive connections, one per concurrent user."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    return httpx.AsyncClient(base_url=base, timeout=30, limits=limits)


@dataclass(frozen=True)
class Stats:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self, name: str, width: int) -> str:
        return (
            f"  {name:<{width}} {self.rps:8.1f} req/s   p50 {self.p50_ms:6.1f} ms"
            f"   p99 {self.p99_ms:6.1f} ms   ({self.requests} requests)"
        )


async def load(http: httpx.AsyncClient, send: Send, requests: int, seconds: float) -> Stats:
    """``CONCURRENCY`` users send until ``requests`` were sent or ``seconds`` passed; any
    answer but 200 stops the measurement."""
    latencies: list[float] = []
    budget = requests
    stop_at = time.monotonic() + seconds

    async def user() -> None:
        nonlocal budget
        while budget > 0 and time.monotonic() < stop_at:
            budget -= 1
            started = time.perf_counter()
            response = await send(http, budget)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"answered {response.status_code}: {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Stats(len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000)
