"""Outbound HTTP for automation steps (providers.http) against a real server on loopback:
what is refused (before any traffic), what is allowed through the firm's allow-list, the
size cap, the deadline, redirects, DNS rebinding and the Idempotency-Key header; and the
API that keeps each firm's allow-list."""

import ipaddress
import json
import logging
import ssl
import threading
from collections.abc import Iterator
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
    HttpClient,
    HttpFailed,
    HttpRefused,
    HttpRequest,
    HttpTimeout,
    HttpTooLarge,
    IPAddress,
    is_internal,
    normalize_allowlist_entry,
)
from services.firm_settings import get_http_allowlist
from tests.factories import add_user, make_firm
from tests.problems import assert_problem, pointers


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    port: int
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``seen`` instead."""

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/json":
                self._send(200, b'{"ok": true, "n": 1}', "application/json; charset=utf-8")
            elif parts.path == "/text":
                self._send(201, b"hello", "text/plain", extra={"X-Custom": "Yes"})
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


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer(port=0)
    httpd = QuietServer(("127.0.0.1", 0), _handler(local))
    local.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield local
    local.release.set()
    httpd.shutdown()
    httpd.server_close()


class NoTraffic(httpx.AsyncBaseTransport):
    """A transport that fails the test if a request ever reaches it."""

    def __init__(self) -> None:
        self.used = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.used = True
        raise AssertionError(f"a request was sent to {request.url}")


def loopback() -> HttpClient:
    return HttpClient(["127.0.0.1"])


async def test_loopback_is_refused_by_default(server: LocalServer) -> None:
    with pytest.raises(HttpRefused, match="allow-list"):
        await HttpClient().request(HttpRequest("GET", server.url("/json")))
    with pytest.raises(HttpRefused):
        await HttpClient().request(HttpRequest("GET", server.url("/json", host="localhost")))
    assert server.seen == []


async def test_allowed_when_on_the_allow_list(server: LocalServer) -> None:
    result = await loopback().request(HttpRequest("GET", server.url("/json")))
    assert result.status == 200
    assert result.body == {"ok": True, "n": 1}
    assert result.headers["content-type"] == "application/json; charset=utf-8"
    assert result.elapsed_ms >= 0
    text = await HttpClient(["127.0.0.0/8"]).request(HttpRequest("GET", server.url("/text")))
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


async def test_timeout_must_be_bounded() -> None:
    for timeout in (0, -1, 121):
        with pytest.raises(HttpRefused, match="timeout"):
            await loopback().request(HttpRequest("GET", "http://127.0.0.1/", timeout=timeout))


async def test_dns_is_asked_once_and_the_vetted_address_is_used(server: LocalServer) -> None:
    """DNS rebinding: a second lookup could answer with another address. The client
    connects to the address it vetted and names the host only in the Host header."""
    answers = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("169.254.169.254")]
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        calls.append(host)
        return [answers[len(calls) - 1]]

    client = HttpClient(["rebind.test"], resolver=rebinding)
    result = await client.request(HttpRequest("GET", server.url("/json", host="rebind.test")))
    assert result.status == 200
    assert calls == ["rebind.test"]
    assert server.seen[0].headers["Host"] == f"rebind.test:{server.port}"


async def test_the_next_vetted_address_is_tried_when_one_refuses(server: LocalServer) -> None:
    async def two(host: str, port: int) -> list[IPAddress]:
        # Nothing listens on 127.0.0.2 at the server's port: the connection is refused.
        return [ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("127.0.0.1")]

    client = HttpClient(["127.0.0.0/8"], resolver=two)
    result = await client.request(HttpRequest("GET", server.url("/json", host="twice.test")))
    assert result.status == 200 and len(server.seen) == 1


async def test_international_host_names_are_resolved_and_allowed_in_ascii(
    server: LocalServer,
) -> None:
    asked: list[str] = []

    async def record(host: str, port: int) -> list[IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    client = HttpClient(["xn--bcher-kva.test"], resolver=record)
    result = await client.request(HttpRequest("GET", server.url("/json", host="bücher.test")))
    assert result.status == 200
    assert asked == ["xn--bcher-kva.test"]
    assert server.seen[0].headers["Host"] == f"xn--bcher-kva.test:{server.port}"


async def test_redirects_are_followed_and_vetted(server: LocalServer) -> None:
    to_json = server.url("/json")
    result = await loopback().request(
        HttpRequest("POST", server.url(f"/redirect?status=303&to={to_json}"), body={"x": 1})
    )
    assert result.body == {"ok": True, "n": 1}
    assert [(s.method, s.path) for s in server.seen] == [
        ("POST", f"/redirect?status=303&to={to_json}"),
        ("GET", "/json"),
    ]
    # 307 keeps the method and the body.
    server.seen.clear()
    await loopback().request(
        HttpRequest("PUT", server.url(f"/redirect?status=307&to={to_json}"), body="raw")
    )
    assert [(s.method, s.body) for s in server.seen] == [("PUT", b"raw"), ("PUT", b"raw")]


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://10.0.0.1/"]
)
async def test_a_redirect_to_a_refused_address_is_refused(server: LocalServer, target: str) -> None:
    with pytest.raises(HttpRefused):
        await loopback().request(HttpRequest("GET", server.url(f"/redirect?to={target}")))
    assert len(server.seen) == 1


async def test_redirect_to_another_scheme_is_refused(server: LocalServer) -> None:
    with pytest.raises(HttpRefused, match="http and https"):
        await loopback().request(HttpRequest("GET", server.url("/redirect?to=file:///etc/passwd")))


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
    local = LocalServer(port=0)
    httpd = QuietServer(("127.0.0.1", 0), _handler(local))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    local.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield local, ssl.create_default_context(cafile=str(cert))
    httpd.shutdown()
    httpd.server_close()


async def to_loopback(host: str, port: int) -> list[IPAddress]:
    return [ipaddress.ip_address("127.0.0.1")]


async def test_https_to_the_vetted_address_verifies_the_host_name(
    tls_server: tuple[LocalServer, ssl.SSLContext],
) -> None:
    """The connection goes to the vetted IP, yet TLS (SNI and certificate check) still
    speaks to the host name of the URL."""
    server, trust = tls_server
    client = HttpClient(["127.0.0.1"], tls=trust, resolver=to_loopback)
    result = await client.request(HttpRequest("GET", f"https://secure.test:{server.port}/json"))
    assert result.body == {"ok": True, "n": 1}
    assert server.seen[0].headers["Host"] == f"secure.test:{server.port}"
    # The same server under a name its certificate does not carry is not trusted.
    with pytest.raises(HttpFailed, match=r"other\.test"):
        await client.request(HttpRequest("GET", f"https://other.test:{server.port}/json"))
    assert len(server.seen) == 1


async def test_redirect_chains_are_followed_and_loops_end(server: LocalServer) -> None:
    chain = server.url("/redirect?to=/redirect%3Fto%3D/json")
    assert (await loopback().request(HttpRequest("GET", chain))).body == {"ok": True, "n": 1}
    server.seen.clear()
    with pytest.raises(HttpFailed, match="More than 5 redirects"):
        await loopback().request(HttpRequest("GET", server.url("/loop")))
    assert len(server.seen) == 6


async def test_credentials_do_not_follow_a_redirect_to_another_origin(server: LocalServer) -> None:
    other_origin = server.url("/json", host="localhost")
    client = HttpClient(["127.0.0.1", "::1", "localhost"])
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


async def test_size_cap(server: LocalServer) -> None:
    small = HttpClient(["127.0.0.1"], max_bytes=4096)
    ok = await small.request(HttpRequest("GET", server.url("/big?n=4096&declare=1")))
    assert len(ok.body) == 4096
    for declare in ("1", "0"):
        with pytest.raises(HttpTooLarge, match="4096 bytes"):
            await small.request(HttpRequest("GET", server.url(f"/big?n=8192&declare={declare}")))
    with pytest.raises(HttpTooLarge, match="1048576 bytes"):
        await loopback().request(HttpRequest("GET", server.url("/big?n=2097152")))


async def test_timeout(server: LocalServer) -> None:
    with pytest.raises(HttpTimeout, match=r"within 0\.3 s"):
        await loopback().request(HttpRequest("GET", server.url("/slow"), timeout=0.3))


async def test_idempotency_key_and_body_are_sent(server: LocalServer) -> None:
    await loopback().request(
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
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await loopback().request(
        HttpRequest("GET", server.url("/json"), headers={"Authorization": "Bearer top-secret"})
    )
    assert "top-secret" not in caplog.text


async def test_unreachable_and_unresolvable_hosts_fail_cleanly(server: LocalServer) -> None:
    async def nothing(host: str, port: int) -> list[IPAddress]:
        return []

    with pytest.raises(HttpFailed, match="resolve"):
        await HttpClient(resolver=nothing).request(HttpRequest("GET", "http://gone.example/"))
    with pytest.raises(HttpFailed, match="resolve"):
        await HttpClient().request(HttpRequest("GET", "http://no-such-host.invalid/"))
    # A refused connection (nothing listens on port 1) is a clean failure too.
    closed = HttpClient(["127.0.0.1"])
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
