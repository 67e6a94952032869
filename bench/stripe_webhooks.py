"""Signed Stripe webhook events ingested per second by ``POST /v1/webhooks/stripe/{firm}``
(signature verified, fields validated, invoice looked up, event stored once and its
processing queued in the outbox, 200; the outbox fast path starts the event's workflow
after the answer), beside the bare ``GET /health`` of the same app in the same run, with
p50/p99 latency and the ratio; then how long the fast path took to start every event's
workflow after the last answer.

    python bench/stripe_webhooks.py [--seconds 10] [--events 20000] [--invoices 200]

Embedded Postgres under .data/bench-postgres (a fresh database of its own each run), a
Temporal dev server of its own (temporary directory, SQLite WAL, the search attributes
registered; no worker, so the started event workflows just wait), the real API in a uvicorn
subprocess on a free loopback port, and 8 concurrent keep-alive connections from this
process, each measurement bounded by a count and a time limit. Every event is new (its own
Stripe event id) and signed at send time, as Stripe signs it.
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
from api_clients import create_firm, prepare_database
from cryptography.fernet import Fernet
from http_load import CONCURRENCY, Send, client, get, load, uvicorn_api
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

WARMUP_REQUESTS = 200
SECRET = "whsec_bench" + "0123456789abcdef" * 2
HEALTH_PATH = "/health"
DATABASE = "firmflow_bench_stripe"
# How long the fast path may take to start the last answered events' workflows.
DRAIN_SECONDS = 120.0


async def prepare_firm(app_url: str, encryption_key: str, invoices: int) -> tuple[str, list[str]]:
    """A firm with a webhook signing secret and ``invoices`` open invoices, through the
    real services; (firm id, invoice ids)."""
    from core.config import Settings
    from core.crypto import Cipher
    from core.db import scope_to_firm
    from core.principal import Principal
    from services.billing import invoices as invoice_service
    from services.billing import stripe_account
    from services.billing.invoice_fields import InvoiceFields
    from services.clients import create_client, validate_client_fields

    firm_id, _ = await create_firm(app_url)
    principal = Principal.system(uuid.UUID(firm_id))
    cipher = Cipher.from_settings(
        Settings(database_url=app_url, encryption_keys=encryption_key, _env_file=None)
    )
    engine = create_async_engine(app_url, poolclass=NullPool)
    ids: list[str] = []
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            await scope_to_firm(session, principal.firm_id)
            await stripe_account.add_webhook_secrets(
                session,
                principal,
                cipher,
                fields=stripe_account.WebhookSecretsCreate(
                    secrets=[stripe_account.WebhookSecretFields(secret=SECRET)]
                ),
            )
            client = await create_client(
                session, principal, fields=validate_client_fields({"name": "Bench Client"})
            )
            for _ in range(invoices):
                draft = await invoice_service.create_invoice(
                    session,
                    principal,
                    fields=InvoiceFields.model_validate(
                        {
                            "client_id": client.id,
                            "lines": [
                                {"description": "Advice", "quantity": "1", "unit_price": 50_000}
                            ],
                        }
                    ),
                )
                await invoice_service.finalize_invoice(session, principal, draft.id)
                ids.append(str(draft.id))
    finally:
        await engine.dispose()
    return firm_id, ids


def api_server(
    app_url: str, temporal: str, encryption_key: str
) -> AbstractAsyncContextManager[str]:
    env = {
        **os.environ,
        "FIRMFLOW_DATABASE_URL": app_url,
        "FIRMFLOW_TEMPORAL_ADDRESS": temporal,
        "FIRMFLOW_ENCRYPTION_KEYS": encryption_key,
        "FIRMFLOW_LOG_LEVEL": "WARNING",
    }
    return uvicorn_api("api.app:create_app", env)


def webhook_request(firm_id: str, invoice_ids: list[str]) -> Send:
    from services.billing.stripe_webhooks import signature_header

    path = f"/v1/webhooks/stripe/{firm_id}"

    async def send(http: httpx.AsyncClient, n: int) -> httpx.Response:
        invoice_id = invoice_ids[n % len(invoice_ids)]
        event = {
            "id": f"evt_bench{uuid.uuid4().hex}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "livemode": False,
            "data": {
                "object": {
                    "id": f"pi_bench{uuid.uuid4().hex}",
                    "object": "payment_intent",
                    "amount": 100,
                    "amount_received": 100,
                    "currency": "usd",
                    "status": "succeeded",
                    "metadata": {"firm_id": firm_id, "invoice_id": invoice_id},
                }
            },
        }
        body = json.dumps(event).encode()
        header = signature_header([SECRET], int(time.time()), body)
        return await http.post(
            path,
            content=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    return send


async def drained(app_url: str, firm_id: str) -> tuple[float, int]:
    """Seconds until the fast path has carried out every answered event (polled), and how
    many are still pending when ``DRAIN_SECONDS`` run out (the relay's, in production)."""
    # The setup's own messages (invoice events) are no business of the fast path here.
    pending = text(
        "SELECT count(*) FROM outbox WHERE dispatched_at IS NULL AND kind = 'start_workflow'"
    )
    engine = create_async_engine(app_url, poolclass=NullPool)
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text("SELECT set_config('app.firm_id', :firm, false)"), {"firm": firm_id}
            )
            left = await conn.scalar(pending)
            while left and time.perf_counter() - started < DRAIN_SECONDS:
                await conn.commit()
                await asyncio.sleep(0.05)
                left = await conn.scalar(pending)
    finally:
        await engine.dispose()
    return time.perf_counter() - started, int(left or 0)


def api_pid(base: str) -> int:
    """The uvicorn process serving ``base``: a child of this script listening on its port."""
    port, me = base.rsplit(":", 1)[1], str(os.getpid())
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
            parent = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if parent == me and b"uvicorn" in argv and port.encode() in argv:
            return int(entry.name)
    raise RuntimeError(f"no uvicorn child serves {base}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(seconds: float, events: int, invoices: int) -> None:
    from temporalio.client import Client

    from core.temporal import ensure_search_attributes
    from launcher.temporal import temporal_dev_server

    print(f"stripe webhooks: preparing a firm with {invoices} open invoices…", flush=True)
    urls = await asyncio.to_thread(prepare_database, DATABASE)
    encryption_key = Fernet.generate_key().decode()
    firm_id, invoice_ids = await prepare_firm(urls.app, encryption_key, invoices)
    send, health = webhook_request(firm_id, invoice_ids), get(HEALTH_PATH)

    with tempfile.TemporaryDirectory(prefix="firmflow-bench-temporal-") as directory:
        async with temporal_dev_server(Path(directory)) as address:
            # The worker registers them in production; here no worker runs.
            await ensure_search_attributes(await Client.connect(address))
            async with api_server(urls.app, address, encryption_key) as base, client(base) as http:
                for warm in (health, send):
                    await load(http, warm, WARMUP_REQUESTS, seconds)
                await drained(urls.app, firm_id)
                pid = api_pid(base)
                baseline = await load(http, health, events, seconds)
                before = cpu_seconds(pid)
                webhooks = await load(http, send, events, seconds)
                drain_seconds, left = await drained(urls.app, firm_id)
                api_cpu = cpu_seconds(pid) - before

    print(
        f"stripe webhooks: {CONCURRENCY} concurrent connections over loopback; each"
        f" measurement stops at {events} requests or {seconds:.0f} s"
    )
    for name, stats in (
        (f"GET {HEALTH_PATH}", baseline),
        ("POST /v1/webhooks/stripe/{firm}", webhooks),
    ):
        print(stats.line(name, 32))
    print(f"  ratio webhooks/health: {webhooks.rps / baseline.rps:.2f}")
    print(
        f"  the API's CPU per event: {api_cpu * 1000 / webhooks.requests:.1f} ms"
        " (the answer and the fast path after it)"
    )
    print(
        f"  every event's workflow started {drain_seconds:.1f} s after the last answer"
        if not left
        else f"  {left} events' workflows still not started {drain_seconds:.0f} s after the"
        " last answer (the relay would start them)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--invoices", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.events, args.invoices))


if __name__ == "__main__":
    main()
