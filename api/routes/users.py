"""Users of the caller's firm. Members may look colleagues up; owners and admins invite,
change roles and deactivate (finer rules, such as the last owner, live in services.users)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, status

from api.deps import EmailDep, Requires, SessionDep, SettingsDep
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


def _emailed(
    issued: IssuedInvitation, email: EmailDep, background: BackgroundTasks
) -> InvitationRead:
    """Mail the link after the response, once the invitation is committed; the answer
    never carries the token."""
    background.add_task(users.deliver_invitation, email, issued.message)
    return InvitationRead(user=UserRead.from_model(issued.user), expires_at=issued.expires_at)


@router.get("")
async def list_users(principal: Reader, session: SessionDep, page: PageDep) -> Page[UserRead]:
    """Newest first, keyset-paginated."""
    result = await users.list_users(session, principal, page=page)
    return page_of([UserRead.from_model(user) for user in result.items], result)


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(Conflict))
async def invite_user(
    body: UserCreate,
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
    email: EmailDep,
    background: BackgroundTasks,
) -> InvitationRead:
    """Create an inactive user and email them a one-time link to
    ``/accept-invitation#token=…``, where they choose a password."""
    issued = await users.invite_user(
        session,
        principal,
        email=body.email,
        name=body.name,
        role=body.role,
        client_id=body.client_id,
        public_url=settings.public_url,
    )
    return _emailed(issued, email, background)


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
    user_id: uuid.UUID,
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
    email: EmailDep,
    background: BackgroundTasks,
) -> InvitationRead:
    """Email a new invitation link to a user who has not accepted yet; older links stop
    working."""
    issued = await users.reissue_invitation(
        session, principal, user_id, public_url=settings.public_url
    )
    return _emailed(issued, email, background)
