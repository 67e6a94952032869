"""Liveness, readiness and Prometheus metrics; unauthenticated, so they reveal nothing
beyond up or down (keep /metrics off the public internet; see docs/operations.md)."""

from fastapi import APIRouter, Response

from api.deps import SessionmakerDep, TemporalDep
from api.openapi import errors
from core import metrics, readiness
from core.readiness import NotReady

router = APIRouter(tags=["operations"])


@router.get("/health", summary="The process is alive")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Postgres and Temporal are reachable",
    responses=errors(NotReady),
)
async def ready(sessionmaker: SessionmakerDep, temporal: TemporalDep) -> dict[str, object]:
    checks = await readiness.check(sessionmaker, temporal)
    return {"status": "ok", "checks": checks}


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
