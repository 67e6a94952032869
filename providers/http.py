"""Outbound HTTP for automation steps, safe against server-side request forgery.

A firm's automation may name any URL, so every request is vetted before a byte is sent:
- only ``http`` and ``https``;
- the host is resolved (``getaddrinfo``) for each request and redirect hop, and refused
  when ANY of its addresses is loopback, private, link-local, shared (CGNAT), multicast,
  reserved or unspecified — also when hidden in an IPv4-mapped, 6to4 or NAT64 IPv6
  address — unless the host name, or a network holding the address, is on the firm's
  allow-list;
- the connection goes to the vetted address itself (the URL carries the IP, the ``Host``
  header and TLS SNI carry the name), so a second DNS answer cannot redirect it
  (DNS rebinding);
- with an ``HttpPool`` (one per worker) connections are kept alive between requests, yet
  every request is still resolved and vetted first, and a kept connection carries only a
  request for the same scheme, host name, port and vetted address it was opened for: a
  connection verified for one host never carries another host's request, and a new DNS
  answer gets a new connection to the newly vetted address; no response's cookie is kept;
- redirects are followed by hand, at most ``MAX_REDIRECTS``, each target vetted again;
- one deadline covers resolution, connection, sending and reading; the response is read as
  a stream and abandoned at the size cap.

Errors are typed and their messages are safe to show the automation's builder: they name
the host as the builder wrote it, never a resolved address or a header value. Header
values (Authorization, API keys) are never logged.
"""

import asyncio
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 120.0
CONNECT_TIMEOUT = 5.0
MAX_REDIRECTS = 5
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Computed per hop from the vetted target; a caller's value would contradict it.
_HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# Credentials do not travel to another origin on a redirect.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# A pool's bounds: the host names it keeps connections for (least recently used dropped
# first), idle connections kept per host name, and how long one may stay idle (below the
# 5 s a Node or nginx-style server commonly waits before closing an idle connection, so a
# kept connection is rarely one the server is closing).
POOL_MAX_HOSTS = 64
POOL_IDLE_PER_HOST = 8
POOL_KEEPALIVE_EXPIRY = 4.0


class HttpError(Exception):
    """An outbound request that did not produce a response; the message is for the builder."""


class HttpRefused(HttpError):
    """The target is not allowed: a scheme, method, address or redirect we do not follow."""


class HttpTimeout(HttpError):
    pass


class HttpTooLarge(HttpError):
    pass


class HttpFailed(HttpError):
    """The target could not be resolved or reached, or broke the protocol."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    # JSON-ready data is sent as JSON; text and bytes as they are.
    body: Any = None
    timeout: float = DEFAULT_TIMEOUT
    # Sent as the Idempotency-Key header (run id + step id), so a retried step is one
    # effect at a receiver that honours it.
    idempotency_key: str | None = None
    # The response body as bytes, undecoded (a PDF a provider serves).
    binary: bool = False


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: dict[str, str]
    # Decoded JSON when the response says it is JSON (and is), otherwise text.
    body: Any
    elapsed_ms: int


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 or NAT64 address leads to."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_internal(address: IPAddress) -> bool:
    """Whether ``address`` (or an IPv4 address inside it) is anything but a public
    unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            # The socket reaches the IPv4 address itself: judge that one.
            return is_internal(address.ipv4_mapped)
        inner = _embedded_ipv4(address)
        if inner is not None and is_internal(inner):
            return True
    return (
        not address.is_global
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def normalize_allowlist_entry(entry: str) -> str:
    """An allow-list entry in canonical form: a host name (lower case, no trailing dot),
    an IP address, or a CIDR network. Raises ``ValueError`` for anything else."""
    value = entry.strip().lower().rstrip(".")
    if not value:
        raise ValueError("an entry may not be empty")
    if "/" in value:
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not a valid CIDR network") from exc
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        pass
    labels = value.split(".")
    if len(value) > 253 or not all(
        0 < len(label) <= 63
        and label.replace("-", "").replace("_", "").isalnum()
        and label.isascii()
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    ):
        raise ValueError(f"{entry!r} is not a host name, IP address or CIDR network")
    return value


@dataclass(frozen=True)
class Allowlist:
    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> "Allowlist":
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            value = normalize_allowlist_entry(entry)
            try:
                networks.append(ipaddress.ip_network(value))
            except ValueError:
                hosts.add(value)
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: IPAddress) -> bool:
        if host in self.hosts:
            return True
        return any(address.version == net.version and address in net for net in self.networks)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (one lookup; an IP literal needs none)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HttpFailed(f"Could not resolve the host {host}") from exc
    # The scope id ("%eth0") of a link-local IPv6 address is not part of the address.
    return list(
        dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    )


@lru_cache
def _tls_context() -> ssl.SSLContext:
    # Built once: loading the CA bundle per request would cost more than the request.
    return ssl.create_default_context()


@dataclass(frozen=True)
class _Target:
    url: httpx.URL
    host: str
    port: int
    # Every address the host resolved to, all vetted, in the resolver's order of preference.
    addresses: tuple[IPAddress, ...]


def _new_client(
    tls: ssl.SSLContext | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    limits: httpx.Limits | None = None,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport,
        verify=tls or _tls_context(),
        follow_redirects=False,
        trust_env=False,
        # A pooled client serves every firm: a cookie one response sets must never ride
        # along on another request, so none is kept.
        cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        limits=limits or httpx.Limits(),
    )


class HttpClient:
    """Sends vetted requests. ``allowlist`` is the firm's; ``tls`` replaces the system's
    certificate authorities; ``resolver`` and ``transport`` are replaceable so tests can
    watch what would be resolved and sent. Without ``pool`` each request opens (and
    closes) its own connection; ``HttpPool`` builds clients that share kept connections."""

    def __init__(
        self,
        allowlist: Iterable[str] = (),
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        tls: ssl.SSLContext | None = None,
        resolver: Resolver = resolve,
        transport: httpx.AsyncBaseTransport | None = None,
        pool: "HttpPool | None" = None,
    ) -> None:
        if pool is not None and transport is not None:
            raise ValueError("A pooled client sends through the pool's connections")
        self._tls = tls
        self.allowlist = Allowlist.parse(allowlist)
        self.max_bytes = max_bytes
        self._resolve = resolver
        self._transport = transport
        self._pool = pool

    async def request(self, request: HttpRequest) -> HttpResult:
        method = request.method.upper()
        if method not in METHODS:
            raise HttpRefused(f"The method {request.method!r} is not supported")
        if not 0 < request.timeout <= MAX_TIMEOUT:
            raise HttpRefused(f"The timeout must be more than 0 and at most {MAX_TIMEOUT:g} s")
        started = time.monotonic()
        try:
            async with asyncio.timeout(request.timeout):
                status, headers, body = await self._follow(method, request)
        except TimeoutError as exc:
            raise HttpTimeout(f"No complete response within {request.timeout:g} s") from exc
        elapsed_ms = round((time.monotonic() - started) * 1000)
        return HttpResult(status=status, headers=headers, body=body, elapsed_ms=elapsed_ms)

    async def _vet(self, url: httpx.URL) -> _Target:
        if url.scheme not in ("http", "https"):
            raise HttpRefused("Only http and https URLs are allowed")
        # The ASCII (IDNA) form, as DNS, TLS and the allow-list see it.
        host = url.raw_host.decode("ascii").lower().rstrip(".")
        if not host:
            raise HttpRefused("The URL has no host")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await self._resolve(host, port)
        if not addresses:
            raise HttpFailed(f"Could not resolve the host {host}")
        refused = [a for a in addresses if is_internal(a) and not self.allowlist.allows(host, a)]
        if refused:
            raise HttpRefused(
                f"Requests to {host} are refused: it is a loopback, private, link-local or "
                "otherwise internal address. A firm admin can add it to the HTTP allow-list."
            )
        return _Target(url=url, host=host, port=port, addresses=tuple(addresses))

    async def _follow(self, method: str, request: HttpRequest) -> tuple[int, dict[str, str], Any]:
        try:
            url = httpx.URL(request.url)
        except httpx.InvalidURL as exc:
            raise HttpRefused("The URL is not valid") from exc
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        if request.idempotency_key is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "idempotency-key"}
            headers[IDEMPOTENCY_HEADER] = request.idempotency_key
        body = request.body
        target = await self._vet(url)
        for _hop in range(MAX_REDIRECTS + 1):
            status, response_headers, content = await self._send(
                method, target, headers, body, request.timeout, binary=request.binary
            )
            location = response_headers.get("location")
            if status not in (301, 302, 303, 307, 308) or location is None:
                return status, response_headers, content
            try:
                next_url = target.url.join(location)
            except httpx.InvalidURL as exc:
                raise HttpFailed("The server redirected to an invalid URL") from exc
            if status == 303 or (status in (301, 302) and method == "POST"):
                # What browsers and httpx do: the redirect is fetched, not re-posted.
                method, body = ("HEAD" if method == "HEAD" else "GET"), None
            previous = target
            target = await self._vet(next_url)
            if (target.url.scheme, target.host, target.url.port) != (
                previous.url.scheme,
                previous.host,
                previous.url.port,
            ):
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
        raise HttpFailed(f"More than {MAX_REDIRECTS} redirects")

    async def _send(
        self,
        method: str,
        target: _Target,
        headers: dict[str, str],
        body: Any,
        phase_limit: float,
        *,
        binary: bool = False,
    ) -> tuple[int, dict[str, str], Any]:
        host_header = target.url.netloc.decode("ascii").rpartition("@")[2]
        send_headers = {**headers, "Host": host_header}
        content: bytes | None
        if body is None:
            content = None
        elif isinstance(body, bytes):
            content = body
        elif isinstance(body, str):
            content = body.encode()
        else:
            content = json.dumps(body, separators=(",", ":")).encode()
            if not any(k.lower() == "content-type" for k in send_headers):
                send_headers["Content-Type"] = "application/json"
        logger.info("http_request %s %s://%s", method, target.url.scheme, target.host)
        for index, address in enumerate(target.addresses):
            try:
                return await self._exchange(
                    method, target, address, send_headers, content, phase_limit, binary=binary
                )
            except httpx.ConnectError as exc:
                # Nothing was sent: the next vetted address of the host may answer.
                if index == len(target.addresses) - 1:
                    raise HttpFailed(f"Could not connect to {target.host}") from exc
            except httpx.TimeoutException as exc:
                raise HttpTimeout(
                    f"No complete response from {target.host} within {phase_limit:g} s"
                ) from exc
            except httpx.HTTPError as exc:
                raise HttpFailed(f"Could not complete the request to {target.host}") from exc
        raise HttpFailed(f"Could not connect to {target.host}")

    async def _exchange(
        self,
        method: str,
        target: _Target,
        address: IPAddress,
        headers: dict[str, str],
        content: bytes | None,
        phase_limit: float,
        *,
        binary: bool = False,
    ) -> tuple[int, dict[str, str], Any]:
        """One request to ``address``, naming the host only in Host and TLS SNI."""
        async with self._client_for(target) as client:
            outgoing = client.build_request(
                method,
                target.url.copy_with(host=str(address)),
                headers=headers,
                content=content,
                # The caller's deadline covers the whole exchange; these bound each phase.
                timeout=httpx.Timeout(phase_limit, connect=min(phase_limit, CONNECT_TIMEOUT)),
                extensions={"sni_hostname": target.host},
            )
            response = await client.send(outgoing, stream=True)
            try:
                data = await self._read(response, target.host)
            finally:
                await response.aclose()
        return (
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            data if binary else _decode(response, data),
        )

    def _client_for(self, target: _Target) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        if self._pool is not None:
            return self._pool.lease(target.url.scheme, target.host, target.port)
        # A client of its own, closed with its connection when the exchange ends.
        return _new_client(self._tls, transport=self._transport)

    async def _read(self, response: httpx.Response, host: str) -> bytes:
        too_large = HttpTooLarge(
            f"The response from {host} is larger than the limit of {self.max_bytes} bytes"
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        # Decoded bytes are counted, so a small compressed body cannot inflate past the cap.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)


def _decode(response: httpx.Response, data: bytes) -> Any:
    text = data.decode(response.charset_encoding or "utf-8", errors="replace")
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


@dataclass(eq=False)
class _HostClient:
    client: httpx.AsyncClient
    in_use: int = 0
    idle_since: float = 0.0
    # Dropped from the pool while a request still used it: closed when that one ends.
    retired: bool = False


class HttpPool:
    """One worker's kept-alive connections, shared by every firm's requests.

    ``pool(allowlist)`` is an ``HttpClient`` for that firm (so the pool stands wherever a
    client factory is taken): it resolves and vets every request and redirect hop as any
    client does, then sends through the pool. Connections are grouped by (scheme, host
    name, port), one ``httpx`` client each, and inside a group httpx keys them by origin,
    which is the vetted IP in our URLs. So a kept connection carries a request only for the
    host name, port, TLS server name and vetted address it was opened and verified for; a
    new DNS answer is a new origin, hence a new connection to the newly vetted address.

    At most ``max_hosts`` groups are kept (the least recently used is closed first), each
    with at most ``idle_per_host`` idle connections; a group idle for ``keepalive_expiry``
    seconds is closed at the next use of the pool, and httpx drops idle connections past it
    inside a group. ``aclose`` closes everything. ``clock`` is replaceable for tests."""

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        tls: ssl.SSLContext | None = None,
        resolver: Resolver = resolve,
        max_hosts: int = POOL_MAX_HOSTS,
        idle_per_host: int = POOL_IDLE_PER_HOST,
        keepalive_expiry: float = POOL_KEEPALIVE_EXPIRY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_hosts < 1:
            raise ValueError("A pool keeps connections for at least one host")
        self._max_bytes = max_bytes
        self._tls = tls
        self._resolve = resolver
        self._max_hosts = max_hosts
        self._expiry = keepalive_expiry
        self._clock = clock
        # In-flight requests are bounded by the worker's activity slots, not here.
        self._limits = httpx.Limits(
            max_connections=None,
            max_keepalive_connections=idle_per_host,
            keepalive_expiry=keepalive_expiry,
        )
        self._hosts: OrderedDict[tuple[str, str, int], _HostClient] = OrderedDict()
        self._closed = False

    def __call__(self, allowlist: Iterable[str]) -> HttpClient:
        return HttpClient(
            allowlist,
            max_bytes=self._max_bytes,
            tls=self._tls,
            resolver=self._resolve,
            pool=self,
        )

    async def __aenter__(self) -> "HttpPool":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @asynccontextmanager
    async def lease(self, scheme: str, host: str, port: int) -> AsyncIterator[httpx.AsyncClient]:
        """The client holding the connections for one (scheme, host name, port)."""
        host_client, dropped = self._checkout((scheme, host, port))
        try:
            yield host_client.client
        finally:
            host_client.in_use -= 1
            host_client.idle_since = self._clock()
            if host_client.retired and host_client.in_use == 0:
                dropped.append(host_client.client)
            for client in dropped:
                await client.aclose()

    def _checkout(self, key: tuple[str, str, int]) -> tuple[_HostClient, list[httpx.AsyncClient]]:
        """The group for ``key``, now the most recently used, and the idle groups to close
        (expired, or beyond ``max_hosts``). No await: concurrent requests see one state."""
        if self._closed:
            raise RuntimeError("The HTTP pool is closed")
        now = self._clock()
        dropped: list[httpx.AsyncClient] = []
        for other in [k for k, v in self._hosts.items() if k != key and v.in_use == 0]:
            if now - self._hosts[other].idle_since > self._expiry:
                dropped.append(self._hosts.pop(other).client)
        host_client = self._hosts.pop(key, None) or _HostClient(
            _new_client(self._tls, limits=self._limits)
        )
        self._hosts[key] = host_client
        host_client.in_use += 1
        while len(self._hosts) > self._max_hosts:
            _, oldest = self._hosts.popitem(last=False)
            if oldest.in_use:
                oldest.retired = True
            else:
                dropped.append(oldest.client)
        return host_client, dropped

    async def aclose(self) -> None:
        """Closes every kept connection; the pool sends nothing afterwards."""
        self._closed = True
        host_clients = list(self._hosts.values())
        self._hosts.clear()
        for host_client in host_clients:
            await host_client.client.aclose()
