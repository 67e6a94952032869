"""The staff web app (``web/``, built by ``make web-build`` into ``web/dist``), served by the
API process: hashed assets with a year-long cache, and ``index.html`` for every other page
address (the app routes in the browser), under a strict Content-Security-Policy.

API addresses never fall back to the page: an unknown ``/v1/...`` stays a problem+json 404."""

import gzip
import os
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from starlette.datastructures import Headers
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from core.errors import NotFound

DEFAULT_DIST = Path(__file__).resolve().parents[1] / "web" / "dist"

# No inline script and nothing from another origin. Mantine sets inline style attributes and
# injects its CSS variables in a <style> element, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # Page addresses can carry a token (/pay/<id>?t=…): never send them on as a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # A new build must be picked up at once; only the hashed assets are cached for long.
    "Cache-Control": "no-cache",
}
# First path segments the API answers itself; anything under them that no route matched is
# a 404. Whole segments: a page such as /healthy-clients or /documents is the app's.
API_ROOTS = frozenset(("v1", "docs", "redoc", "openapi.json", "metrics", "ready", "health"))
NOT_BUILT = "The web app is not built here: run `make web-build` (make dev builds it)."


IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
# Smaller files gain nothing worth the Content-Encoding.
COMPRESS_FROM_BYTES = 1024
# Each build adds files under new names; a long-running dev server serves many builds.
MAX_COMPRESSED_FILES = 256


def accepts_gzip(scope: Scope) -> bool:
    accepted = Headers(scope=scope).get("accept-encoding", "")
    return any(part.split(";")[0].strip() == "gzip" for part in accepted.split(","))


class HashedAssets(StaticFiles):
    """Vite names every asset after a hash of its content, so it can be cached for ever, and
    compressed once: the gzip of each file is kept in memory (level 9, what the initial
    JavaScript is measured at in bench/web_app.py), so a cold page load costs no compression."""

    def __init__(self, *, directory: Path) -> None:
        super().__init__(directory=directory)
        self._gzipped: dict[tuple[str, int, int], bytes] = {}

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        if not (
            isinstance(response, FileResponse)
            and response.stat_result is not None
            and response.stat_result.st_size >= COMPRESS_FROM_BYTES
            and (response.media_type or "").startswith(COMPRESSIBLE)
            and accepts_gzip(scope)
            and "range" not in Headers(scope=scope)
        ):
            return response
        body = await self._gzip(str(response.path), response.stat_result)
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "accept-ranges")
        }
        headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        return Response(body, headers=headers)

    async def _gzip(self, path: str, stat: os.stat_result) -> bytes:
        key = (path, stat.st_mtime_ns, stat.st_size)
        body = self._gzipped.get(key)
        if body is None:
            content = await anyio.Path(path).read_bytes()
            body = await anyio.to_thread.run_sync(gzip.compress, content, 9)
            if len(self._gzipped) >= MAX_COMPRESSED_FILES:
                self._gzipped.clear()
            self._gzipped[key] = body
        return body


def install(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the built app when there is one. Page addresses are what no route matched, so
    a route added later still wins; without a build they are a 404 problem saying how to
    build it."""
    dist = (dist or DEFAULT_DIST).resolve()
    index = dist / "index.html"
    if (dist / "assets").is_dir():
        app.mount("/assets", HashedAssets(directory=dist / "assets"), name="web-assets")
    unmatched = app.router.default

    async def page(scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "/")).lstrip("/")
        if (
            scope["type"] != "http"
            or scope.get("method") not in {"GET", "HEAD"}
            or path.split("/", 1)[0] in API_ROOTS
        ):
            await unmatched(scope, receive, send)
            return
        if not index.is_file():
            raise NotFound(NOT_BUILT)
        top_level = dist / path
        response: Response
        if path and "/" not in path and path != "index.html" and top_level.is_file():
            response = FileResponse(top_level, headers={"X-Content-Type-Options": "nosniff"})
        else:
            response = FileResponse(index, headers=PAGE_HEADERS, media_type="text/html")
        await response(scope, receive, send)

    app.router.default = page
