"""Requests/s and latency of ``GET /v1/clients?limit=50`` with 100,000 clients in one firm,
beside a bare endpoint doing ``SELECT 1`` through the same app, pool and middleware in the
same run; the ratio is what listing costs over the smallest possible database request.

    python bench/api_clients.py [--clients 100000] [--requests 3000] [--seconds 15]

Embedded Postgres under .data/bench-postgres (a fresh database each run), the API in a
uvicorn subprocess on a free loopback port, the load from this process. Each measurement
stops at a request count or a time limit, whichever comes first.
"""

import argparse
import asyncio
import os
import secrets
import statistics
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from http_load import CONCURRENCY, Stats, client, get, load, uvicorn_api
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
# Its own database: stripe_webhooks.py prepares "firmflow_bench" with the same helper, and a
# fresh database is dropped first, so two benchmarks running at once must not share one.
DATABASE = "firmflow_bench_clients"
WARMUP_REQUESTS = 200
CLIENTS_PATH = "/v1/clients?limit=50"
SELECT_ONE_PATH = "/bench/select-1"
ROUNDS = 3


def create_bench_app() -> FastAPI:
    """The real application plus the baseline route (uvicorn factory, server side)."""
    from api.app import create_app

    app = create_app()

    async def select_one(request: Request) -> dict[str, int]:
        maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
        async with maker() as session:
            value = (await session.execute(text("SELECT 1"))).scalar_one()
        return {"value": value}

    app.add_api_route(SELECT_ONE_PATH, select_one, methods=["GET"])
    return app


@dataclass(frozen=True)
class Urls:
    app: str
    owner: str


def prepare_database(database: str = "firmflow_bench") -> Urls:
    from core import embedded, migrate
    from core.db import APP_ROLE

    server = embedded.start(ROOT / ".data" / "bench-postgres")
    embedded.drop_database(server.superuser_dsn(), database)
    embedded.ensure_database(server.superuser_dsn(), database)
    urls = Urls(app=server.url(APP_ROLE, database), owner=server.url(embedded.OWNER_ROLE, database))
    migrate.upgrade(urls.owner)
    return urls


async def create_firm(app_url: str) -> tuple[str, str]:
    """A firm, its owner and an API token, through the real services; (firm id, token)."""
    from services.firms import create_firm_with_owner
    from services.tokens import issue_api_token

    engine = create_async_engine(app_url, poolclass=NullPool)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            created = await create_firm_with_owner(
                session,
                firm_name="Bench Firm",
                slug="bench",
                owner_email="bench-owner@example.com",
                owner_password=secrets.token_urlsafe(18),
            )
            _, token = await issue_api_token(session, created.owner, "bench")
            firm_id = str(created.firm.id)
    finally:
        await engine.dispose()
    return firm_id, token


def insert_clients(owner_url: str, firm_id: str, count: int) -> None:
    """One INSERT ... SELECT generate_series as the owner (row-level security is forced on
    the owner too, hence the firm scope), then fresh planner statistics."""
    engine = create_engine(owner_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.firm_id', :firm, true)"), {"firm": firm_id})
            conn.execute(
                text(
                    "INSERT INTO clients (id, firm_id, kind, name, email, status, tags,"
                    " custom_fields, created_at, updated_at)"
                    " SELECT gen_random_uuid(), CAST(:firm AS uuid), 'organization',"
                    " 'Client ' || g, 'client' || g || '@example.com', 'active', '{}', '{}',"
                    " now() - g * interval '1 second', now() - g * interval '1 second'"
                    " FROM generate_series(1, :count) AS g"
                ),
                {"firm": firm_id, "count": count},
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE clients"))
    finally:
        engine.dispose()


def api_server(app_url: str) -> AbstractAsyncContextManager[str]:
    env = {
        **os.environ,
        "FIRMFLOW_DATABASE_URL": app_url,
        # Below INFO: no access line per request, on either endpoint.
        "FIRMFLOW_LOG_LEVEL": "WARNING",
    }
    env.pop("FIRMFLOW_TEMPORAL_ADDRESS", None)
    return uvicorn_api("api_clients:create_bench_app", env, app_dir=BENCH_DIR)


async def run(clients: int, requests: int, seconds: float) -> None:
    print(f"api clients: preparing {clients:,} clients in one firm…", flush=True)
    urls = await asyncio.to_thread(prepare_database, DATABASE)
    firm_id, token = await create_firm(urls.app)
    await asyncio.to_thread(insert_clients, urls.owner, firm_id, clients)
    auth = {"Authorization": f"Bearer {token}"}

    select_one, listing_page = get(SELECT_ONE_PATH, auth), get(CLIENTS_PATH, auth)
    measured: dict[str, list[Stats]] = {SELECT_ONE_PATH: [], CLIENTS_PATH: []}
    async with api_server(urls.app) as base, client(base) as http:
        page = (await http.get(CLIENTS_PATH, headers=auth)).json()
        if len(page["items"]) != 50 or not page["next_cursor"]:
            raise RuntimeError("the clients list did not return a full first page")
        for send in (select_one, listing_page):
            await load(http, send, WARMUP_REQUESTS, seconds)
        # Alternating in rounds, so a change in what else runs on the machine weighs on both.
        for _ in range(ROUNDS):
            for path, send in ((SELECT_ONE_PATH, select_one), (CLIENTS_PATH, listing_page)):
                stats = await load(http, send, requests // ROUNDS, seconds / ROUNDS)
                measured[path].append(stats)

    print(
        f"api clients: {CONCURRENCY} concurrent connections over loopback; each endpoint"
        f" measured in {ROUNDS} alternating rounds, each until {requests // ROUNDS} requests or"
        f" {seconds / ROUNDS:.0f} s; load average"
        f" {' '.join(f'{avg:.2f}' for avg in os.getloadavg())} (others running move the figures)"
    )
    baseline, listing = (combined(measured[path]) for path in (SELECT_ONE_PATH, CLIENTS_PATH))
    for name, stats in (("GET /bench/select-1", baseline), (f"GET {CLIENTS_PATH}", listing)):
        print(stats.line(name, 28))
    rounds = zip(measured[CLIENTS_PATH], measured[SELECT_ONE_PATH], strict=True)
    each = ", ".join(f"{listed.rps / one.rps:.2f}" for listed, one in rounds)
    print(
        f"  ratio clients/select-1: {listing.rps / baseline.rps:.2f} (rounds: {each})", flush=True
    )


def combined(rounds: list[Stats]) -> Stats:
    """All rounds of one endpoint: requests over time, and the median round's latencies."""
    return Stats(
        requests=sum(stats.requests for stats in rounds),
        seconds=sum(stats.seconds for stats in rounds),
        p50_ms=statistics.median(stats.p50_ms for stats in rounds),
        p99_ms=statistics.median(stats.p99_ms for stats in rounds),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    asyncio.run(run(args.clients, args.requests, args.seconds))


if __name__ == "__main__":
    main()
