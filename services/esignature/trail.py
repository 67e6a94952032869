"""The envelope's audit trail: the one way anything records an ``EnvelopeEvent``.

The trail is append-only and is what the audit certificate prints, so every event carries
who (the email), from where (IP address, user agent) and when (the database's clock). An
event a provider delivered carries the provider's event id; the same delivery recorded
again is a no-op, which is how a webhook sent twice changes nothing."""

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import EnvelopeEvent, EnvelopeEventKind, EnvelopeRecipient
from services.repository import Firm, firm_id_of

# Where an event came from.
SOURCES = frozenset({"builtin", "docusign", "dropbox_sign", "staff", "system"})
MAX_USER_AGENT = 500


async def record_event(
    session: AsyncSession,
    firm: Firm,
    envelope_id: uuid.UUID,
    kind: EnvelopeEventKind,
    *,
    recipient: EnvelopeRecipient | None = None,
    email: str | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    source: str = "system",
    detail: dict[str, Any] | None = None,
    provider_event_id: str | None = None,
) -> EnvelopeEvent | None:
    """Append one event; ``None`` when ``provider_event_id`` was recorded before for this
    envelope (a duplicate delivery). ``email`` defaults to the recipient's."""
    if source not in SOURCES:
        raise ValueError(f"unknown event source {source!r}")
    values = {
        "id": uuid.uuid4(),
        "firm_id": firm_id_of(firm),
        "envelope_id": envelope_id,
        "recipient_id": recipient.id if recipient is not None else None,
        "kind": kind.value,
        "email": email if email is not None or recipient is None else recipient.email,
        "ip_address": ip_address,
        "user_agent": user_agent[:MAX_USER_AGENT] if user_agent is not None else None,
        "source": source,
        "detail": detail or {},
        "provider_event_id": provider_event_id,
    }
    statement = (
        insert(EnvelopeEvent)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[
                EnvelopeEvent.firm_id,
                EnvelopeEvent.envelope_id,
                EnvelopeEvent.provider_event_id,
            ]
        )
        .returning(EnvelopeEvent)
    )
    return (await session.execute(statement)).scalar_one_or_none()
