"""The staff web app (``web/``, built by ``make web-build`` into ``web/dist``), served by the
API process: hashed assets with a year-long cache, and ``index.html`` for every other page
address (the app routes in the browser), under a strict Content-Security-Policy.

API addresses never fall back to the page: an unknown ``/v1/...`` stays a problem+json 404."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

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
# Paths the API answers itself; anything under them that no route matched is a 404.
API_PREFIXES = ("v1/", "v1", "docs", "redoc", "openapi.json", "metrics", "ready", "health")


class HashedAssets(StaticFiles):
    """Vite names every asset after a hash of its content, so it can be cached for ever."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the built app when there is one; without a build, page addresses answer 404
    with a problem saying how to build it."""
    dist = (dist or DEFAULT_DIST).resolve()
    index = dist / "index.html"
    if (dist / "assets").is_dir():
        app.mount("/assets", HashedAssets(directory=dist / "assets"), name="web-assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def page(path: str, request: Request) -> Response:
        if path.startswith(API_PREFIXES) or not index.is_file():
            raise StarletteHTTPException(404)
        top_level = dist / path
        if "/" not in path and path and top_level.is_file() and path != "index.html":
            return FileResponse(top_level, headers={"X-Content-Type-Options": "nosniff"})
        return FileResponse(index, headers=PAGE_HEADERS, media_type="text/html")
