"""The storage behind ``Idempotency-Key`` (api.idempotency is the request side): a key is
claimed by inserting its row before the work runs, in the caller's transaction, and the
response is remembered in that same transaction.

A concurrent request with the same key waits on the unique index until the first one
commits (then gets its stored response) or rolls back (then does the work itself). A
failed request rolls its claim back too, so errors are never replayed.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict
from core.principal import Principal
from models import IdempotencyKey

HEADER = "Idempotency-Key"


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
