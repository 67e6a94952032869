"""A firm's own Stripe account: its secret key (charges and Checkout Sessions are made
with it) and the signing secrets of its webhook endpoint (several at once while Stripe
rolls a secret: the old one keeps working until it expires or is deleted).

Both are kept encrypted (core.crypto) because using them needs them back; the API only
ever shows a hint (the last characters). Every change is audited, with hints only."""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.crypto import Cipher
from core.errors import Conflict, NotFound, Unprocessable
from core.principal import Principal
from core.validation_messages import pattern_message
from models import BillingSettings, StripeWebhookSecret
from models.base import clock
from services import audit
from services.billing.repository import SETTINGS, STRIPE_SECRETS

# A firm keeps at most this many signing secrets (expired ones included, until deleted):
# a rotation needs two, and the list stays bounded without pagination.
MAX_WEBHOOK_SECRETS = 10
_HINT_CHARS = 4
_SECRET_KEY = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9]{8,240}")


def hint(secret: str) -> str:
    return "…" + secret[-_HINT_CHARS:]


def _check_secret_key(value: str) -> str:
    if not _SECRET_KEY.fullmatch(value):
        raise ValueError("must be a Stripe secret or restricted key (sk_live_…, rk_test_…)")
    return value


class SecretKeyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret_key: Annotated[str, AfterValidator(_check_secret_key)] = Field(
        description="The firm's Stripe secret key (sk_…) or restricted key (rk_…)"
    )


WebhookSecretText = Annotated[
    str,
    StringConstraints(pattern=r"^whsec_[A-Za-z0-9+/=_-]{8,200}$"),
    pattern_message(
        "Paste the endpoint's signing secret from the Stripe dashboard; it starts with whsec_."
    ),
]


class WebhookSecretFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: WebhookSecretText = Field(description="The endpoint's signing secret (whsec_…)")
    expires_at: AwareDatetime | None = Field(
        default=None, description="When this secret stops being accepted (UTC); none: never"
    )


class WebhookSecretsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secrets: list[WebhookSecretFields] = Field(min_length=1, max_length=MAX_WEBHOOK_SECRETS)


@dataclass(frozen=True)
class SecretKeyStatus:
    configured: bool
    hint: str | None
    livemode: bool | None


def _status(key: str | None) -> SecretKeyStatus:
    if key is None:
        return SecretKeyStatus(configured=False, hint=None, livemode=None)
    return SecretKeyStatus(configured=True, hint=hint(key), livemode="_live_" in key)


async def firm_secret_key(session: AsyncSession, firm_id: uuid.UUID, cipher: Cipher) -> str | None:
    encrypted = await session.scalar(
        select(BillingSettings.stripe_secret_key_encrypted).where(SETTINGS.owned_by(firm_id))
    )
    return cipher.decrypt(encrypted) if encrypted is not None else None


async def secret_key_status(
    session: AsyncSession, principal: Principal, cipher: Cipher
) -> SecretKeyStatus:
    return _status(await firm_secret_key(session, principal.firm_id, cipher))


async def set_secret_key(
    session: AsyncSession, principal: Principal, cipher: Cipher, *, fields: SecretKeyFields
) -> SecretKeyStatus:
    """Store (or replace) the firm's key; the billing settings row is made if missing."""
    encrypted = cipher.encrypt(fields.secret_key)
    await session.execute(
        insert(BillingSettings)
        .values(id=uuid.uuid4(), firm_id=principal.firm_id, stripe_secret_key_encrypted=encrypted)
        .on_conflict_do_update(
            index_elements=["firm_id"],
            set_={"stripe_secret_key_encrypted": encrypted, "updated_at": clock()},
        )
    )
    status = _status(fields.secret_key)
    await audit.record(
        session,
        principal,
        action="stripe.secret_key_set",
        record_type="billing_settings",
        record_id=None,
        after={"hint": status.hint, "livemode": status.livemode},
    )
    return status


async def delete_secret_key(session: AsyncSession, principal: Principal, cipher: Cipher) -> None:
    settings = await SETTINGS.find(session, principal, lock=True)
    if settings is None or settings.stripe_secret_key_encrypted is None:
        raise NotFound("This firm has no Stripe secret key")
    before = _status(cipher.decrypt(settings.stripe_secret_key_encrypted))
    settings.stripe_secret_key_encrypted = None
    await session.flush()
    await audit.record(
        session,
        principal,
        action="stripe.secret_key_deleted",
        record_type="billing_settings",
        record_id=settings.id,
        before={"hint": before.hint, "livemode": before.livemode},
    )


async def list_webhook_secrets(
    session: AsyncSession, principal: Principal
) -> Sequence[StripeWebhookSecret]:
    """Oldest first; at most MAX_WEBHOOK_SECRETS rows exist per firm."""
    return (
        await session.scalars(
            STRIPE_SECRETS.select(principal)
            .order_by(StripeWebhookSecret.created_at, StripeWebhookSecret.id)
            .limit(MAX_WEBHOOK_SECRETS)
        )
    ).all()


async def add_webhook_secrets(
    session: AsyncSession,
    principal: Principal,
    cipher: Cipher,
    *,
    fields: WebhookSecretsCreate,
    now: datetime | None = None,
) -> list[StripeWebhookSecret]:
    """Add one or more signing secrets; each is accepted until its ``expires_at``."""
    moment = now or datetime.now(UTC)
    problems = [
        {"pointer": f"/secrets/{index}/expires_at", "detail": "must be in the future"}
        for index, item in enumerate(fields.secrets)
        if item.expires_at is not None and item.expires_at <= moment
    ]
    if problems:
        raise Unprocessable("A new signing secret must not be expired already", errors=problems)
    # Serialises concurrent additions so the cap below holds.
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext(f"stripe-secrets:{principal.firm_id}")))
    )
    held = await session.scalar(
        select(func.count())
        .select_from(StripeWebhookSecret)
        .where(STRIPE_SECRETS.owned_by(principal))
    )
    if (held or 0) + len(fields.secrets) > MAX_WEBHOOK_SECRETS:
        raise Conflict(
            f"A firm keeps at most {MAX_WEBHOOK_SECRETS} signing secrets; delete old ones first"
        )
    added = [
        StripeWebhookSecret(
            firm_id=principal.firm_id,
            secret_encrypted=cipher.encrypt(item.secret),
            hint=hint(item.secret),
            expires_at=item.expires_at,
        )
        for item in fields.secrets
    ]
    session.add_all(added)
    await session.flush()
    for secret in added:
        await session.refresh(secret, ["created_at", "updated_at"])
        await audit.record(
            session,
            principal,
            action="stripe.webhook_secret_added",
            record_type="stripe_webhook_secret",
            record_id=secret.id,
            after={
                "hint": secret.hint,
                "expires_at": secret.expires_at.isoformat() if secret.expires_at else None,
            },
        )
    return added


async def delete_webhook_secret(
    session: AsyncSession, principal: Principal, secret_id: uuid.UUID
) -> None:
    secret = await STRIPE_SECRETS.get_or_404(session, principal, secret_id)
    await session.delete(secret)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="stripe.webhook_secret_deleted",
        record_type="stripe_webhook_secret",
        record_id=secret.id,
        before={"hint": secret.hint},
    )


async def active_webhook_secrets(
    session: AsyncSession, firm_id: uuid.UUID, cipher: Cipher, *, now: datetime
) -> list[str]:
    """The decrypted secrets a delivery may be signed with right now."""
    encrypted = (
        await session.scalars(
            select(StripeWebhookSecret.secret_encrypted)
            .where(
                STRIPE_SECRETS.owned_by(firm_id),
                or_(StripeWebhookSecret.expires_at.is_(None), StripeWebhookSecret.expires_at > now),
            )
            .limit(MAX_WEBHOOK_SECRETS)
        )
    ).all()
    return [cipher.decrypt(value) for value in encrypted]
