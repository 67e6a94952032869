"""The commands: ``dev`` (launcher.dev), ``api``, ``worker``, ``migrate``, and ``openapi``
(prints the API's OpenAPI document, from which ``make web-client`` generates the web app's
client)."""

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import launcher
from core.config import Settings, get_settings
from core.logging import configure_logging, logging_config
from launcher.dev import Dev
from launcher.postgres import run_migrations, wait_for_postgres
from launcher.processes import ROOT, Deadline, LaunchError
from launcher.settings import LaunchSettings

log = logging.getLogger("firmflow.launcher")


def run_api(settings: Settings, launch: LaunchSettings) -> int:
    import uvicorn

    if launch.api_workers > 1:
        _prepare_multiprocess_metrics()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=launch.api_host,
        port=launch.api_port,
        workers=launch.api_workers,
        log_config=logging_config(settings.log_level),
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=launch.forwarded_allow_ips,
        timeout_graceful_shutdown=20,
    )
    return 0


def _prepare_multiprocess_metrics() -> None:
    """Every uvicorn worker writes its counters under one directory that /metrics sums up;
    files left by an earlier run would be counted again, so they go first."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory is None:
        directory = tempfile.mkdtemp(prefix="firmflow-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    for stale in Path(directory).glob("*.db"):
        stale.unlink()


def run_worker() -> NoReturn:
    """Become ``python worker.py``: it configures its logging and stops gracefully on
    SIGINT and SIGTERM by itself, and signals then reach it directly."""
    worker_path = str(ROOT / "worker.py")
    os.execv(sys.executable, [sys.executable, worker_path])  # noqa: S606 (our own interpreter)


def run_migrate(settings: Settings, launch: LaunchSettings) -> int:
    configure_logging(settings.log_level)
    deadline = Deadline(launch.startup_timeout_seconds)
    asyncio.run(wait_for_postgres(settings.owner_url, deadline, asyncio.Event()))
    run_migrations(settings.owner_url)
    log.info("database schema is at the latest migration")
    return 0


def print_openapi() -> int:
    """The document the API serves at /openapi.json, built without a database or Temporal."""
    import json

    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from api.app import create_app

    # An engine connects on first use only, and building the document uses none.
    unused = async_sessionmaker(create_async_engine("postgresql+psycopg://unused@127.0.0.1/unused"))
    document = create_app(Settings(), sessionmaker=unused).openapi()
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launcher", description=launcher.__doc__)
    parser.add_argument("command", choices=["dev", "api", "worker", "migrate", "openapi"])
    command = parser.parse_args(argv).command
    settings = get_settings()
    launch = LaunchSettings()
    try:
        if command == "dev":
            configure_logging(settings.log_level)
            return asyncio.run(Dev(settings, launch).run())
        if command == "api":
            return run_api(settings, launch)
        if command == "worker":
            return run_worker()
        if command == "openapi":
            return print_openapi()
        return run_migrate(settings, launch)
    except LaunchError as exc:
        print(f"firmflow {command}: {exc}", file=sys.stderr, flush=True)
        return 1
