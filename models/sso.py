"""SAML single sign-on: a firm's identity provider settings, the requests we sent (each
bound to one browser by its RelayState) and the assertions already consumed."""

from datetime import datetime

from sqlalchemy import Enum, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.roles import Role
from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class SamlConfig(IdMixin, TenantMixin, TimestampMixin, Base):
    """One identity provider per firm, described by the metadata XML an admin uploaded."""

    __tablename__ = "sso_saml_configs"
    __table_args__ = (UniqueConstraint("firm_id"),)

    enabled: Mapped[bool] = mapped_column(default=True)
    idp_metadata_xml: Mapped[str] = mapped_column(Text)
    # Read from the metadata at upload; the AuthnRequest is addressed to it.
    idp_entity_id: Mapped[str] = mapped_column(String(1024))
    # None takes the email from the assertion's NameID.
    email_attribute: Mapped[str | None] = mapped_column(String(255))
    name_attribute: Mapped[str | None] = mapped_column(String(255))
    groups_attribute: Mapped[str | None] = mapped_column(String(255))
    # IdP group name -> role; never "owner" (ownership is granted inside firmflow only).
    role_mapping: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    # Role of a just-in-time user none of whose groups is mapped; None refuses such a user.
    default_role: Mapped[Role | None] = mapped_column(
        Enum(Role, name="user_role", create_type=False)
    )
    jit_provisioning: Mapped[bool] = mapped_column(default=False)
    enforce_sso: Mapped[bool] = mapped_column(default=False)
    allow_idp_initiated: Mapped[bool] = mapped_column(default=False)


class SamlRequest(IdMixin, TenantMixin, Base):
    """An AuthnRequest we sent, with the SHA-256 of the RelayState given to the browser."""

    __tablename__ = "sso_saml_requests"
    __table_args__ = (Index("ix_sso_saml_requests_firm_id_expires_at", "firm_id", "expires_at"),)

    relay_state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[str] = mapped_column(String(128), unique=True)
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SamlAssertionSeen(IdMixin, TenantMixin, Base):
    """Replay cache: an assertion id is accepted once, and remembered until it expires."""

    __tablename__ = "sso_saml_assertions"
    __table_args__ = (
        UniqueConstraint("firm_id", "assertion_id"),
        Index("ix_sso_saml_assertions_firm_id_expires_at", "firm_id", "expires_at"),
    )

    assertion_id: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
