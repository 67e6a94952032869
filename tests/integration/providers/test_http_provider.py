"""Outbound HTTP for automation steps (providers.http) against a real server on loopback:
what is refused (before any traffic), what is allowed through the firm's allow-list, the
size cap, the deadline, redirects, DNS rebinding and the Idempotency-Key header, each with
a client of its own and through a worker's HttpPool; which kept connection the pool may
reuse (counted at the server); and the API that keeps each firm's allow-list."""

import asyncio
import ipaddress
import json
import logging
import ssl
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.principal import Principal
from core.roles import Role
from models import AuditEvent
from providers.http import (
    DEFAULT_MAX_BYTES,
    HttpClient,
    HttpFailed,
    HttpPool,
    HttpRefused,
    HttpRequest,
    HttpTimeout,
    HttpTooLarge,
    IPAddress,
    Resolver,
    is_internal,
    normalize_allowlist_entry,
    resolve,
)
from services.automations.external_effects import HttpClientFactory
from services.firm_settings import get_http_allowlist
from tests.factories import add_user, make_firm
from tests.problems import assert_problem, pointers


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    # The client's port: requests with the same one came over the same TCP connection.
    connection: int


@dataclass
class LocalServer:
    """What one keep-alive (HTTP/1.1) server saw: requests and connections."""

    port: int
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    # The client port of each connection accepted, and of each that ended, in order.
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def record(self, into: list[Any], item: Any) -> None:
        with self._changed:
            into.append(item)
            self._changed.notify_all()

    async def wait_until(self, *, closed: int = 0, paths: int = 0) -> None:
        """Until the server has seen ``closed`` connections end and ``paths`` requests:
        the server notices a client's close on its own thread, a moment later."""

        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(
                    lambda: len(self.closed) >= closed and len(self.seen) >= paths, timeout=10
                )

        assert await asyncio.to_thread(wait), (self.closed, self.seen)

    def connections(self) -> list[int]:
        return [seen.connection for seen in self.seen]


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keeps the connection open between requests, as the services automations call do,
        # and sends each write at once, as they do too: with Nagle's algorithm a body written
        # after its headers would wait for the client's delayed ACK on a kept connection.
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``seen`` instead."""

        def setup(self) -> None:
            server.record(server.opened, self.client_address[1])
            super().setup()

        def finish(self) -> None:
            server.record(server.closed, self.client_address[1])
            super().finish()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, dict(self.headers), body, self.client_address[1])
            server.record(server.seen, seen)
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/json":
                self._send(200, b'{"ok": true, "n": 1}', "application/json; charset=utf-8")
            elif parts.path == "/text":
                self._send(201, b"hello", "text/plain", extra={"X-Custom": "Yes"})
            elif parts.path == "/set-cookie":
                self._send(200, b"{}", "application/json", extra={"Set-Cookie": "session=s3cret"})
            elif parts.path == "/redirect":
                self.send_response(int(query.get("status", "302")))
                self.send_header("Location", query["to"])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/big":
                size = int(query["n"])
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if query.get("declare") == "1":
                    self.send_header("Content-Length", str(size))
                else:
                    self.send_header("Connection", "close")
                self.end_headers()
                # Without Content-Length the body ends when the connection closes.
                for _ in range(size // 1024):
                    self.wfile.write(b"x" * 1024)
            elif parts.path == "/slow":
                # Held until the test ends: the client's deadline must end the wait.
                server.release.wait()
                self._send(200, b"late", "text/plain")
            else:
                self._send(404, b"{}", "application/json")

        def _send(
            self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, size cap, refused certificate) leaves a broken
        connection behind; the tests assert on what the client saw instead."""


@contextmanager
def serving(
    address: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[LocalServer]:
    local = LocalServer(port=port)
    httpd = QuietServer((address, port), _handler(local))
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    local.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield local
    finally:
        local.release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with serving() as local:
        yield local


class NoTraffic(httpx.AsyncBaseTransport):
    """A transport that fails the test if a request ever reaches it."""

    def __init__(self) -> None:
        self.used = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.used = True
        raise AssertionError(f"a request was sent to {request.url}")


class Clients:
    """Makes each test's clients two ways: a client with connections of its own
    ("fresh"), or a client of a worker's pool ("pooled", one pool per setting, closed
    when the test ends), so every behaviour is proven on both paths."""

    def __init__(self, pooled: bool) -> None:
        self.pooled = pooled
        self.pools: dict[tuple[int, ssl.SSLContext | None, Resolver], HttpPool] = {}

    def __call__(
        self,
        allowlist: Iterable[str] = ("127.0.0.1",),
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        tls: ssl.SSLContext | None = None,
        resolver: Resolver = resolve,
    ) -> HttpClient:
        if not self.pooled:
            return HttpClient(allowlist, max_bytes=max_bytes, tls=tls, resolver=resolver)
        key = (max_bytes, tls, resolver)
        if key not in self.pools:
            self.pools[key] = HttpPool(max_bytes=max_bytes, tls=tls, resolver=resolver)
        return self.pools[key](allowlist)


@pytest.fixture(params=["fresh", "pooled"])
async def connect(request: pytest.FixtureRequest) -> AsyncIterator[Clients]:
    clients = Clients(pooled=request.param == "pooled")
    yield clients
    for pool in clients.pools.values():
        await pool.aclose()


async def test_loopback_is_refused_by_default(server: LocalServer, connect: Clients) -> None:
    with pytest.raises(HttpRefused, match="allow-list"):
        await connect([]).request(HttpRequest("GET", server.url("/json")))
    with pytest.raises(HttpRefused):
        await connect([]).request(HttpRequest("GET", server.url("/json", host="localhost")))
    assert server.seen == [] and server.opened == []


async def test_allowed_when_on_the_allow_list(server: LocalServer, connect: Clients) -> None:
    result = await connect().request(HttpRequest("GET", server.url("/json")))
    assert result.status == 200
    assert result.body == {"ok": True, "n": 1}
    assert result.headers["content-type"] == "application/json; charset=utf-8"
    assert result.elapsed_ms >= 0
    text = await connect(["127.0.0.0/8"]).request(HttpRequest("GET", server.url("/text")))
    assert (text.status, text.body, text.headers["x-custom"]) == (201, "hello", "Yes")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://10.255.255.255:8080/",
        "http://172.16.0.1/",
        "http://172.31.255.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://127.0.0.1/",
        "http://127.1.2.3/",
        "http://[::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[ff02::1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::1]/",
        "https://[::ffff:192.168.0.1]:8443/x",
        # Numeric host forms the resolver turns into 127.0.0.1 without any DNS traffic.
        "http://2130706433/",
        "http://0x7f.1/",
    ],
)
async def test_internal_addresses_are_refused_before_any_traffic(url: str) -> None:
    transport = NoTraffic()
    client = HttpClient(transport=transport)
    with pytest.raises(HttpRefused):
        await client.request(HttpRequest("POST", url, body={"a": 1}))
    assert not transport.used


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_not_internal(address: str) -> None:
    assert not is_internal(ipaddress.ip_address(address))


async def test_a_host_with_any_internal_address_is_refused() -> None:
    async def split(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.1.2.3")]

    transport = NoTraffic()
    with pytest.raises(HttpRefused):
        await HttpClient(resolver=split, transport=transport).request(
            HttpRequest("GET", "http://mixed.example/")
        )
    assert not transport.used


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "ftp://127.0.0.1/file"),
        ("GET", "file:///etc/passwd"),
        ("GET", "gopher://127.0.0.1/"),
        ("TRACE", "http://127.0.0.1/"),
        ("GET", "not a url"),
        ("GET", "http:///nohost"),
    ],
)
async def test_other_schemes_and_methods_are_refused(method: str, url: str) -> None:
    transport = NoTraffic()
    with pytest.raises(HttpRefused):
        await HttpClient(["127.0.0.1"], transport=transport).request(HttpRequest(method, url))
    assert not transport.used


async def test_timeout_must_be_bounded(connect: Clients) -> None:
    for timeout in (0, -1, 121):
        with pytest.raises(HttpRefused, match="timeout"):
            await connect().request(HttpRequest("GET", "http://127.0.0.1/", timeout=timeout))


async def test_dns_is_asked_once_and_the_vetted_address_is_used(
    server: LocalServer, connect: Clients
) -> None:
    """DNS rebinding: a second lookup could answer with another address. The client
    connects to the address it vetted and names the host only in the Host header."""
    answers = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("169.254.169.254")]
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        calls.append(host)
        return [answers[len(calls) - 1]]

    client = connect(["rebind.test"], resolver=rebinding)
    result = await client.request(HttpRequest("GET", server.url("/json", host="rebind.test")))
    assert result.status == 200
    assert calls == ["rebind.test"]
    assert server.seen[0].headers["Host"] == f"rebind.test:{server.port}"


async def test_the_next_vetted_address_is_tried_when_one_refuses(
    server: LocalServer, connect: Clients
) -> None:
    async def two(host: str, port: int) -> list[IPAddress]:
        # Nothing listens on 127.0.0.2 at the server's port: the connection is refused.
        return [ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("127.0.0.1")]

    client = connect(["127.0.0.0/8"], resolver=two)
    result = await client.request(HttpRequest("GET", server.url("/json", host="twice.test")))
    assert result.status == 200 and len(server.seen) == 1


async def test_international_host_names_are_resolved_and_allowed_in_ascii(
    server: LocalServer, connect: Clients
) -> None:
    asked: list[str] = []

    async def record(host: str, port: int) -> list[IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    client = connect(["xn--bcher-kva.test"], resolver=record)
    result = await client.request(HttpRequest("GET", server.url("/json", host="bücher.test")))
    assert result.status == 200
    assert asked == ["xn--bcher-kva.test"]
    assert server.seen[0].headers["Host"] == f"xn--bcher-kva.test:{server.port}"


async def test_redirects_are_followed_and_vetted(server: LocalServer, connect: Clients) -> None:
    to_json = server.url("/json")
    result = await connect().request(
        HttpRequest("POST", server.url(f"/redirect?status=303&to={to_json}"), body={"x": 1})
    )
    assert result.body == {"ok": True, "n": 1}
    assert [(s.method, s.path) for s in server.seen] == [
        ("POST", f"/redirect?status=303&to={to_json}"),
        ("GET", "/json"),
    ]
    # 307 keeps the method and the body.
    server.seen.clear()
    await connect().request(
        HttpRequest("PUT", server.url(f"/redirect?status=307&to={to_json}"), body="raw")
    )
    assert [(s.method, s.body) for s in server.seen] == [("PUT", b"raw"), ("PUT", b"raw")]


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://10.0.0.1/"]
)
async def test_a_redirect_to_a_refused_address_is_refused(
    server: LocalServer, connect: Clients, target: str
) -> None:
    with pytest.raises(HttpRefused):
        await connect().request(HttpRequest("GET", server.url(f"/redirect?to={target}")))
    assert len(server.seen) == 1


async def test_redirect_to_another_scheme_is_refused(server: LocalServer, connect: Clients) -> None:
    with pytest.raises(HttpRefused, match="http and https"):
        await connect().request(HttpRequest("GET", server.url("/redirect?to=file:///etc/passwd")))


def self_signed(name: str, directory: Path) -> tuple[Path, Path]:
    """A certificate for ``name`` (its own authority) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[LocalServer, ssl.SSLContext]]:
    """A local HTTPS server whose certificate names secure.test, and a client context
    that trusts it."""
    cert, key = self_signed("secure.test", tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    with serving(tls=server_context) as local:
        yield local, ssl.create_default_context(cafile=str(cert))


async def to_loopback(host: str, port: int) -> list[IPAddress]:
    return [ipaddress.ip_address("127.0.0.1")]


async def test_https_to_the_vetted_address_verifies_the_host_name(
    tls_server: tuple[LocalServer, ssl.SSLContext], connect: Clients
) -> None:
    """The connection goes to the vetted IP, yet TLS (SNI and certificate check) still
    speaks to the host name of the URL."""
    server, trust = tls_server
    client = connect(["127.0.0.1"], tls=trust, resolver=to_loopback)
    result = await client.request(HttpRequest("GET", f"https://secure.test:{server.port}/json"))
    assert result.body == {"ok": True, "n": 1}
    assert server.seen[0].headers["Host"] == f"secure.test:{server.port}"
    # The same server under a name its certificate does not carry is not trusted.
    with pytest.raises(HttpFailed, match=r"other\.test"):
        await client.request(HttpRequest("GET", f"https://other.test:{server.port}/json"))
    assert len(server.seen) == 1


async def test_redirect_chains_are_followed_and_loops_end(
    server: LocalServer, connect: Clients
) -> None:
    chain = server.url("/redirect?to=/redirect%3Fto%3D/json")
    assert (await connect().request(HttpRequest("GET", chain))).body == {"ok": True, "n": 1}
    server.seen.clear()
    with pytest.raises(HttpFailed, match="More than 5 redirects"):
        await connect().request(HttpRequest("GET", server.url("/loop")))
    assert len(server.seen) == 6


async def test_credentials_do_not_follow_a_redirect_to_another_origin(
    server: LocalServer, connect: Clients
) -> None:
    other_origin = server.url("/json", host="localhost")
    client = connect(["127.0.0.1", "::1", "localhost"])
    await client.request(
        HttpRequest(
            "GET",
            server.url(f"/redirect?to={other_origin}"),
            headers={"Authorization": "Bearer s3cret", "X-Trace": "1"},
        )
    )
    first, second = server.seen
    assert first.headers["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in second.headers
    assert second.headers["X-Trace"] == "1"


async def test_size_cap(server: LocalServer, connect: Clients) -> None:
    small = connect(max_bytes=4096)
    ok = await small.request(HttpRequest("GET", server.url("/big?n=4096&declare=1")))
    assert len(ok.body) == 4096
    for declare in ("1", "0"):
        with pytest.raises(HttpTooLarge, match="4096 bytes"):
            await small.request(HttpRequest("GET", server.url(f"/big?n=8192&declare={declare}")))
    with pytest.raises(HttpTooLarge, match="1048576 bytes"):
        await connect().request(HttpRequest("GET", server.url("/big?n=2097152")))
    # An abandoned response leaves no half-read connection behind for the next request.
    assert (await small.request(HttpRequest("GET", server.url("/json")))).status == 200


async def test_timeout(server: LocalServer, connect: Clients) -> None:
    with pytest.raises(HttpTimeout, match=r"within 0\.3 s"):
        await connect().request(HttpRequest("GET", server.url("/slow"), timeout=0.3))
    # The connection still waiting for /slow is not handed to the next request.
    assert (await connect().request(HttpRequest("GET", server.url("/json")))).status == 200


async def test_idempotency_key_and_body_are_sent(server: LocalServer, connect: Clients) -> None:
    await connect().request(
        HttpRequest(
            "POST",
            server.url("/json"),
            headers={"Idempotency-Key": "caller's", "X-Api-Key": "k", "Host": "evil.example"},
            body={"hello": "world"},
            idempotency_key="run-1:step-2",
        )
    )
    [seen] = server.seen
    assert seen.headers["Idempotency-Key"] == "run-1:step-2"
    assert seen.headers["X-Api-Key"] == "k"
    assert seen.headers["Host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["Content-Type"] == "application/json"
    assert json.loads(seen.body) == {"hello": "world"}


async def test_header_values_are_never_logged(
    server: LocalServer, connect: Clients, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await connect().request(
        HttpRequest("GET", server.url("/json"), headers={"Authorization": "Bearer top-secret"})
    )
    assert "top-secret" not in caplog.text


async def test_unreachable_and_unresolvable_hosts_fail_cleanly(connect: Clients) -> None:
    async def nothing(host: str, port: int) -> list[IPAddress]:
        return []

    with pytest.raises(HttpFailed, match="resolve"):
        await connect([], resolver=nothing).request(HttpRequest("GET", "http://gone.example/"))
    with pytest.raises(HttpFailed, match="resolve"):
        await connect([]).request(HttpRequest("GET", "http://no-such-host.invalid/"))
    # A refused connection (nothing listens on port 1) is a clean failure too.
    closed = connect()
    with pytest.raises(HttpFailed, match=r"127\.0\.0\.1"):
        await closed.request(HttpRequest("GET", "http://127.0.0.1:1/"))


@pytest.mark.parametrize(
    ("entry", "normal"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("fd00::/8", "fd00::/8"),
        ("Internal.Example.COM.", "internal.example.com"),
        ("crm", "crm"),
    ],
)
def test_allowlist_entries_are_normalized(entry: str, normal: str) -> None:
    assert normalize_allowlist_entry(entry) == normal


@pytest.mark.parametrize(
    "entry", ["", " ", "10.0.0.0/33", "http://x.example", "a b", "-bad.example", "x" * 64, "é.fr"]
)
def test_bad_allowlist_entries_are_rejected(entry: str) -> None:
    with pytest.raises(ValueError):
        normalize_allowlist_entry(entry)


# A worker's HttpPool: which kept connection a request may use. Every request is resolved
# and vetted first; a kept connection then carries only a request for the same scheme,
# host name, port and vetted address.


class Dns:
    """A resolver answering the n-th lookup with ``answers[n]`` (the last answer repeats),
    recording the host names it was asked for."""

    def __init__(self, *answers: str) -> None:
        self.answers = [ipaddress.ip_address(answer) for answer in answers]
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        return [self.answers[min(len(self.asked), len(self.answers)) - 1]]


def get(server: LocalServer, host: str, path: str = "/json") -> HttpRequest:
    return HttpRequest("GET", server.url(path, host=host))


async def test_the_pool_keeps_one_connection_per_host(server: LocalServer) -> None:
    async with HttpPool(resolver=Dns("127.0.0.1")) as pool:
        # The pool stands wherever a client factory is taken (AutomationActivities).
        factory: HttpClientFactory = pool
        for _ in range(3):
            # A client per request, as each step builds one: the connection is the pool's.
            assert (await factory(["127.0.0.1"]).request(get(server, "api.test"))).status == 200
        assert len(server.opened) == 1 and len(set(server.connections())) == 1
    # A client without a pool opens a connection per request.
    fresh = HttpClient(["127.0.0.1"])
    for _ in range(2):
        await fresh.request(get(server, "127.0.0.1"))
    assert len(server.opened) == 3


async def test_rebinding_is_refused_although_a_connection_is_kept(server: LocalServer) -> None:
    """Each request is resolved and vetted anew, so an answer that turns internal is
    refused even while a connection to the host's earlier address is open."""
    dns = Dns("127.0.0.1", "169.254.169.254")
    async with HttpPool(resolver=dns) as pool:
        client = pool(["127.0.0.1"])
        assert (await client.request(get(server, "rebind.test"))).status == 200
        with pytest.raises(HttpRefused, match=r"rebind\.test"):
            await client.request(get(server, "rebind.test"))
    assert dns.asked == ["rebind.test", "rebind.test"]
    assert len(server.seen) == 1 and len(server.opened) == 1


async def test_a_redirect_hop_is_vetted_again_although_a_connection_is_kept(
    server: LocalServer,
) -> None:
    dns = Dns("127.0.0.1", "127.0.0.1", "10.0.0.1")
    async with HttpPool(resolver=dns) as pool:
        client = pool(["127.0.0.1"])
        await client.request(get(server, "hop.test"))
        with pytest.raises(HttpRefused, match=r"hop\.test"):
            await client.request(get(server, "hop.test", "/redirect?to=/json"))
    assert dns.asked == ["hop.test"] * 3
    assert [seen.path for seen in server.seen] == ["/json", "/redirect?to=/json"]
    assert len(server.opened) == 1


async def test_a_new_dns_answer_connects_to_the_new_address(server: LocalServer) -> None:
    with serving("127.0.0.2", server.port) as moved:
        async with HttpPool(resolver=Dns("127.0.0.1", "127.0.0.2")) as pool:
            client = pool(["127.0.0.0/8"])
            for _ in range(2):
                assert (await client.request(get(server, "moving.test"))).status == 200
        assert len(server.seen) == 1 and len(moved.seen) == 1
        assert moved.seen[0].headers["Host"] == f"moving.test:{server.port}"
        assert len(moved.opened) == 1


async def test_host_names_on_one_address_do_not_share_a_connection(server: LocalServer) -> None:
    async with HttpPool(resolver=to_loopback) as pool:
        client = pool(["127.0.0.1"])
        for host in ("a.test", "b.test", "a.test", "b.test"):
            await client.request(get(server, host))
    a1, b1, a2, b2 = server.seen
    assert [seen.headers["Host"] for seen in server.seen] == [
        f"{host}:{server.port}" for host in ("a.test", "b.test", "a.test", "b.test")
    ]
    assert a1.connection == a2.connection != b1.connection == b2.connection
    assert len(server.opened) == 2


async def test_a_kept_tls_connection_carries_only_the_host_it_was_verified_for(
    tls_server: tuple[LocalServer, ssl.SSLContext],
) -> None:
    """other.test lives on the same address as secure.test, whose connection is kept; the
    certificate names only secure.test, so other.test must get (and fail) its own
    handshake rather than ride on the verified connection."""
    server, trust = tls_server
    async with HttpPool(tls=trust, resolver=to_loopback) as pool:
        client = pool(["127.0.0.1"])
        for _ in range(2):
            secure = f"https://secure.test:{server.port}/json"
            assert (await client.request(HttpRequest("GET", secure))).status == 200
        with pytest.raises(HttpFailed, match=r"other\.test"):
            await client.request(HttpRequest("GET", f"https://other.test:{server.port}/json"))
    assert len(server.seen) == 2 and len(server.opened) == 1


async def test_each_firm_is_vetted_against_its_own_allow_list(server: LocalServer) -> None:
    async with HttpPool() as pool:
        assert (await pool(["127.0.0.1"]).request(get(server, "127.0.0.1"))).status == 200
        with pytest.raises(HttpRefused, match="allow-list"):
            await pool([]).request(get(server, "127.0.0.1"))
    assert len(server.seen) == 1


async def test_a_cookie_one_response_sets_is_never_sent_again(server: LocalServer) -> None:
    async with HttpPool() as pool:
        await pool(["127.0.0.1"]).request(get(server, "127.0.0.1", "/set-cookie"))
        await pool(["127.0.0.1"]).request(get(server, "127.0.0.1"))
    assert "Cookie" not in server.seen[1].headers
    assert server.seen[0].connection == server.seen[1].connection


async def test_the_pool_keeps_connections_for_a_bounded_number_of_hosts(
    server: LocalServer,
) -> None:
    async with HttpPool(resolver=to_loopback, max_hosts=2) as pool:
        client = pool(["127.0.0.1"])
        for host in ("a.test", "b.test", "c.test"):
            await client.request(get(server, host))
        # a.test, the least recently used, is dropped and its connection closed.
        await server.wait_until(closed=1)
        assert server.closed == [server.seen[0].connection]
        await client.request(get(server, "a.test"))
        await server.wait_until(closed=2)
        assert server.closed[1] == server.seen[1].connection
        await client.request(get(server, "c.test"))
    a1, _, c1, a2, c2 = server.seen
    assert a2.connection != a1.connection and c2.connection == c1.connection
    assert len(server.opened) == 4


async def test_a_host_dropped_while_its_request_runs_is_closed_once_it_ends(
    server: LocalServer,
) -> None:
    async with HttpPool(resolver=to_loopback, max_hosts=1) as pool:
        client = pool(["127.0.0.1"])
        slow = asyncio.create_task(client.request(get(server, "slow.test", "/slow")))
        await server.wait_until(paths=1)
        # Drops slow.test's connections from the pool while its request still runs.
        await client.request(get(server, "other.test"))
        server.release.set()
        assert (await slow).body == "late"
        await server.wait_until(closed=1)
        assert server.closed == [server.seen[0].connection]


async def test_a_host_idle_past_the_expiry_is_closed(server: LocalServer) -> None:
    now = [0.0]
    async with HttpPool(resolver=to_loopback, keepalive_expiry=30, clock=lambda: now[0]) as pool:
        client = pool(["127.0.0.1"])
        # a.test, idle for 40 s when c.test is asked for, is closed; b.test, idle for 20 s, is kept.
        for at, host in ((0.0, "a.test"), (20.0, "b.test"), (40.0, "c.test"), (45.0, "b.test")):
            now[0] = at
            await client.request(get(server, host))
        await server.wait_until(closed=1)
    a, b1, _, b2 = server.seen
    assert server.closed[0] == a.connection and b2.connection == b1.connection


async def test_aclose_closes_every_kept_connection(server: LocalServer) -> None:
    pool = HttpPool(resolver=to_loopback)
    client = pool(["127.0.0.1"])
    for host in ("a.test", "b.test"):
        await client.request(get(server, host))
    await pool.aclose()
    await server.wait_until(closed=2)
    assert sorted(server.closed) == sorted(server.connections())
    with pytest.raises(RuntimeError, match="closed"):
        await client.request(get(server, "a.test"))
    assert len(server.seen) == 2


def test_a_pooled_client_has_no_transport_of_its_own() -> None:
    with pytest.raises(ValueError, match="pool"):
        HttpClient(pool=HttpPool(), transport=NoTraffic())


# The firm's allow-list: GET/PATCH /v1/firm/http-allowlist, feeding the client above.


async def test_allowlist_api_round_trip(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    admin = await add_user(db, owner, Role.admin)
    url = "/v1/firm/http-allowlist"
    assert (await client.get(url, headers=owner.headers)).json() == {"entries": []}

    entries = ["Internal.Example.", "10.1.2.3/8", "127.0.0.1", "internal.example", "[::1]"]
    response = await client.patch(url, json={"entries": entries}, headers=admin.headers)
    assert response.status_code == 200, response.text
    expected = ["internal.example", "10.0.0.0/8", "127.0.0.1", "::1"]
    assert response.json() == {"entries": expected}
    assert (await client.get(url, headers=owner.headers)).json() == {"entries": expected}
    # The same list again records nothing.
    await client.patch(url, json={"entries": expected}, headers=admin.headers)

    await scope_to_firm(db, owner.firm.id)
    events = (
        await db.scalars(
            select(AuditEvent).where(AuditEvent.action == "firm.http_allowlist_updated")
        )
    ).all()
    assert len(events) == 1
    assert events[0].actor_id == admin.user.id and events[0].record_id == owner.firm.id
    assert events[0].summary == {
        "before": {"http_allowlist": []},
        "after": {"http_allowlist": expected},
    }
    cleared = await client.patch(url, json={"entries": []}, headers=owner.headers)
    assert cleared.json() == {"entries": []}


async def test_allowlist_feeds_the_http_client(
    client: AsyncClient, db: AsyncSession, server: LocalServer
) -> None:
    owner = await make_firm(db)
    principal = Principal.system(owner.firm.id)
    await scope_to_firm(db, owner.firm.id)
    with pytest.raises(HttpRefused):
        await HttpClient(await get_http_allowlist(db, principal)).request(
            HttpRequest("GET", server.url("/json"))
        )
    await client.patch(
        "/v1/firm/http-allowlist", json={"entries": ["127.0.0.1"]}, headers=owner.headers
    )
    await scope_to_firm(db, owner.firm.id)
    allowed = HttpClient(await get_http_allowlist(db, principal))
    assert (await allowed.request(HttpRequest("GET", server.url("/json")))).status == 200


async def test_allowlist_is_per_firm(client: AsyncClient, db: AsyncSession) -> None:
    alpha = await make_firm(db, "Alpha")
    beta = await make_firm(db, "Beta")
    await client.patch(
        "/v1/firm/http-allowlist", json={"entries": ["10.0.0.0/8"]}, headers=beta.headers
    )
    assert (await client.get("/v1/firm/http-allowlist", headers=alpha.headers)).json() == {
        "entries": []
    }


async def test_allowlist_permissions(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    url = "/v1/firm/http-allowlist"
    for role in (Role.staff, Role.builder):
        member = await add_user(db, owner, role)
        assert (await client.get(url, headers=member.headers)).status_code == 200
        refused = await client.patch(url, json={"entries": []}, headers=member.headers)
        assert_problem(refused, 403)
    portal_user = await add_user(db, owner, Role.client)
    assert_problem(await client.get(url, headers=portal_user.headers), 403)
    assert_problem(await client.get(url), 401)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"entries": ["http://x.example"]}, "/entries/0"),
        ({"entries": ["ok.example", "10.0.0.0/33"]}, "/entries/1"),
        ({"entries": ["0.0.0.0/0"]}, "/entries/0"),
        ({"entries": ["::/0"]}, "/entries/0"),
        ({"entries": ["10.0.0.0/7"]}, "/entries/0"),
        ({"entries": [""]}, "/entries/0"),
        ({"entries": ["a" * 254]}, "/entries/0"),
        ({"entries": [f"h{i}.example" for i in range(101)]}, "/entries"),
        ({"entries": "10.0.0.0/8"}, "/entries"),
        ({}, "/entries"),
        ({"entries": [], "extra": 1}, "/extra"),
    ],
)
async def test_allowlist_rejects_bad_entries(
    client: AsyncClient, db: AsyncSession, body: dict[str, Any], pointer: str
) -> None:
    owner = await make_firm(db)
    response = await client.patch("/v1/firm/http-allowlist", json=body, headers=owner.headers)
    problem = assert_problem(response, 422)
    assert any(p.endswith(pointer) for p in pointers(problem)), problem
