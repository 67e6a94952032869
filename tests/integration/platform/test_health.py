"""Operability: /health, /ready against real and unreachable Postgres and Temporal, /metrics
labelled by route template, request ids, and JSON logs that never carry a secret."""

import io
import json
import logging
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.config import Settings
from core.logging import RedactingJsonFormatter, RequestIdFilter
from core.metrics import record_workflow_start
from core.temporal import LazyClient
from launcher.processes import free_port
from tests.factories import make_firm
from tests.fixtures import db as db_fixtures

ROOT = Path(__file__).resolve().parents[3]
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def api(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], temporal: LazyClient
) -> AsyncClient:
    app = create_app(settings, sessionmaker=sessionmaker, temporal=temporal)
    return AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )


def unreachable_temporal(settings: Settings) -> LazyClient:
    return LazyClient(settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"}))


@pytest.fixture
def live_temporal(settings: Settings, temporal_dev_server: WorkflowEnvironment) -> LazyClient:
    return LazyClient(settings, client=temporal_dev_server.client)


@pytest.fixture
async def dead_postgres() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(f"postgresql+psycopg://firmflow_app@127.0.0.1:{free_port()}/x")
    yield async_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def owner_engine(test_database: db_fixtures.TestDatabase) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(test_database.owner_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Every log line the app writes, formatted exactly as in production."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(RedactingJsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(previous)


def log_lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line]


# --- /health and request ids -------------------------------------------------------------


async def test_health_is_ok_and_carries_a_generated_request_id(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])
    assert (await client.get("/health")).headers["X-Request-ID"] != response.headers["X-Request-ID"]


async def test_a_sane_incoming_request_id_is_kept(client: AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "lb-7f3a.42:9_x"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42:9_x"


@pytest.mark.parametrize("incoming", ["has spaces", "x" * 129, "semi;colon", "<script>", ""])
async def test_an_odd_incoming_request_id_is_replaced(client: AsyncClient, incoming: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": incoming})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


# --- /ready -------------------------------------------------------------------------------


async def test_ready_when_postgres_and_temporal_answer(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    live_temporal: LazyClient,
) -> None:
    async with api(settings, sessionmaker, live_temporal) as http:
        response = await http.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgres": "ok", "temporal": "ok"}}


async def test_not_ready_names_temporal_when_it_is_down(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with api(settings, sessionmaker, unreachable_temporal(settings)) as http:
        response = await http.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert body["type"] == "https://firmflow.dev/problems/not-ready"
    assert body["detail"] == "Temporal is not reachable"
    assert body["errors"] == [{"detail": "temporal is not reachable", "component": "temporal"}]
    assert body["request_id"] == response.headers["X-Request-ID"]
    # Nothing from the connection error itself reaches the caller.
    assert "127.0.0.1" not in response.text
    assert "refused" not in response.text.lower()


async def test_not_ready_when_temporal_is_not_configured(
    client: AsyncClient, settings: Settings
) -> None:
    assert settings.temporal_address is None
    response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "Temporal is not reachable"


async def test_not_ready_names_postgres_when_it_is_down(
    settings: Settings,
    dead_postgres: async_sessionmaker[AsyncSession],
    live_temporal: LazyClient,
) -> None:
    async with api(settings, dead_postgres, live_temporal) as http:
        response = await http.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "Postgres is not reachable"
    assert [e["component"] for e in body["errors"]] == ["postgres"]
    assert "firmflow_app" not in response.text


async def test_not_ready_names_both_when_both_are_down(
    settings: Settings, dead_postgres: async_sessionmaker[AsyncSession]
) -> None:
    async with api(settings, dead_postgres, unreachable_temporal(settings)) as http:
        response = await http.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "Postgres and Temporal are not reachable"
    assert [e["component"] for e in body["errors"]] == ["postgres", "temporal"]


async def test_not_ready_when_the_database_role_cannot_switch_to_the_system_role(
    settings: Settings, owner_engine: AsyncEngine, live_temporal: LazyClient
) -> None:
    # The owner is not granted firmflow_system: a misconfigured deployment fails /ready,
    # not the first login.
    async with api(settings, async_sessionmaker(owner_engine), live_temporal) as http:
        response = await http.get("/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "Postgres is not reachable"


# --- /metrics -----------------------------------------------------------------------------


def sample(metrics: str, name: str, **labels: str) -> float:
    rendered = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{re.escape(f'{name}{{{rendered}}}')} (\S+)$", metrics, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_metrics_label_requests_by_route_template_not_raw_path(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    route = "/v1/clients/{client_id}"
    before = (await client.get("/metrics")).text
    ids = [uuid.uuid4(), uuid.uuid4()]
    for client_id in ids:
        response = await client.get(f"/v1/clients/{client_id}", headers=actor.headers)
        assert response.status_code == 404
    await client.get(f"/no/such/{ids[0]}")
    after = await client.get("/metrics")

    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    counted = "firmflow_http_requests_total"
    labels = {"method": "GET", "route": route, "status": "404"}
    assert sample(text, counted, **labels) - sample(before, counted, **labels) == 2
    timed = "firmflow_http_request_duration_seconds_count"
    labels = {"method": "GET", "route": route}
    assert sample(text, timed, **labels) - sample(before, timed, **labels) == 2
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert sample(text, counted, **unmatched) - sample(before, counted, **unmatched) == 1
    assert all(str(client_id) not in text for client_id in ids)


async def test_workflow_starts_are_counted_by_type(client: AsyncClient) -> None:
    name = "firmflow_workflow_starts_total"
    before = sample((await client.get("/metrics")).text, name, workflow_type="ClientImport")
    record_workflow_start("ClientImport")
    record_workflow_start("ClientImport")
    after = sample((await client.get("/metrics")).text, name, workflow_type="ClientImport")
    assert after - before == 2


def test_metrics_of_several_worker_processes_are_summed(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    record = "from core.metrics import record_workflow_start; record_workflow_start('Dunning')"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], env=env, cwd=ROOT, check=True)
    render = "from core.metrics import render; print(render()[0].decode())"
    shown = subprocess.run(
        [sys.executable, "-c", render], env=env, cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    assert sample(shown, "firmflow_workflow_starts_total", workflow_type="Dunning") == 2


# --- logs ---------------------------------------------------------------------------------


async def test_each_request_logs_one_json_line_with_its_request_id(
    client: AsyncClient, json_logs: io.StringIO
) -> None:
    response = await client.get("/v1/me", headers={"X-Request-ID": "trace-1"})
    assert response.status_code == 401
    [access] = [line for line in log_lines(json_logs) if line["logger"] == "firmflow.access"]
    assert access["request_id"] == "trace-1"
    assert access["route"] == "/v1/me"
    assert access["status"] == 401
    assert access["level"] == "INFO"
    assert isinstance(access["duration_ms"], float)


async def test_probes_log_at_debug_only(client: AsyncClient, json_logs: io.StringIO) -> None:
    await client.get("/health")
    [access] = [line for line in log_lines(json_logs) if line["logger"] == "firmflow.access"]
    assert access["level"] == "DEBUG"


async def test_tokens_never_reach_the_logs(
    client: AsyncClient, db: AsyncSession, json_logs: io.StringIO
) -> None:
    actor = await make_firm(db)
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 200
    await client.get("/v1/me", headers={"Authorization": "Bearer not-a-real-token-123"})
    await client.post(
        "/v1/auth/login", json={"email": "nobody@example.com", "password": "hunter2-secret"}
    )
    text = json_logs.getvalue()
    assert text  # the requests were logged
    for secret in (actor.token, "not-a-real-token-123", "hunter2-secret"):
        assert secret not in text


def test_the_formatter_masks_secrets_in_fields_messages_and_tracebacks() -> None:
    formatter = RedactingJsonFormatter()
    try:
        raise RuntimeError("connect to postgresql://app:s3cr3t@db/firmflow failed")
    except RuntimeError:
        record = logging.getLogger("t").makeRecord(
            "t",
            logging.ERROR,
            __file__,
            1,
            "retrying with Authorization: Bearer abc.def-ghi and password=hunter2",
            (),
            sys.exc_info(),
            extra={"password": "pw-1", "headers": {"Authorization": "Bearer xyz"}, "n": 3},
        )
    line = json.loads(formatter.format(record))
    assert line["password"] == "[redacted]"
    assert line["headers"] == {"Authorization": "[redacted]"}
    assert line["n"] == 3
    assert line["message"] == (
        "retrying with Authorization: Bearer [redacted] and password=[redacted]"
    )
    assert "s3cr3t" not in line["exc_info"]
    assert "postgresql://app:[redacted]@db/firmflow" in line["exc_info"]
    assert {"time", "level", "logger"} <= line.keys()
