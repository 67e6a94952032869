"""Per-request context: a request id (echoed in ``X-Request-ID``, attached to every log line
and problem response), one access log line, and the HTTP metrics.

A plain ASGI middleware rather than ``BaseHTTPMiddleware``: it never buffers a response and
the request id context variable reaches the endpoint's task unchanged.
"""

import logging
import re
import time
import uuid

from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics
from core.logging import REDACTED, REQUEST_ID, SECRET_KEY

REQUEST_ID_HEADER = "X-Request-ID"
# Accept a caller's id only if it is short and plain, so it is safe in headers and logs.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes and scrapes come every few seconds; their access lines are debug noise.
_QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})

log = logging.getLogger("firmflow.access")


def request_id_from(scope: Scope) -> str:
    incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
    if incoming is not None and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RouteTemplates:
    """The full template (``/v1/clients/{client_id}``) of the route that served a request.

    ``scope["route"]`` is the route as declared, without the prefix its router was included
    under, so templates come from the application's route table, rebuilt whenever a route is
    not found in it (routes can be added after the first request)."""

    def __init__(self) -> None:
        self._by_route: dict[int, str] = {}

    def __call__(self, scope: Scope) -> str:
        route = scope.get("route")
        if not isinstance(route, BaseRoute):
            return metrics.UNMATCHED_ROUTE
        template = self._by_route.get(id(route))
        if template is None:
            self._by_route = {
                id(context.original_route): context.path_format
                for context in iter_route_contexts(scope["app"].routes)
                if context.path_format
            }
            template = self._by_route.get(id(route)) or getattr(route, "path", None)
        return template or metrics.UNMATCHED_ROUTE


def loggable_path(scope: Scope) -> str:
    """The raw path with secret-named path parameters (invitation tokens…) masked."""
    path: str = scope.get("path", "")
    for name, value in (scope.get("path_params") or {}).items():
        if SECRET_KEY.search(name) and str(value):
            path = path.replace(str(value), REDACTED)
    return path[:512]


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route_template = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = request_id_from(scope)
        # request.state is backed by scope["state"]: routes, deps and error handlers read it.
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = self.route_template(scope)
            metrics.record_request(scope["method"], route, status, elapsed)
            level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
            log.log(
                level,
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={
                    "method": scope["method"],
                    "path": loggable_path(scope),
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            REQUEST_ID.reset(token)
