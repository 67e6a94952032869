"""``Idempotency-Key`` for endpoints that create something: a retried request (same key,
same body) gets the first response back instead of creating a second object.

The key is claimed by inserting its row *before* the work runs, in the request's own
transaction: a concurrent request with the same key waits on the unique index until the
first one commits (then replays its response) or rolls back (then does the work itself).
A failed request rolls its claim back too, so errors are never replayed and the caller
may retry with the same key. The stored response commits with the business change.

A route uses it as::

    async def create_thing(body: ThingCreate, ..., idem: IdempotencyDep) -> JSONResponse:
        async def create() -> ThingRead:
            return ThingRead.model_validate(await things.create(session, principal, ...))

        return await idempotency.run(
            session, principal, idem, payload=body, status_code=201, handler=create
        )

Endpoints that must not store their response as is (a secret shown once) use ``claim``,
``fingerprint`` and ``remember`` directly.
"""

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict
from core.principal import Principal
from models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class IdempotentRequest:
    """The caller's key (None when the header is absent) and where the request went."""

    key: str | None
    # The route's template, e.g. "POST /v1/clients/{client_id}/contacts": keys are scoped
    # to it, while the concrete path goes into the fingerprint.
    route: str
    path: str


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any


async def idempotency_key(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            min_length=1,
            max_length=MAX_KEY_LENGTH,
            description=(
                "Any unique string of 1 to 255 characters. Repeating a request with the same "
                "key and body returns the first response; another body is a 409."
            ),
        ),
    ] = None,
) -> IdempotentRequest:
    return IdempotentRequest(
        key=key, route=f"{request.method} {_template(request)}", path=request.url.path
    )


def _template(request: Request) -> str:
    """The matched route's full path template. An included router's route knows only
    its own part ("/clients/{client_id}"), so the prefix is what the request path has in
    front of that part filled in."""
    path = request.url.path
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return path
    filled = route.path_format.format(**request.path_params)
    if not path.endswith(filled):
        return path
    return path[: len(path) - len(filled)] + route.path_format


IdempotencyDep = Annotated[IdempotentRequest, Depends(idempotency_key)]


def fingerprint(path: str, payload: object) -> str:
    """A digest of what was asked: the concrete path and the body (a pydantic model,
    JSON-ready data, or raw bytes such as an uploaded file)."""
    digest = hashlib.sha256(path.encode())
    digest.update(b"\0")
    if isinstance(payload, bytes):
        digest.update(payload)
    else:
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        digest.update(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


def _principal_id(principal: Principal) -> uuid.UUID:
    # Keys belong to the person (or, for system callers, the firm) that sent them.
    return principal.user_id or principal.firm_id


async def claim(
    session: AsyncSession, principal: Principal, *, route: str, key: str, request_hash: str
) -> StoredResponse | None:
    """Claim ``key`` for this request: None when the work should run now, otherwise the
    response stored by the first request. A reused key with another request is a 409."""
    scope = {
        "firm_id": principal.firm_id,
        "principal_id": _principal_id(principal),
        "route": route,
        "key": key,
    }
    claimed = await session.scalar(
        insert(IdempotencyKey)
        .values(**scope, request_hash=request_hash, response_status=0, response_body={})
        .on_conflict_do_nothing(index_elements=list(scope))
        .returning(IdempotencyKey.id)
    )
    if claimed is not None:
        return None
    stored = (
        await session.execute(
            select(
                IdempotencyKey.request_hash,
                IdempotencyKey.response_status,
                IdempotencyKey.response_body,
            ).filter_by(**scope)
        )
    ).one()
    if stored.request_hash != request_hash:
        raise Conflict(
            f"This {HEADER} was already used with a different request; "
            "use a new key for a new request"
        )
    return StoredResponse(status=stored.response_status, body=stored.response_body)


async def remember(
    session: AsyncSession, principal: Principal, *, route: str, key: str, response: StoredResponse
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .filter_by(
            firm_id=principal.firm_id,
            principal_id=_principal_id(principal),
            route=route,
            key=key,
        )
        .values(response_status=response.status, response_body=response.body)
    )


async def run(
    session: AsyncSession,
    principal: Principal,
    request: IdempotentRequest,
    *,
    payload: object,
    status_code: int,
    handler: Callable[[], Awaitable[BaseModel]],
) -> JSONResponse:
    """Run ``handler`` once per key and answer with its result; a repeat answers with
    the stored response and the ``Idempotent-Replayed: true`` header."""
    if request.key is None:
        result = await handler()
        return JSONResponse(result.model_dump(mode="json"), status_code=status_code)
    request_hash = fingerprint(request.path, payload)
    stored = await claim(
        session, principal, route=request.route, key=request.key, request_hash=request_hash
    )
    if stored is not None:
        return JSONResponse(
            stored.body, status_code=stored.status, headers={REPLAYED_HEADER: "true"}
        )
    result = await handler()
    response = StoredResponse(status=status_code, body=result.model_dump(mode="json"))
    await remember(session, principal, route=request.route, key=request.key, response=response)
    return JSONResponse(response.body, status_code=status_code)
