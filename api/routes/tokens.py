"""Personal API tokens. Anyone may create, list and revoke their own; owners and admins
see and revoke every token of their firm."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import PrincipalDep, SessionDep
from api.schemas.tokens import ApiTokenCreate, ApiTokenList, ApiTokenRead, ApiTokenSecretRead
from services import tokens

router = APIRouter(prefix="/api-tokens")


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_token(
    body: ApiTokenCreate, principal: PrincipalDep, session: SessionDep
) -> ApiTokenSecretRead:
    """Create a token for yourself. The token is in this response only: store it now."""
    api_token, secret = await tokens.create_api_token(
        session, principal, name=body.name, expires_at=body.expires_at
    )
    return ApiTokenSecretRead(**ApiTokenRead.model_validate(api_token).model_dump(), token=secret)


@router.get("")
async def list_tokens(
    principal: PrincipalDep,
    session: SessionDep,
    user_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: uuid.UUID | None = None,
) -> ApiTokenList:
    page = await tokens.list_api_tokens(
        session, principal, user_id=user_id, limit=limit, cursor=cursor
    )
    return ApiTokenList(
        items=[ApiTokenRead.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )


@router.get("/{token_id}")
async def get_token(
    token_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> ApiTokenRead:
    return ApiTokenRead.model_validate(await tokens.get_api_token(session, principal, token_id))


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    await tokens.revoke_api_token(session, principal, token_id)
