"""The /ready checks: can this process reach Postgres (through the system role switch, which
also proves the role grants are in place) and Temporal, each within a short timeout."""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import SystemPurpose, system_session
from core.errors import AppError
from core.temporal import ClientProvider

CHECK_TIMEOUT_SECONDS = 2.0
log = logging.getLogger("firmflow.readiness")


class NotReady(AppError):
    status = 503
    title = "Service unavailable"
    slug = "not-ready"


async def postgres_ok(maker: async_sessionmaker[AsyncSession]) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with system_session(SystemPurpose.readiness, maker) as session:
                await session.execute(text("SELECT 1"))
    except Exception:
        log.warning("readiness: Postgres check failed", exc_info=True)
        return False
    return True


async def temporal_ok(temporal: ClientProvider) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            client = await temporal()
            serving = await client.service_client.check_health(
                timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS)
            )
    except Exception:
        log.warning("readiness: Temporal check failed", exc_info=True)
        return False
    if not serving:
        log.warning("readiness: Temporal reports it is not serving")
    return serving


async def check(
    maker: async_sessionmaker[AsyncSession], temporal: ClientProvider
) -> dict[str, str]:
    """Every check's outcome; raises NotReady naming each part that is down."""
    postgres, temporal_up = await asyncio.gather(postgres_ok(maker), temporal_ok(temporal))
    checks = {
        "postgres": "ok" if postgres else "unreachable",
        "temporal": "ok" if temporal_up else "unreachable",
    }
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        names = " and ".join("Postgres" if name == "postgres" else "Temporal" for name in down)
        raise NotReady(
            f"{names} {'is' if len(down) == 1 else 'are'} not reachable",
            errors=[{"detail": f"{name} is not reachable", "component": name} for name in down],
            headers={"Retry-After": "5"},
        )
    return checks
