"""The credentials vault: a firm's secrets for automation steps (`{{ secrets.<name> }}`).

Values are encrypted with core.crypto's Cipher before they reach the database, and no
function here returns one except `resolve_for_run`, which the automation engine calls in
the activity that needs them. What a step receives, returns or fails with passes through a
`Redactor` built from the same values before it is stored, logged or handed to Temporal.
"""

import json
import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, ConfigDict, SecretStr, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.config import get_settings
from core.crypto import Cipher
from core.db import SystemPurpose, system_scope
from core.errors import Conflict, Unprocessable
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from core.validation_messages import pattern_message
from models import BillingSettings, Credential, InboundWebhook, StripeWebhookSecret
from models.base import clock
from models.credential import NAME_PATTERN
from services import audit
from services.repository import FirmScoped

MAX_VALUE_LENGTH = 8192
REDACTED = "[redacted]"
_ROTATE_BATCH = 500

CredentialName = Annotated[
    str,
    StringConstraints(pattern=NAME_PATTERN),
    pattern_message(
        "Use up to 63 lowercase letters, digits and '_', starting with a letter: crm_token."
    ),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
# SecretStr: a value never shows in a repr, a log line or a validation error.
SecretValue = Annotated[SecretStr, StringConstraints(min_length=1, max_length=MAX_VALUE_LENGTH)]


class CredentialFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CredentialName
    value: SecretValue
    description: Description | None = None


class UnknownCredentials(Unprocessable):
    """A run referenced a name its firm has no credential for."""

    title = "Unknown credential"
    slug = "unknown-credential"


def _summary(credential: Credential) -> dict[str, Any]:
    # What the audit trail keeps: never the value, encrypted or not.
    return {"name": credential.name, "description": credential.description}


def _plaintext(value: SecretStr) -> str:
    return value.get_secret_value()


async def create_credential(
    session: AsyncSession, principal: Principal, cipher: Cipher, *, fields: CredentialFields
) -> Credential:
    """A new credential; a name the firm already uses is a 409."""
    credential = Credential(
        firm_id=principal.firm_id,
        name=fields.name,
        description=fields.description or None,
        value_encrypted=cipher.encrypt(_plaintext(fields.value)),
        created_by=principal.user_id,
    )
    try:
        async with session.begin_nested():
            session.add(credential)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"A credential named {fields.name!r} already exists") from None
    await session.refresh(credential)
    await audit.record(
        session,
        principal,
        action="credential.created",
        record_type="credential",
        record_id=credential.id,
        after=_summary(credential),
    )
    return credential


CREDENTIALS = FirmScoped(Credential, "credential")


async def list_credentials(
    session: AsyncSession, principal: Principal, *, page: PageParams
) -> Page[Credential]:
    stmt = CREDENTIALS.select(principal)
    rows = (await session.scalars(keyset(stmt, Credential.created_at, Credential.id, page))).all()
    return to_page(rows, page)


async def get_credential(
    session: AsyncSession,
    principal: Principal,
    credential_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Credential:
    return await CREDENTIALS.get_or_404(session, principal, credential_id, lock=lock)


async def replace_value(
    session: AsyncSession,
    principal: Principal,
    cipher: Cipher,
    credential_id: uuid.UUID,
    *,
    value: SecretStr,
) -> Credential:
    """Swap the secret; runs that resolve it from now on get the new value."""
    credential = await get_credential(session, principal, credential_id, lock=True)
    credential.value_encrypted = cipher.encrypt(_plaintext(value))
    credential.value_updated_at = clock()
    await session.flush()
    await session.refresh(credential)
    await audit.record(
        session,
        principal,
        action="credential.value_replaced",
        record_type="credential",
        record_id=credential.id,
        after=_summary(credential),
    )
    return credential


async def delete_credential(
    session: AsyncSession, principal: Principal, credential_id: uuid.UUID
) -> None:
    credential = await get_credential(session, principal, credential_id, lock=True)
    before = _summary(credential)
    await session.delete(credential)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="credential.deleted",
        record_type="credential",
        record_id=credential_id,
        before=before,
    )


async def resolve_for_run(
    session: AsyncSession,
    firm_id: uuid.UUID,
    names: Collection[str],
    *,
    cipher: Cipher | None = None,
) -> dict[str, str]:
    """The plaintext of the named credentials of `firm_id`, for the activity about to use
    them. Every name must exist in that firm: a missing one is an `UnknownCredentials`
    naming it, whatever other firms hold. `session` is a tenant session of `firm_id`
    (row-level security hides other firms even if this filter were wrong). `cipher`
    defaults to the one the settings configure."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = (
        await session.execute(
            select(Credential.name, Credential.value_encrypted).where(
                CREDENTIALS.owned_by(firm_id), Credential.name.in_(wanted)
            )
        )
    ).all()
    found = {name: encrypted for name, encrypted in rows}
    missing = [name for name in wanted if name not in found]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        raise UnknownCredentials(f"No credential named {listed} in this firm")
    cipher = cipher or Cipher.from_settings(get_settings())
    return {name: cipher.decrypt(encrypted) for name, encrypted in found.items()}


async def rotate(session: AsyncSession, cipher: Cipher) -> int:
    """Re-encrypt every credential, every webhook signing secret (inbound webhooks and
    Stripe endpoints) and every Stripe secret key of every firm under `cipher`'s first
    key, in batches; returns how many values were rewritten. Run after
    putting a new key first in FIRMFLOW_ENCRYPTION_KEYS; once it has finished, the old key
    can be removed (as far as these values go: two-factor seeds are rotated apart)."""
    rotated = 0
    async with system_scope(session, SystemPurpose.credential_rotation):
        rotated += await _rotate_column(session, cipher, Credential.value_encrypted)
        rotated += await _rotate_column(session, cipher, InboundWebhook.signing_secret_encrypted)
        rotated += await _rotate_column(session, cipher, StripeWebhookSecret.secret_encrypted)
        rotated += await _rotate_column(
            session, cipher, BillingSettings.stripe_secret_key_encrypted
        )
    return rotated


async def _rotate_column(
    session: AsyncSession, cipher: Cipher, column: InstrumentedAttribute[Any]
) -> int:
    model = column.class_
    rotated = 0
    last: uuid.UUID | None = None
    while True:
        stmt = select(model).where(column.is_not(None)).order_by(model.id).limit(_ROTATE_BATCH)
        if last is not None:
            stmt = stmt.where(model.id > last)
        batch = (await session.scalars(stmt.with_for_update())).all()
        if not batch:
            return rotated
        for row in batch:
            setattr(row, column.key, cipher.rotate(getattr(row, column.key)))
        await session.flush()
        rotated += len(batch)
        last = batch[-1].id


@dataclass(frozen=True)
class Redactor:
    """Replaces every occurrence of a secret value in the strings of a JSON value with
    "[redacted]". Besides each value as is, it also catches the forms a value takes when
    a step embeds it in JSON text or a URL (JSON-escaped, percent-encoded). It cannot see a
    value inside an encoding it does not know (e.g. base64 of "user:secret"), so a step
    should never return what it sent as is."""

    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, secrets: Iterable[str]) -> "Redactor":
        forms: set[str] = set()
        for value in secrets:
            if value:
                forms.update(
                    {
                        value,
                        json.dumps(value)[1:-1],
                        quote(value, safe=""),
                        quote_plus(value, safe=""),
                    }
                )
        if not forms:
            return cls(None)
        # Longest first, so a secret containing another is replaced whole.
        alternatives = sorted(forms, key=lambda form: (-len(form), form))
        return cls(re.compile("|".join(re.escape(form) for form in alternatives)))

    def redact_text(self, text: str) -> str:
        return text if self.pattern is None else self.pattern.sub(REDACTED, text)

    def redact(self, value: Any) -> Any:
        """A copy of the JSON `value` with every secret replaced, in keys as in values."""
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {self.redact_text(key): self.redact(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact(item) for item in value]
        return value
