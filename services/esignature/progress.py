"""A recipient's progress: the one place a recipient becomes viewed, signed or declined,
whether on the built-in signing page or through a provider's webhook.

Progress only moves forward (created/sent → viewed → signed | declined; signed and
declined are final), guarded in the UPDATE itself: of two concurrent changes the second
waits on the row lock, then finds the row moved on and changes nothing. A duplicate or
out-of-order change (a provider's "viewed" after its "signed", a webhook delivered twice)
is a no-op returning False, with no trail event and no signal. A change that happened is
recorded in the trail and signalled to the envelope's workflow through the outbox; the
workflow reads the rows to decide what follows."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    Envelope,
    EnvelopeEventKind,
    EnvelopeRecipient,
    EnvelopeStatus,
    RecipientStatus,
)
from services.esignature import trail
from services.outbox import writer as outbox
from workflows.esignature.envelope.contracts import (
    RECIPIENT_SIGNAL,
    RecipientChange,
    RecipientChanged,
    workflow_id,
)

# The statuses each change may move a recipient from.
_FROM: dict[str, tuple[RecipientStatus, ...]] = {
    "viewed": (RecipientStatus.created, RecipientStatus.sent),
    "signed": (RecipientStatus.created, RecipientStatus.sent, RecipientStatus.viewed),
    "declined": (RecipientStatus.created, RecipientStatus.sent, RecipientStatus.viewed),
}
_TIMESTAMP = {"viewed": "viewed_at", "signed": "signed_at", "declined": "declined_at"}
MAX_DECLINE_REASON = 500


async def recipient_changed(
    session: AsyncSession,
    envelope: Envelope,
    recipient: EnvelopeRecipient,
    change: RecipientChange,
    *,
    source: str,
    at: datetime | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    provider_event_id: str | None = None,
    detail: dict[str, Any] | None = None,
    decline_reason: str | None = None,
) -> bool:
    """Move ``recipient`` to ``change`` at ``at`` (now by default; a provider's own time
    when it says), record the trail event and signal the workflow. False, changing
    nothing, when the envelope is no longer out for signature or the recipient is already
    past ``change``. Corrections are the envelope editor's, not progress."""
    if change not in _FROM:
        raise ValueError(f"{change!r} is not a recipient's progress")
    if envelope.status != EnvelopeStatus.sent or recipient.envelope_id != envelope.id:
        return False
    when = at or datetime.now(UTC)
    values: dict[str, Any] = {"status": change, _TIMESTAMP[change]: when}
    if change == "declined":
        values["decline_reason"] = (decline_reason or "")[:MAX_DECLINE_REASON] or None
    if not await _move(session, envelope, recipient, change, values):
        return False
    event_detail = dict(detail or {})
    if change == "declined" and values["decline_reason"] is not None:
        event_detail["reason"] = values["decline_reason"]
    await trail.record_event(
        session,
        envelope.firm_id,
        envelope.id,
        EnvelopeEventKind(change),
        recipient=recipient,
        ip_address=ip_address,
        user_agent=user_agent,
        source=source,
        detail=event_detail,
        provider_event_id=provider_event_id,
    )
    await _signal(session, envelope, recipient, change)
    return True


async def _move(
    session: AsyncSession,
    envelope: Envelope,
    recipient: EnvelopeRecipient,
    change: RecipientChange,
    values: dict[str, Any],
) -> bool:
    """Set ``values`` if the recipient's status still allows ``change``."""
    moved = await session.execute(
        update(EnvelopeRecipient)
        .where(
            EnvelopeRecipient.id == recipient.id,
            EnvelopeRecipient.firm_id == envelope.firm_id,
            EnvelopeRecipient.status.in_([status.value for status in _FROM[change]]),
        )
        .values(**values)
        .returning(EnvelopeRecipient.id)
        .execution_options(synchronize_session=False)
    )
    if moved.scalar_one_or_none() is None:
        await session.refresh(recipient)
        return False
    for name, value in values.items():
        # The row holds these already: the caller's object follows without another read
        # and without a second write at the next flush.
        set_committed_value(recipient, name, value)
    return True


async def _signal(
    session: AsyncSession, envelope: Envelope, recipient: EnvelopeRecipient, change: RecipientChange
) -> None:
    target = workflow_id(envelope.id)
    key = f"signal:{target}:{RECIPIENT_SIGNAL}:{envelope.send_round}:{recipient.id}:{change}"
    await outbox.enqueue_message(
        session,
        envelope.firm_id,
        outbox.signal_workflow(
            target,
            RECIPIENT_SIGNAL,
            dedupe_key=key,
            arg=RecipientChanged(recipient_id=recipient.id, change=change),
        ),
    )
