"""The caller's own sign-ins and API tokens: list them, revoke one, or revoke all but the
one in use ("sign out everywhere else")."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from api.deps import PageDep, Requires, SessionDep, SettingsDep
from api.schemas.common import Page, page_of
from api.schemas.sessions import CredentialRead, RevokedRead
from api.session_cookie import clear_session_cookie, signed_in_by_cookie
from core.permissions import Permission
from core.principal import Principal
from services import sessions

router = APIRouter(prefix="/me/sessions")

Account = Annotated[Principal, Requires(Permission.account)]


@router.get("")
async def list_sessions(
    principal: Account, session: SessionDep, page: PageDep
) -> Page[CredentialRead]:
    """Your login sessions and API tokens still usable (neither revoked nor expired),
    newest first; ``current`` marks the one this request used."""
    result = await sessions.list_credentials(session, principal, page=page)
    return page_of([CredentialRead.model_validate(c) for c in result.items], result)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_session(
    session_id: uuid.UUID,
    request: Request,
    principal: Account,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Revoke one of your login sessions or API tokens; revoking a revoked one is a no-op.
    Revoking the session this browser is signed in with also clears its cookies."""
    await sessions.revoke(session, principal, session_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    if session_id == principal.credential_id and signed_in_by_cookie(request):
        clear_session_cookie(response, settings)
    return response


@router.post("/revoke-all")
async def revoke_all_sessions(principal: Account, session: SessionDep) -> RevokedRead:
    """Revoke every other login session and API token of yours; the credential this
    request used stays valid (log out to end it too)."""
    return RevokedRead.model_validate(await sessions.revoke_all(session, principal))
