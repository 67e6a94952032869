"""Users of the caller's firm. Members may look colleagues up; owners and admins invite,
change roles and deactivate (finer rules, such as the last owner, live in services.users)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from api.deps import Requires, SessionDep
from api.openapi import errors
from api.schemas.common import Page, PageDep, page_of
from api.schemas.users import InvitationRead, UserCreate, UserRead, UserUpdate
from core.errors import Conflict
from core.permissions import Permission
from core.principal import Principal
from services import users
from services.users import IssuedInvitation

router = APIRouter(prefix="/users")

Reader = Annotated[Principal, Requires(Permission.users_read)]
Manager = Annotated[Principal, Requires(Permission.users_manage)]


def _invitation_read(issued: IssuedInvitation) -> InvitationRead:
    return InvitationRead(
        user=UserRead.from_model(issued.user),
        invitation_token=issued.token,
        expires_at=issued.expires_at,
    )


@router.get("")
async def list_users(principal: Reader, session: SessionDep, page: PageDep) -> Page[UserRead]:
    """Newest first, keyset-paginated."""
    result = await users.list_users(session, principal, page=page)
    return page_of([UserRead.from_model(user) for user in result.items], result)


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(Conflict))
async def invite_user(body: UserCreate, principal: Manager, session: SessionDep) -> InvitationRead:
    """Create an inactive user and return their one-time invitation token."""
    issued = await users.invite_user(
        session,
        principal,
        email=body.email,
        name=body.name,
        role=body.role,
        client_id=body.client_id,
    )
    return _invitation_read(issued)


@router.get("/{user_id}")
async def get_user(user_id: uuid.UUID, principal: Reader, session: SessionDep) -> UserRead:
    return UserRead.from_model(await users.get_user(session, principal, user_id))


@router.patch("/{user_id}", responses=errors(Conflict))
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, principal: Manager, session: SessionDep
) -> UserRead:
    """Rename, change the role, deactivate (revoking every credential) or reactivate."""
    user = await users.update_user(
        session, principal, user_id, name=body.name, role=body.role, is_active=body.is_active
    )
    return UserRead.from_model(user)


@router.post(
    "/{user_id}/invitation", status_code=status.HTTP_201_CREATED, responses=errors(Conflict)
)
async def reissue_invitation(
    user_id: uuid.UUID, principal: Manager, session: SessionDep
) -> InvitationRead:
    """A new invitation token for a user who has not accepted yet; older ones stop working."""
    return _invitation_read(await users.reissue_invitation(session, principal, user_id))
