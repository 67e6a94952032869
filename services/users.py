"""Users of a firm: invitations, roles, deactivation.

Only owners and admins manage users (the routes declare it); the finer rules live here:
an admin can neither grant the owner role nor change an owner, and a firm always keeps at
least one active owner.
"""

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, scope_to_firm
from core.errors import Conflict, Forbidden, NotFound, Unprocessable
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from core.roles import Role
from core.security import INVITATION_PREFIX, hash_password
from models import Firm, Invitation, User
from providers.email import EmailProvider, OutgoingEmail
from services import audit
from services.auth import current_user
from services.clients import get_client
from services.documents import reviews
from services.identity_repository import (
    API_TOKENS,
    INVITATIONS,
    LOGIN_SESSIONS,
    USERS,
    UserCredentials,
)
from services.tokens import IssuedSession, find_one_time_token, issue_credential, start_session

# Long enough for someone back from a week away; the admin can send a new one any time.
INVITATION_TTL = timedelta(days=7)
INVITATION_INVALID = "This invitation link is not valid; ask an administrator for a new one"

log = logging.getLogger("firmflow.invitations")


@dataclass(frozen=True)
class IssuedInvitation:
    """A new invitation and the email carrying its link: the token exists only in
    ``message`` (the database keeps its SHA-256), so only the invitee's mailbox holds it."""

    user: User
    invitation: Invitation
    message: OutgoingEmail
    expires_at: datetime


async def get_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    return await USERS.get_or_404(session, principal, user_id)


async def list_users(
    session: AsyncSession, principal: Principal, *, page: PageParams
) -> Page[User]:
    query = USERS.select(principal)
    users = (await session.scalars(keyset(query, User.created_at, User.id, page))).all()
    return to_page(users, page)


def invitation_email(
    user: User, firm: Firm, inviter: User, token: str, invitation_id: uuid.UUID, public_url: str
) -> OutgoingEmail:
    """The invitation's email. The token travels in the link's fragment, which browsers send
    neither to a server nor in a Referer."""
    link = f"{public_url.rstrip('/')}/accept-invitation#token={token}"
    # Names may hold line breaks, which an email header must not.
    who = " ".join((inviter.name or inviter.email).split())
    firm_name = " ".join(firm.name.split())
    greeting = f"Hello {user.name},\n\n" if user.name else "Hello,\n\n"
    return OutgoingEmail(
        message_id=f"invitation-{invitation_id}",
        to=user.email,
        subject=f"{who} invited you to {firm_name} on firmflow",
        text=(
            f"{greeting}{who} invited you to join {firm_name} on firmflow "
            f"as {user.role.value}.\n\n"
            f"To accept, open this link within {INVITATION_TTL.days} days and choose "
            f"a password:\n\n{link}\n\n"
            "The link works once. If you were not expecting this invitation, ignore this "
            "email: no account is active until the link is used.\n"
        ),
    )


async def _issue_invitation(
    session: AsyncSession, principal: Principal, user: User, public_url: str
) -> IssuedInvitation:
    expires_at = datetime.now(UTC) + INVITATION_TTL
    invitation, token = await issue_credential(
        session, Invitation, INVITATION_PREFIX, user, expires_at=expires_at
    )
    inviter, firm = await current_user(session, principal)
    message = invitation_email(user, firm, inviter, token, invitation.id, public_url)
    return IssuedInvitation(
        user=user, invitation=invitation, message=message, expires_at=expires_at
    )


async def deliver_invitation(provider: EmailProvider, message: OutgoingEmail) -> None:
    """Send after the response, once the invitation is committed. A failure is logged
    (never the token) and the admin sends the invitation again."""
    try:
        await provider.send(message)
    except Exception:
        log.exception("invitation email failed", extra={"message_id": message.message_id})


def _check_may_grant(principal: Principal, role: Role) -> None:
    if role == Role.owner and principal.role != Role.owner:
        raise Forbidden("Only an owner can grant the owner role")


async def _check_client_link(
    session: AsyncSession, principal: Principal, role: Role, client_id: uuid.UUID | None
) -> None:
    """A client-role user belongs to one client of the firm (it is all they may see);
    the firm's own people belong to none."""
    if role == Role.client and client_id is None:
        raise Unprocessable(
            "A client-role user must belong to a client: set client_id",
            errors=[{"pointer": "/client_id", "detail": "required when role is client"}],
        )
    if role != Role.client and client_id is not None:
        raise Unprocessable(
            "Only client-role users belong to a client",
            errors=[{"pointer": "/client_id", "detail": "allowed only when role is client"}],
        )
    if client_id is not None:
        await get_client(session, principal, client_id)


async def invite_user(
    session: AsyncSession,
    principal: Principal,
    *,
    email: str,
    name: str,
    role: Role,
    client_id: uuid.UUID | None = None,
    public_url: str,
) -> IssuedInvitation:
    """An inactive user without a password, and the email of a one-time invitation link to
    activate (``public_url``: where the web app is), for the caller to send after commit."""
    _check_may_grant(principal, role)
    await _check_client_link(session, principal, role, client_id)
    user = User(
        firm_id=principal.firm_id,
        email=email.lower(),
        name=name,
        password_hash=None,
        role=role,
        is_active=False,
        client_id=client_id,
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise Conflict(
            f"A user with the email {email.lower()} already exists in this firm"
        ) from exc
    issued = await _issue_invitation(session, principal, user, public_url)
    await audit.record(
        session,
        principal,
        action="user.invited",
        record_type="user",
        record_id=user.id,
        after={
            "email": user.email,
            "name": name,
            "role": role.value,
            "client_id": str(client_id) if client_id else None,
        },
    )
    return issued


async def _revoke_invitations(session: AsyncSession, user: User, now: datetime) -> int:
    """Withdraw the user's open invitations; returns how many there were."""
    withdrawn = await session.scalars(
        update(Invitation)
        .where(
            INVITATIONS.owned_by(user.firm_id),
            Invitation.user_id == user.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .returning(Invitation.id)
    )
    return len(withdrawn.all())


async def reissue_invitation(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID, *, public_url: str
) -> IssuedInvitation:
    """A fresh invitation email for a user who never accepted one; earlier links stop
    working."""
    user = await get_user(session, principal, user_id)
    if user.role == Role.owner:
        _check_may_grant(principal, Role.owner)
    if user.password_hash is not None:
        raise Conflict("This user has already accepted an invitation and set a password")
    await _revoke_invitations(session, user, datetime.now(UTC))
    issued = await _issue_invitation(session, principal, user, public_url)
    await audit.record(
        session,
        principal,
        action="user.invitation_reissued",
        record_type="user",
        record_id=user.id,
    )
    return issued


async def _active_owner_count(session: AsyncSession, firm_id: uuid.UUID) -> int:
    """Lock the firm's active owners, so two concurrent demotions cannot both see a spare."""
    owners = await session.scalars(
        select(User.id)
        .where(USERS.owned_by(firm_id), User.role == Role.owner, User.is_active.is_(True))
        .with_for_update()
    )
    return len(owners.all())


async def update_user(
    session: AsyncSession,
    principal: Principal,
    user_id: uuid.UUID,
    *,
    name: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
) -> User:
    """Rename, change role, deactivate or reactivate; ``None`` leaves a field unchanged.
    Deactivation revokes every login session, API token and open invitation of the user."""
    user = await get_user(session, principal, user_id)
    if user.role == Role.owner and principal.role != Role.owner:
        raise Forbidden("Only an owner can change an owner")
    if role is not None:
        _check_may_grant(principal, role)
    if role == Role.client and user.client_id is None:
        raise Unprocessable(
            "A client-role user must belong to a client; invite them as one instead",
            errors=[{"pointer": "/role", "detail": "this user belongs to no client"}],
        )
    changes: dict[str, Any] = {}
    if name is not None and name != user.name:
        changes["name"] = name
    if role is not None and role != user.role:
        changes["role"] = role
        if user.role == Role.client:
            # Joining the firm's own people ends the tie to the client.
            changes["client_id"] = None
    if is_active is not None and is_active != user.is_active:
        changes["is_active"] = is_active
    if is_active is False and not user.is_active and user.password_hash is None:
        await _withdraw_invitation(session, principal, user)
    if not changes:
        return user
    if changes.get("is_active") is True and user.password_hash is None:
        raise Conflict(
            "This user has not accepted their invitation yet; send a new invitation instead"
        )
    loses_owner = (
        user.role == Role.owner
        and user.is_active
        and (changes.get("role", Role.owner) != Role.owner or changes.get("is_active") is False)
    )
    if loses_owner and await _active_owner_count(session, principal.firm_id) <= 1:
        raise Conflict(
            "This user is the firm's last active owner; make another user an owner first"
        )
    before = {key: _plain(getattr(user, key)) for key in changes}
    for key, value in changes.items():
        setattr(user, key, value)
    if changes.get("is_active") is False:
        await _revoke_credentials(session, user)
    await session.flush()
    if "is_active" in changes or "role" in changes:
        # An open document review may have lost a reviewer its quorum needs.
        await reviews.reviewers_changed(session, principal, user)
    if "is_active" in changes:
        action = "user.reactivated" if is_active else "user.deactivated"
    elif "role" in changes:
        action = "user.role_changed"
    else:
        action = "user.updated"
    await audit.record(
        session,
        principal,
        action=action,
        record_type="user",
        record_id=user.id,
        before=before,
        after={key: _plain(value) for key, value in changes.items()},
    )
    return user


async def _withdraw_invitation(session: AsyncSession, principal: Principal, user: User) -> None:
    """Deactivating someone who never accepted (and so is inactive already) cancels their
    pending invitation."""
    if await _revoke_invitations(session, user, datetime.now(UTC)):
        await audit.record(
            session,
            principal,
            action="user.invitation_withdrawn",
            record_type="user",
            record_id=user.id,
        )


def _plain(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value.value if isinstance(value, Role) else value


async def _revoke_credentials(session: AsyncSession, user: User) -> None:
    now = datetime.now(UTC)
    credentials: UserCredentials
    for credentials in (LOGIN_SESSIONS, API_TOKENS):
        model = credentials.model
        await session.execute(
            update(model)
            .where(
                credentials.owned_by(user.firm_id),
                model.user_id == user.id,
                model.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
    await _revoke_invitations(session, user, now)


async def accept_invitation(
    session: AsyncSession,
    *,
    token: str,
    password: str,
    session_ttl: timedelta,
    request_id: str | None,
) -> IssuedSession:
    """Set the invited user's password, activate them and sign them in. The token is looked
    up across firms because it names its own firm."""
    found = await find_one_time_token(session, Invitation, token, SystemPurpose.accept_invitation)
    if found is None:
        raise NotFound(INVITATION_INVALID)
    invitation, user, firm = found
    now = datetime.now(UTC)
    if invitation.accepted_at is not None:
        raise Conflict("This invitation has already been used; sign in with your password")
    if invitation.revoked_at is not None:
        raise Conflict(
            "This invitation was withdrawn or replaced by a newer one; "
            "use the latest link or ask an administrator for a new one"
        )
    if invitation.expires_at is not None and invitation.expires_at <= now:
        raise Conflict("This invitation has expired; ask an administrator for a new one")
    await scope_to_firm(session, firm.id)
    invitation.accepted_at = now
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.is_active = True
    principal = Principal(
        firm_id=firm.id,
        user_id=user.id,
        role=user.role,
        credential="invitation",
        credential_id=invitation.id,
        request_id=request_id,
    )
    await audit.record(
        session,
        principal,
        action="user.invitation_accepted",
        record_type="user",
        record_id=user.id,
    )
    return await start_session(
        session, user, firm, ttl=session_ttl, method="invitation", request_id=request_id
    )
