"""A real HTTP server on loopback standing in for the services automations call (a CRM, an
accounting API): it records every request and answers from a script, so a test can count
attempts and idempotency keys. Used by the run tests, the worker-crash e2e and the bench."""

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class HttpTarget:
    """``script[path]`` (the path without its query) lists the statuses to answer in turn
    (the last one repeats); any other path answers 200. Every answer is JSON:
    ``{"path", "n", "body"}`` where ``n`` counts the requests to that path so far."""

    port: int = 0
    script: dict[str, list[int]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    # Answers to these paths wait for ``gate`` (a test holds one while it kills a worker).
    held: set[str] = field(default_factory=set)
    gate: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def paths(self) -> list[str]:
        with self._lock:
            return [request.path for request in self.requests]

    def wait_for_path(self, path: str, timeout: float) -> bool:
        """Blocks until a request for ``path`` has arrived (call it through
        ``asyncio.to_thread`` from async code); False when ``timeout`` passed first."""
        with self._lock:
            return self._lock.wait_for(
                lambda: any(request.path == path for request in self.requests), timeout
            )

    def key_counts(self) -> Counter[str | None]:
        with self._lock:
            return Counter(request.idempotency_key for request in self.requests)

    def record(self, request: Request) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()
            n = sum(1 for seen in self.requests if seen.path == request.path)
        statuses = self.script.get(urlsplit(request.path).path, [200])
        status = statuses[min(n, len(statuses)) - 1]
        return status, {"path": request.path, "n": n, "body": request.body}


def _handler(target: HttpTarget) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``target.requests``."""

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            status, answer = target.record(
                Request(self.command, self.path, dict(self.headers), body)
            )
            if urlsplit(self.path).path in target.held:
                target.gate.wait()
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@contextmanager
def running_target(script: dict[str, list[int]] | None = None) -> Iterator[HttpTarget]:
    target = HttpTarget(script=dict(script or {}))
    target.gate.set()
    server = _Server(("127.0.0.1", 0), _handler(target))
    target.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        target.gate.set()
        server.shutdown()
        server.server_close()
