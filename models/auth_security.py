"""Password recovery, login throttling and two-factor authentication."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class AuthThrottle(Base):
    """Failed sign-in attempts per key ("account:<sha256 of email>", "device:<nonce>" or
    "address:<ip>"; services.throttle says how each is counted).

    Not a tenant table: a key is counted before any firm is known, and an unknown email must
    be throttled like a known one. The app role sees no row (policy ``USING (false)``); only
    the system role, through ``SystemPurpose.auth_throttle``, reads and writes it."""

    __tablename__ = "auth_throttles"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int]
    last_failure_at: Mapped[datetime]
    # The first of the failures counted now: an address's volume window starts here.
    window_started_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


class PasswordResetToken(IdMixin, TenantMixin, Base):
    """A single-use password reset secret, stored only as its SHA-256."""

    __tablename__ = "password_reset_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TwoFactorCredential(TenantMixin, TimestampMixin, Base):
    """A user's TOTP seed (encrypted with core.crypto), pending until confirmed with a code."""

    __tablename__ = "two_factor_credentials"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[str] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None]
    # The last accepted 30-second step: a code of that step or an earlier one is a replay.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(IdMixin, TenantMixin, Base):
    """A single-use code that stands in for a TOTP code; stored only as its SHA-256."""

    __tablename__ = "two_factor_recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class MfaChallenge(IdMixin, TenantMixin, Base):
    """The short-lived, single-use token between a correct password and a session: either
    a second factor is due ("login") or the firm requires one and the user must enrol first
    ("enroll")."""

    __tablename__ = "mfa_challenges"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    # The throttle key of the device cookie that admitted the password step, if one did: the
    # second step counts under it too, so the device gets through its account's lockout.
    device_key: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class FirmSecurityPolicy(TimestampMixin, Base):
    """A firm's sign-in rules; a firm without a row has the defaults."""

    __tablename__ = "firm_security_policies"

    firm_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("firms.id", ondelete="CASCADE"), primary_key=True
    )
    require_two_factor: Mapped[bool] = mapped_column(default=False)
