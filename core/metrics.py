"""Prometheus metrics.

HTTP metrics are labelled by route template (``/v1/clients/{client_id}``), never by raw
path, so the number of series stays bounded whatever clients send. With several uvicorn
worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` (the launcher does) and /metrics
aggregates every process.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "firmflow_http_requests_total",
    "HTTP requests handled, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "firmflow_http_request_duration_seconds",
    "Time to the end of the HTTP response, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WORKFLOW_STARTS = Counter(
    "firmflow_workflow_starts_total",
    "Temporal workflows started by firmflow, by workflow type.",
    ["workflow_type"],
)


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "OTHER"
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_LATENCY.labels(method=method, route=route).observe(seconds)


def record_workflow_start(workflow_type: str) -> None:
    """Count one workflow start; call it once the start request has been accepted."""
    WORKFLOW_STARTS.labels(workflow_type=workflow_type).inc()


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
