"""An envelope after its draft: sent (the workflow started through the outbox), voided
(with a reason; the workflow voids at the provider and tells the recipients), re-sent once
expired (a new round: a new expiry, a new workflow run, the trail kept), and a reminder
asked for now. Each is audited, recorded in the trail and told to the workflow through the
outbox in the same transaction."""

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import (
    Envelope,
    EnvelopeEventKind,
    EnvelopeRecipient,
    EnvelopeStatus,
    EsignatureConnection,
    FieldKind,
    ProviderName,
    RecipientRole,
    RecipientStatus,
)
from pure import event_catalogue
from services import audit
from services.esignature import envelopes, state, trail
from services.esignature import fields as envelope_fields
from services.esignature.envelopes import ExpiryDays, summarize
from services.esignature.repository import CONNECTIONS, RECIPIENTS
from services.outbox import writer as outbox
from workflows.esignature.envelope import contracts as envelope_contracts
from workflows.esignature.envelope.contracts import EnvelopeInput

# Who must act before an envelope completes.
ACTORS = frozenset({RecipientRole.signer, RecipientRole.approver})
# A second "remind now" within this many seconds is the same click (a double click, a
# retried request); a later one goes through.
REMIND_BUCKET_SECONDS = 60


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ResendRequest(BaseModel):
    """``expiry_days``: the new expiry from now (the envelope's own when left out)."""

    model_config = ConfigDict(extra="forbid")

    expiry_days: ExpiryDays | None = None


async def _sendable_problems(
    session: AsyncSession, principal: Principal, envelope: Envelope
) -> list[dict[str, str]]:
    """What keeps a draft from going out, each with its pointer into the envelope as read
    (``/documents``, ``/recipients/<i>``, ``/fields/<i>``, ``/provider``)."""
    problems: list[dict[str, str]] = []
    found = await envelopes.detailed(session, principal, envelope)
    recipients, placed = found.recipients, found.fields
    if not found.documents:
        problems.append({"pointer": "/documents", "detail": "the envelope has no document"})
    if not any(r.role in ACTORS for r in recipients):
        problems.append({"pointer": "/recipients", "detail": "no signer or approver"})
    signatures = Counter(f.recipient_id for f in placed if f.kind == FieldKind.signature)
    for index, recipient in enumerate(recipients):
        if recipient.role == RecipientRole.signer and not signatures[recipient.id]:
            problems.append(
                {
                    "pointer": f"/recipients/{index}",
                    "detail": f"{recipient.name} has no signature field",
                }
            )
    # Roles may have changed since the fields were placed.
    specs = [envelope_fields.FieldSpec.model_validate(f, from_attributes=True) for f in placed]
    roles = {r.id: r.role for r in recipients}
    pages = {d.row.id: d.row.page_count for d in found.documents}
    problems += envelope_fields.field_problems(specs, roles, pages)
    if envelope.provider != ProviderName.builtin:
        connected = await CONNECTIONS.find(
            session, principal, EsignatureConnection.provider == envelope.provider
        )
        if connected is None:
            problems.append(
                {
                    "pointer": "/provider",
                    "detail": f"the firm has no {envelope.provider} account connected",
                }
            )
    return problems


def _start(envelope: Envelope) -> outbox.NewMessage:
    """The workflow's start for this round. A re-send is a signal-with-start: the plain
    start refuses the id of a closed run, and a run still finishing the expiry goes on in
    the new round."""
    round_ = envelope.send_round
    workflow_id = envelope_contracts.workflow_id(envelope.id)
    start = EnvelopeInput(firm_id=envelope.firm_id, envelope_id=envelope.id, send_round=round_)
    if round_ == 1:
        return outbox.start_workflow(envelope_contracts.WORKFLOW_NAME, workflow_id, start)
    return outbox.signal_with_start(
        envelope_contracts.WORKFLOW_NAME,
        workflow_id,
        start,
        signal=envelope_contracts.RESENT_SIGNAL,
        signal_arg=envelope_contracts.Resent(send_round=round_),
        dedupe_key=envelope_contracts.resend_key(envelope.id, round_),
    )


def _event(name: str, envelope: Envelope, principal: Principal, **extra: Any) -> outbox.NewMessage:
    return outbox.event(
        name,
        f"{name}:{envelope.id}:{envelope.send_round}",
        envelope_id=str(envelope.id),
        title=envelope.title,
        client_id=str(envelope.client_id) if envelope.client_id else None,
        provider=envelope.provider,
        **extra,
        source=event_catalogue.run_source(principal.request_id),
    )


async def _staff_event(
    session: AsyncSession,
    principal: Principal,
    envelope: Envelope,
    kind: EnvelopeEventKind,
    detail: dict[str, Any] | None = None,
) -> None:
    await trail.record_event(
        session,
        principal,
        envelope.id,
        kind,
        email=await state.staff_email(session, principal),
        source="staff",
        detail=detail,
    )


async def _audit(
    session: AsyncSession, principal: Principal, envelope: Envelope, action: str, before: Any
) -> None:
    await session.flush()
    await session.refresh(envelope, ["updated_at"])
    await audit.record_changes(
        session,
        principal,
        action=action,
        record_type="envelope",
        record_id=envelope.id,
        before=before,
        after=summarize(envelope),
    )


def _open_for(envelope: Envelope, days: int) -> datetime:
    now = datetime.now(UTC)
    envelope.expiry_days = days
    envelope.expires_at = now + timedelta(days=days)
    return now


async def send(session: AsyncSession, principal: Principal, envelope_id: uuid.UUID) -> Envelope:
    """Send a draft: 422 with pointers while it lacks a document, a signer or approver, a
    signature field for each signer, or the provider's connection."""
    envelope = await state.locked_draft(session, principal, envelope_id, "sent")
    envelope_fields.raise_problems(await _sendable_problems(session, principal, envelope))
    before = summarize(envelope)
    envelope.sent_at = _open_for(envelope, envelope.expiry_days)
    envelope.status = EnvelopeStatus.sent.value
    envelope.send_round += 1
    envelope.sent_by = principal.user_id
    await _staff_event(session, principal, envelope, EnvelopeEventKind.sent)
    await _audit(session, principal, envelope, "envelope.sent", before)
    await outbox.enqueue_message(session, envelope.firm_id, _start(envelope))
    await outbox.enqueue_message(
        session, envelope.firm_id, _event("envelope.sent", envelope, principal)
    )
    return envelope


async def void(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID, request: VoidRequest
) -> Envelope:
    """Void an envelope out for signature; its workflow voids it at the provider and tells
    the recipients."""
    envelope = await state.locked_envelope(session, principal, envelope_id)
    state.require_status(envelope, EnvelopeStatus.sent, "voided")
    before = summarize(envelope)
    envelope.status = EnvelopeStatus.voided.value
    envelope.voided_at = datetime.now(UTC)
    envelope.void_reason = request.reason
    await _staff_event(
        session, principal, envelope, EnvelopeEventKind.voided, {"reason": request.reason}
    )
    await _audit(session, principal, envelope, "envelope.voided", before)
    target = envelope_contracts.workflow_id(envelope.id)
    await outbox.enqueue_message(
        session,
        envelope.firm_id,
        outbox.signal_workflow(
            target,
            envelope_contracts.VOID_SIGNAL,
            dedupe_key=f"signal:{target}:voided:{envelope.send_round}",
            arg=envelope_contracts.Voided(reason=request.reason),
        ),
    )
    await outbox.enqueue_message(
        session,
        envelope.firm_id,
        _event("envelope.voided", envelope, principal, reason=request.reason),
    )
    return envelope


async def resend(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID, request: ResendRequest
) -> Envelope:
    """Send an expired envelope again: a new expiry from now, the recipients who had not
    signed waiting for their turn again, a new round of the workflow; the trail goes on."""
    envelope = await state.locked_envelope(session, principal, envelope_id)
    state.require_status(envelope, EnvelopeStatus.expired, "re-sent")
    before = summarize(envelope)
    _open_for(envelope, request.expiry_days or envelope.expiry_days)
    envelope.status = EnvelopeStatus.sent.value
    envelope.send_round += 1
    waiting = await session.scalars(
        RECIPIENTS.select(principal).where(
            EnvelopeRecipient.envelope_id == envelope.id,
            EnvelopeRecipient.status != RecipientStatus.signed.value,
        )
    )
    for recipient in waiting:
        recipient.status = RecipientStatus.created.value
    await _staff_event(
        session,
        principal,
        envelope,
        EnvelopeEventKind.resent,
        {"round": envelope.send_round, "expiry_days": envelope.expiry_days},
    )
    await _audit(session, principal, envelope, "envelope.resent", before)
    await outbox.enqueue_message(session, envelope.firm_id, _start(envelope))
    return envelope


def remind_key(envelope: Envelope, now: datetime) -> str:
    """One reminder signal per envelope, round and minute."""
    bucket = int(now.timestamp()) // REMIND_BUCKET_SECONDS
    target = envelope_contracts.workflow_id(envelope.id)
    return f"signal:{target}:remind:{envelope.send_round}:{bucket}"


async def remind(session: AsyncSession, principal: Principal, envelope_id: uuid.UUID) -> Envelope:
    """Ask the workflow to remind now whoever's turn it is and has not acted."""
    envelope = await state.locked_envelope(session, principal, envelope_id)
    state.require_status(envelope, EnvelopeStatus.sent, "reminded")
    target = envelope_contracts.workflow_id(envelope.id)
    await outbox.enqueue_message(
        session,
        envelope.firm_id,
        outbox.signal_workflow(
            target,
            envelope_contracts.REMIND_SIGNAL,
            dedupe_key=remind_key(envelope, datetime.now(UTC)),
            arg=envelope_contracts.RemindNow(requested_by=principal.user_id),
        ),
    )
    await audit.record(
        session,
        principal,
        action="envelope.reminder_requested",
        record_type="envelope",
        record_id=envelope.id,
        after={"send_round": envelope.send_round},
    )
    return envelope
