"""Deliveries from DocuSign Connect and Dropbox Sign callbacks, at
``/v1/esignature/webhooks/{docusign|dropbox-sign}/{firm_id}``.

The firm is named by the path, so everything runs in a tenant session for that firm: the
delivery is verified with that firm's connection's secret (an unknown firm, or one with no
connection to this provider, is the same 404 as any other unknown endpoint). A forged,
stale or malformed delivery is refused by the adapter (providers/esignature*.py). Where
the signature does not cover the events (Dropbox Sign), each event is confirmed with the
provider's API before it is applied, and refused (so redelivered) when it is not.

Each verified event is applied to the envelope the provider's ref names (one of this
firm's sent through this provider; an event for any other is acknowledged and ignored, so
the provider stops retrying it):
- viewed, signed, declined: ``progress.recipient_changed`` for the recipient the
  provider's recipient ref names, with the provider's event id and time: a duplicate or an
  out-of-order event (viewed after signed) changes nothing;
- completed: every signer and approver not yet signed is signed (the provider says all
  did; their own events may come later, or not at all), each signalled to the workflow,
  which completes the envelope and fetches the signed documents;
- voided (at the provider, not by firmflow): the envelope is voided, the trail records it
  and the workflow is signalled as for a staff void."""

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.crypto import Cipher
from core.db import scope_to_firm
from core.errors import NotFound
from models import (
    Envelope,
    EnvelopeEventKind,
    EnvelopeRecipient,
    EnvelopeStatus,
    RecipientRole,
    RecipientStatus,
)
from providers.esignature import (
    EsignatureProvider,
    EventKind,
    ProviderEvent,
    RecipientState,
    WebhookRejected,
)
from providers.http import HttpPool
from services.esignature import progress, trail
from services.esignature.connections import build_provider, load_connection
from services.esignature.repository import ENVELOPES, RECIPIENTS
from services.outbox import writer as outbox
from workflows.esignature.envelope.contracts import (
    VOID_SIGNAL,
    RecipientChange,
    Voided,
    workflow_id,
)

log = logging.getLogger("firmflow.esignature")

_LABELS = {"docusign": "DocuSign", "dropbox_sign": "Dropbox Sign"}
_CHANGES: dict[EventKind, RecipientChange] = {
    EventKind.viewed: "viewed",
    EventKind.signed: "signed",
    EventKind.declined: "declined",
}


class UnknownWebhookEndpoint(NotFound):
    title = "Unknown webhook endpoint"
    slug = "unknown-webhook-endpoint"


@dataclass(frozen=True)
class Receipt:
    # Events the delivery carried that firmflow uses.
    events: int
    # Of those, how many changed something (0 for a duplicate delivery).
    applied: int


async def receive(
    session: AsyncSession,
    cipher: Cipher,
    provider: str,
    firm_ref: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    pool: HttpPool,
) -> Receipt:
    """Verify one delivery to the firm's endpoint and apply its events; the caller
    commits (which also sends the workflow its signals, through the outbox)."""
    try:
        firm_id = uuid.UUID(firm_ref)
    except ValueError:
        raise UnknownWebhookEndpoint() from None
    await scope_to_firm(session, firm_id)
    connection = await load_connection(session, firm_id, provider, cipher)
    if connection is None:
        log.info("esignature webhook for a firm without a %s connection", provider)
        raise UnknownWebhookEndpoint()
    adapter = build_provider(connection, pool)
    try:
        events = adapter.parse_webhook(headers, body, now)
        confirming = adapter if adapter.events_need_confirmation else None
        applied = 0
        for event in events:
            applied += await apply_event(session, firm_id, provider, event, confirming=confirming)
    except WebhookRejected as refused:
        # The answer is generic; why it was refused is for the operators.
        log.info("%s webhook refused: %s", provider, refused.reason)
        raise
    return Receipt(events=len(events), applied=applied)


# The provider's own state that confirms each event (a view is confirmed by anything after).
_CONFIRMING_STATES = {
    EventKind.viewed: {RecipientState.viewed, RecipientState.signed, RecipientState.declined},
    EventKind.signed: {RecipientState.signed},
    EventKind.declined: {RecipientState.declined},
}


async def confirm(adapter: EsignatureProvider, event: ProviderEvent) -> None:
    """Refuse ``event`` unless the provider's API reports what it says happened: the
    provider redelivers a refused event, so one that raced its own API is not lost."""
    status = await adapter.fetch_status(event.envelope_ref)
    if event.kind == EventKind.completed:
        confirmed = status.completed
    elif event.kind == EventKind.voided:
        confirmed = status.voided
    else:
        states = {r.state for r in status.recipients if r.recipient_ref == event.recipient_ref}
        confirmed = bool(states & _CONFIRMING_STATES[event.kind])
    if not confirmed:
        raise WebhookRejected("the provider's API does not confirm the event")


async def apply_event(
    session: AsyncSession,
    firm_id: uuid.UUID,
    provider: str,
    event: ProviderEvent,
    *,
    confirming: EsignatureProvider | None = None,
) -> int:
    """How many recipients (or the envelope) ``event`` changed; with ``confirming``, only
    once that adapter's API confirms it."""
    envelope = await ENVELOPES.find(
        session,
        firm_id,
        Envelope.provider == provider,
        Envelope.provider_ref == event.envelope_ref,
        lock=True,
    )
    if envelope is None:
        log.info("esignature webhook for an unknown envelope", extra={"provider": provider})
        return 0
    if confirming is not None:
        await confirm(confirming, event)
    if event.kind == EventKind.voided:
        return int(await _voided(session, envelope, provider, event))
    recipients = list(
        await session.scalars(
            RECIPIENTS.select(firm_id)
            .where(EnvelopeRecipient.envelope_id == envelope.id)
            .order_by(EnvelopeRecipient.routing_order, EnvelopeRecipient.id)
        )
    )
    if event.kind == EventKind.completed:
        return await _completed(session, envelope, recipients, provider, event)
    named = next((r for r in recipients if r.provider_recipient_id == event.recipient_ref), None)
    if named is None:
        log.info("esignature webhook for an unknown recipient", extra={"provider": provider})
        return 0
    return int(
        await progress.recipient_changed(
            session,
            envelope,
            named,
            _CHANGES[event.kind],
            source=provider,
            at=event.occurred_at,
            provider_event_id=event.event_id,
            decline_reason=event.decline_reason,
        )
    )


async def _completed(
    session: AsyncSession,
    envelope: Envelope,
    recipients: list[EnvelopeRecipient],
    provider: str,
    event: ProviderEvent,
) -> int:
    """Every signer and approver not signed yet signs: the provider says all did."""
    changed = 0
    for recipient in recipients:
        if recipient.role != RecipientRole.cc and recipient.status != RecipientStatus.signed:
            changed += await progress.recipient_changed(
                session,
                envelope,
                recipient,
                "signed",
                source=provider,
                at=event.occurred_at,
                provider_event_id=f"{event.event_id}:{recipient.id}",
                detail={"reported_by": "envelope completed"},
            )
    return changed


async def _voided(
    session: AsyncSession, envelope: Envelope, provider: str, event: ProviderEvent
) -> bool:
    if envelope.status != EnvelopeStatus.sent:
        # Voided by firmflow first (its void reached the provider), or closed already.
        return False
    reason = f"Voided at {_LABELS.get(provider, provider)}"
    recorded = await trail.record_event(
        session,
        envelope.firm_id,
        envelope.id,
        EnvelopeEventKind.voided,
        source=provider,
        detail={"reason": reason},
        provider_event_id=event.event_id,
    )
    if recorded is None:
        return False
    envelope.status = EnvelopeStatus.voided.value
    envelope.voided_at = event.occurred_at
    envelope.void_reason = reason
    await session.flush()
    target = workflow_id(envelope.id)
    await outbox.enqueue_message(
        session,
        envelope.firm_id,
        outbox.signal_workflow(
            target,
            VOID_SIGNAL,
            dedupe_key=f"signal:{target}:{VOID_SIGNAL}:{envelope.send_round}",
            arg=Voided(reason=reason),
        ),
    )
    # As a staff void emits it (services/esignature/lifecycle.void), with no run behind it.
    await outbox.enqueue_message(
        session,
        envelope.firm_id,
        outbox.event(
            "envelope.voided",
            f"envelope.voided:{envelope.id}:{envelope.send_round}",
            envelope_id=str(envelope.id),
            title=envelope.title,
            client_id=str(envelope.client_id) if envelope.client_id else None,
            provider=envelope.provider,
            reason=reason,
            source=None,
        ),
    )
    return True
