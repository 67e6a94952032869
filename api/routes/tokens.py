"""Personal API tokens. Anyone may create, list and revoke their own; owners and admins
see and revoke every token of their firm."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from api.deps import IdempotencyDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.common import Page, PageDep, page_of
from api.schemas.tokens import ApiTokenCreate, ApiTokenRead, ApiTokenSecretRead
from core.errors import NotFound
from core.permissions import Permission
from core.principal import Principal
from services import tokens

router = APIRouter(prefix="/api-tokens")

# Everyone manages their own tokens; Permission.api_tokens_all widens it to the firm's
# (services.tokens reads the table for that).
Account = Annotated[Principal, Requires(Permission.account)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(NotFound))
async def create_token(
    body: ApiTokenCreate, principal: Account, session: SessionDep, idem: IdempotencyDep
) -> ApiTokenSecretRead:
    """Create a token for yourself. The token is in this response only: store it now.

    With an ``Idempotency-Key``, a repeat never creates a second token; because the secret
    is never stored, the repeat is a 409 naming the token the first request created."""
    api_token, secret = await tokens.create_api_token(
        session, principal, name=body.name, expires_at=body.expires_at, idempotency=idem
    )
    return ApiTokenSecretRead(**ApiTokenRead.model_validate(api_token).model_dump(), token=secret)


@router.get("")
async def list_tokens(
    principal: Account,
    session: SessionDep,
    page: PageDep,
    user_id: uuid.UUID | None = None,
) -> Page[ApiTokenRead]:
    """Newest first, revoked and expired tokens included. Owners and admins see every
    token of the firm (``user_id`` narrows it to one user); others see their own."""
    result = await tokens.list_api_tokens(session, principal, user_id=user_id, page=page)
    return page_of([ApiTokenRead.model_validate(t) for t in result.items], result)


@router.get("/{token_id}")
async def get_token(token_id: uuid.UUID, principal: Account, session: SessionDep) -> ApiTokenRead:
    return ApiTokenRead.model_validate(await tokens.get_api_token(session, principal, token_id))


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: uuid.UUID, principal: Account, session: SessionDep) -> None:
    """Revoke at once; revoking an already revoked token is a no-op."""
    await tokens.revoke_api_token(session, principal, token_id)
