import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from core.roles import Role
from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class User(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_firm_id_email", "firm_id", func.lower(text("email")), unique=True),
        # Login looks an email up before the firm is known.
        Index("ix_users_email", func.lower(text("email"))),
        # The services show a client-role user only their own client's records, so such
        # a user without a client must not exist.
        CheckConstraint("role <> 'client' OR client_id IS NOT NULL", name="client_role_has_client"),
        # Backs the foreign key: checking a client's portal users must not scan all users.
        Index("ix_users_firm_id_client_id", "firm_id", "client_id"),
    )

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    # Null until an invited user accepts and chooses a password.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role"))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    # The client a client-role user belongs to; null for the firm's own people. Clients are
    # archived, never deleted, so the reference is never left dangling.
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))


class TokenMixin(IdMixin, TenantMixin):
    """A bearer credential stored only as its SHA-256; ``prefix`` identifies it to people."""

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class LoginSession(TokenMixin, Base):
    __tablename__ = "login_sessions"
    # A user's own sessions, newest first (GET /me/sessions).
    __table_args__ = (
        Index(
            "ix_login_sessions_firm_id_user_id_created_at", "firm_id", "user_id", "created_at", "id"
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )


class ApiToken(TokenMixin, Base):
    __tablename__ = "api_tokens"
    # A user's own tokens, newest first (GET /me/sessions, GET /api-tokens?user_id=).
    __table_args__ = (
        Index("ix_api_tokens_firm_id_user_id_created_at", "firm_id", "user_id", "created_at", "id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))


class Invitation(TokenMixin, Base):
    """A one-time token that lets an invited user set a password and activate."""

    __tablename__ = "invitations"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    accepted_at: Mapped[datetime | None]
