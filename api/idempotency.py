"""``Idempotency-Key`` for endpoints that create something: a retried request (same key,
same body) gets the first response back instead of creating a second object.

The key is claimed before the work runs, in the request's own transaction, and the stored
response commits with the business change (services.idempotency keeps them). A failed
request rolls its claim back, so errors are never replayed and the caller may retry with
the same key.

A route uses it as::

    async def create_thing(body: ThingCreate, ..., idem: IdempotencyDep) -> JSONResponse:
        async def create() -> ThingRead:
            return ThingRead.model_validate(await things.create(session, principal, ...))

        return await idempotency.run(
            session, principal, idem, payload=body, status_code=201, handler=create
        )

Endpoints that must not store their response as is (a secret shown once) use
services.idempotency's ``claim``, ``fingerprint`` and ``remember`` directly.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.openapi import raises
from core.errors import Conflict
from core.principal import Principal
from services.idempotency import (
    HEADER,
    IdempotentRequest,
    StoredResponse,
    claim,
    fingerprint,
    remember,
)

MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


@raises(Conflict)
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
