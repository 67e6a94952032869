"""The staff web app's two performance goals, printed beside the goal figures: (a) the initial
JavaScript (what index.html loads before any route's chunk) gzipped, against 250 KB; (b) the
Largest Contentful Paint of the dashboard and the clients list at 100,000 clients, on loopback
in headless Chromium, against 1 s.

    python bench/web_app.py [--dist web/dist] [--clients 100000] [--loads 5] [--seconds 600]
    python bench/web_app.py --bundle-only

(b) runs the whole platform as `make dev` does (``python -m launcher dev``: embedded Postgres,
Temporal, the worker, the API serving ``--dist``) with a fresh data directory under
.data/bench-web, signs a firm up through the API, inserts the clients with one
``INSERT ... SELECT generate_series`` as the database owner (an import through the API runs
in batches of 100 and would take minutes), then web/bench/lcp.mjs loads each page ``--loads``
times, each in a new browser context (empty cache, signed in by cookie)."""

import argparse
import gzip
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import httpx
from api_clients import insert_clients
from launched_platform import running_platform

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
DATA_DIR = ROOT / ".data" / "bench-web"
INITIAL_JS_GOAL_KB = 250.0
LCP_GOAL_MS = 1000.0
KB = 1000
PAGES = ("/", "/clients")
STARTUP_SECONDS = 180.0


class ModuleScripts(HTMLParser):
    """The JavaScript index.html loads before any route: its module script and the modules
    it preloads."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("type") == "module" and found.get("src"):
            self.sources.append(str(found["src"]))
        if tag == "link" and found.get("rel") == "modulepreload" and found.get("href"):
            self.sources.append(str(found["href"]))


@dataclass(frozen=True)
class Sized:
    name: str
    raw: int
    gzipped: int


def sized(path: Path) -> Sized:
    content = path.read_bytes()
    # Level 9, as the API sends them (api/web_app.py's GZipMiddleware).
    return Sized(path.name, len(content), len(gzip.compress(content, compresslevel=9)))


def kb(size: int) -> str:
    return f"{size / KB:7.1f} KB"


def report_bundle(dist: Path) -> None:
    parser = ModuleScripts()
    parser.feed((dist / "index.html").read_text())
    initial = [sized(dist / source.lstrip("/")) for source in parser.sources]
    every = [sized(path) for path in sorted((dist / "assets").glob("*.js"))]
    initial_gzip = sum(item.gzipped for item in initial)
    print(f"web app bundle ({dist}); KB = 1,000 bytes, gzip level 9", flush=True)
    print("  initial JavaScript (index.html's module script and modulepreload links):")
    for item in initial:
        print(f"    {item.name:<36} {kb(item.raw)} raw {kb(item.gzipped)} gzip")
    print(
        f"  initial JavaScript: {kb(sum(i.raw for i in initial))} raw,"
        f" {kb(initial_gzip)} gzip;  goal <= {INITIAL_JS_GOAL_KB:.0f} KB gzip:"
        f" ratio {initial_gzip / KB / INITIAL_JS_GOAL_KB:.2f}"
    )
    print(
        f"  all JavaScript ({len(every)} files, every route's chunk):"
        f" {kb(sum(i.raw for i in every))} raw, {kb(sum(i.gzipped for i in every))} gzip"
    )
    largest = max(every, key=lambda item: item.gzipped)
    print(f"  largest chunk: {largest.name} {kb(largest.gzipped)} gzip", flush=True)


@contextmanager
def running_platform_serving(dist: Path) -> Iterator[str]:
    """``python -m launcher dev`` on a fresh data directory, serving ``dist``; yields the
    API's URL."""
    env = {"FIRMFLOW_WEB_DIST": str(dist)}
    with running_platform(DATA_DIR, startup_seconds=STARTUP_SECONDS, env=env) as (url, _):
        yield url


@dataclass(frozen=True)
class Owner:
    firm_id: str
    email: str
    password: str


def sign_up(url: str) -> Owner:
    slug = f"bench-{secrets.token_hex(4)}"
    owner = {"email": f"owner@{slug}.example.com", "password": secrets.token_urlsafe(18)}
    answer = httpx.post(
        f"{url}/v1/signup",
        json={
            **owner,
            "firm_name": "Bench Firm",
            "firm_slug": slug,
            "name": "Bench Owner",
            "time_zone": "UTC",
            "default_currency": "USD",
        },
        timeout=30,
    )
    answer.raise_for_status()
    return Owner(answer.json()["firm"]["id"], owner["email"], owner["password"])


def fill_firm(owner: Owner, clients: int) -> None:
    """The clients, inserted as the schema owner of the platform's own database."""
    from launcher.postgres import start_embedded_postgres

    database = start_embedded_postgres(DATA_DIR)  # the running server, found by its data dir
    insert_clients(database.owner_url, owner.firm_id, clients)


def measure_lcp(url: str, owner: Owner, loads: int, seconds: float) -> list[dict[str, object]]:
    ran = subprocess.run(
        ["node", "bench/lcp.mjs", url, owner.email, owner.password, str(loads), *PAGES],
        cwd=WEB,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=seconds,
        check=False,
    )
    if ran.returncode != 0:
        raise RuntimeError(f"web/bench/lcp.mjs failed:\n{ran.stdout}\n{ran.stderr}")
    return [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]


def report_lcp(measured: list[dict[str, object]], clients: int, loads: int) -> None:
    print(
        f"web app LCP: headless Chromium on loopback, {clients:,} clients in the firm,"
        f" {loads} cold loads per page (new context, empty cache), 1280x800;"
        f" goal <= {LCP_GOAL_MS:.0f} ms"
    )
    for path in PAGES:
        loaded = [entry for entry in measured if entry["path"] == path]
        times = [float(str(entry["lcp_ms"])) for entry in loaded if entry["lcp_ms"] is not None]
        if not times:
            print(f"  {path:<10} no largest-contentful-paint entry ({len(loaded)} loads)")
            continue
        median, worst = statistics.median(times), max(times)
        last = loaded[-1]
        print(
            f"  {path:<10} median {median:6.0f} ms   max {worst:6.0f} ms"
            f"   ratio median/goal {median / LCP_GOAL_MS:.2f}"
        )
        print(
            f"  {'':<10} where the time went (medians): DOMContentLoaded"
            f" {median_of(loaded, 'dom_content_loaded_ms')}, first /v1 call"
            f" {median_of(loaded, 'first_api_call_ms')}, last /v1 answer"
            f" {median_of(loaded, 'last_api_answer_ms')}; {api_durations(loaded)}"
        )
        print(
            f"  {'':<10} LCP element {last['element']}, {last['rows']} table rows, at {last['url']}"
        )
    sys.stdout.flush()


def api_durations(loaded: list[dict[str, object]]) -> str:
    """Each API call the page made, with its median duration."""
    durations: dict[str, list[float]] = {}
    for entry in loaded:
        calls = entry.get("api_calls")
        for call in calls if isinstance(calls, list) else []:
            durations.setdefault(str(call["path"]), []).append(float(call["ms"]))
    return ", ".join(
        f"{path} {statistics.median(times):.0f} ms" for path, times in durations.items()
    )


def median_of(loaded: list[dict[str, object]], key: str) -> str:
    values = [float(str(entry[key])) for entry in loaded if entry.get(key) is not None]
    return f"{statistics.median(values):.0f} ms" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=WEB / "dist")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=600.0, help="bound of the page loads")
    parser.add_argument("--bundle-only", action="store_true")
    args = parser.parse_args()
    dist = args.dist.resolve()
    if not (dist / "index.html").is_file():
        raise SystemExit(f"no web app build in {dist}: run `make web-build`")
    report_bundle(dist)
    if args.bundle_only:
        return
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"web app LCP: machine load average {load} on {os.cpu_count()} cores (1, 5, 15 min)")
    print(f"web app LCP: starting the platform, then {args.clients:,} clients…", flush=True)
    with running_platform_serving(dist) as url:
        owner = sign_up(url)
        started = time.monotonic()
        fill_firm(owner, args.clients)
        print(f"  {args.clients:,} clients inserted in {time.monotonic() - started:.1f} s")
        measured = measure_lcp(url, owner, args.loads, args.seconds)
    report_lcp(measured, args.clients, args.loads)


if __name__ == "__main__":
    main()
