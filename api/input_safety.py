"""Refuse NUL (U+0000) in everything a request sends as text, before any route sees it.

Postgres stores no NUL in ``text`` or ``jsonb``, so a NUL that reached a query was a 500
on any route that keeps what it is sent. One check in front of the routes covers them all,
the ones that parse their own bodies (automation definitions and documents, webhooks)
included: the percent-decoded path and query, header values, and textual bodies (JSON,
YAML, forms), whose every key and value is walked. The answer is the validation 422, each
error naming its place like pydantic's: ``parameter`` and ``in`` for the path, query and
headers, a JSON pointer for the body.

Textual bodies are buffered to be checked (as the JSON routes read them whole anyway), so
their size is bounded here too: by the largest any route accepts, so each route's own,
smaller bound still speaks first. Multipart and binary bodies stream through unread; the
CSV importer refuses a NUL in its file itself.
"""

import json
from collections import deque
from collections.abc import Iterator, Sequence
from email.message import Message as MimeMessage
from itertools import islice
from typing import Any
from urllib.parse import parse_qsl

import yaml
from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import app_problem, validation_problem
from core.config import Settings
from core.errors import PayloadTooLarge, json_pointer
from services.automations.validation import MAX_DEFINITION_BYTES

# Where in a body: member names and array indexes, from the root.
Place = Sequence[str | int]
NUL = "\x00"
NUL_DETAIL = "Remove the NUL character (U+0000): text cannot contain it."
# A body full of NULs gets a bounded answer; the first few places are enough to act on.
_MAX_REPORTED = 20
_YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})


def body_limit(settings: Settings) -> int:
    """The largest textual body any route accepts: an automation definition or document,
    or an inbound webhook (whose bound is a setting)."""
    return max(MAX_DEFINITION_BYTES, settings.webhook_max_bytes)


def _media_type(scope: Scope) -> str | None:
    """The body's media type; "" when none is declared (FastAPI then reads JSON), None for
    bodies that are not text (multipart, binary), which stream through unchecked."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            message = MimeMessage()
            message["content-type"] = value.decode("latin-1")
            media_type = message.get_content_type()
            main, subtype = media_type.split("/", 1)
            textual = main == "text" or subtype in {"json", "x-www-form-urlencoded"}
            if textual or subtype.endswith("+json") or media_type in _YAML_TYPES:
                return media_type
            return None
    return ""


def _json_places(document: Any) -> Iterator[Place]:
    queue: deque[tuple[Place, Any]] = deque([([], document)])
    while queue:
        path, value = queue.popleft()
        if isinstance(value, str) and NUL in value:
            yield path
        elif isinstance(value, dict):
            for key, child in value.items():
                if NUL in key:
                    yield [*path, key]
                else:
                    queue.append(([*path, key], child))
        elif isinstance(value, list):
            queue.extend(([*path, index], child) for index, child in enumerate(value))


def _yaml_places(root: yaml.Node) -> Iterator[Place]:
    """Walks the composed node graph, not the constructed document: an alias is the same
    node again, visited once, so no alias bomb is expanded here."""
    queue: deque[tuple[Place, yaml.Node]] = deque([([], root)])
    seen: set[int] = set()
    while queue:
        path, node = queue.popleft()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode) and NUL in node.value:
            yield path
        elif isinstance(node, yaml.MappingNode):
            for key, child in node.value:
                member = [*path, str(key.value)]
                if isinstance(key, yaml.ScalarNode) and NUL in key.value:
                    yield member
                else:
                    queue.append((member, child))
        elif isinstance(node, yaml.SequenceNode):
            queue.extend(([*path, index], child) for index, child in enumerate(node.value))


def _body_places(media_type: str, body: bytes) -> Iterator[Place]:
    """Where the body holds a NUL. A body that does not parse yields nothing: the route
    refuses it as malformed, and nothing malformed gets stored."""
    if media_type == "application/x-www-form-urlencoded":
        if b"%00" in body or b"\x00" in body:
            fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            yield from ([key] for key, value in fields if NUL in key or NUL in value)
    elif media_type in _YAML_TYPES:
        if b"\\" in body:
            try:
                root = yaml.compose(body, Loader=yaml.SafeLoader)
            except (yaml.YAMLError, RecursionError):
                return
            if root is not None:
                yield from _yaml_places(root)
    # JSON can only spell a NUL as this escape; anything else needs no parsing.
    elif b"\\u0000" in body:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return
        yield from _json_places(document)


def _parameter_problems(scope: Scope) -> Iterator[dict[str, str]]:
    query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    for key, value in query:
        if NUL in key or NUL in value:
            yield {"detail": NUL_DETAIL, "parameter": key, "in": "query"}
    for name, raw in scope["headers"]:
        if b"\x00" in raw:
            yield {"detail": NUL_DETAIL, "parameter": name.decode("latin-1"), "in": "header"}
    if NUL not in scope["path"]:
        return
    # The parameter is named as the route declares it; a path no route matches is a 404.
    for context in iter_route_contexts(scope["app"].routes):
        if not context.path_format:
            continue
        matched = compile_path(context.path_format)[0].match(scope["path"])
        if matched:
            for name, value in matched.groupdict().items():
                if NUL in value:
                    yield {"detail": NUL_DETAIL, "parameter": name, "in": "path"}
            return


class _TooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when the client went away; _TooLarge past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class InputSafetyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors = list(islice(_parameter_problems(scope), _MAX_REPORTED))
        if errors:
            await validation_problem(Request(scope), errors)(scope, receive, send)
            return
        media_type = _media_type(scope)
        if media_type is None:
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["app"].state.settings)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        try:
            if declared.isdigit() and int(declared) > limit:
                raise _TooLarge
            body = await _read_body(receive, limit)
        except _TooLarge:
            detail = f"A request body may take at most {limit} bytes; send a smaller one."
            await app_problem(PayloadTooLarge(detail), Request(scope))(scope, receive, send)
            return
        if body is None:
            return
        places = islice(_body_places(media_type, body), _MAX_REPORTED)
        body_errors = [{"detail": NUL_DETAIL, "pointer": json_pointer(p)} for p in places]
        if body_errors:
            await validation_problem(Request(scope), body_errors)(scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)
