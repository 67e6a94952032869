"""EnvelopeWorkflow's side of an envelope: what each of its steps reads and changes (the
workflow decides when; the rows decide what). activities/esignature_envelope.py calls these
inside one unit of work each.

- ``plan``: the envelope's state for this round (open, signed by all, declined, voided,
  closed, re-sent), who of the group whose turn it is still needs a link, when the next
  reminder is due (``pure.signing_schedule``, in the firm's business hours) and when the
  sender is warned of the expiry.
- ``deliver``, ``remind``, ``warn_expiry``, ``expire`` and ``decline`` lock the envelope's
  row, and the recipients' rows, re-check the state under the lock and send their emails
  while they hold it: a void (which updates the envelope) or a signature (which updates the
  recipient) waits until the step has committed, and a step that runs after one finds the
  envelope or the recipient no longer open and sends nothing. So no reminder ever follows
  a signature, a decline, a void or the expiry. The lock is held for as long as the mail
  server takes, bounded by its timeout.
- ``void_notices`` and ``copies`` only read: what they send follows from a final state.
- ``complete`` moves a fully signed envelope to completed and emits ``envelope.completed``.

Steps done once per round carry a dedupe key in the trail's ``provider_event_id`` column
(unique per envelope): ``delivered:<round>:<recipient>:<link version>``,
``expiry_warning:<round>``, ``expired:<round>``. A retried step finds it and does nothing
again; a re-send (a new round) or a corrected address (a new link version) does it anew.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from models import (
    DocumentVersion,
    Envelope,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeEventKind,
    EnvelopeRecipient,
    EnvelopeStatus,
    Firm,
    ProviderName,
    RecipientRole,
    RecipientStatus,
    User,
)
from providers.email import Attachment, EmailProvider
from providers.storage import Storage
from pure.business_hours import BusinessHours
from pure.signing_schedule import ReminderPolicy, expiry_warning_at, reminder_due
from services.documents.repository import BLOBS, VERSIONS
from services.esignature import envelope_emails as emails
from services.esignature import trail
from services.esignature.envelope_emails import Letter
from services.esignature.repository import ENVELOPE_DOCUMENTS, ENVELOPES, EVENTS, RECIPIENTS
from services.esignature.signing_links import signing_url
from services.identity_repository import USERS
from services.outbox import writer as outbox
from workflows.esignature.envelope import contracts as envelope_process
from workflows.esignature.envelope.contracts import (
    EnvelopePlan,
    EnvelopeState,
    RemindInput,
    StepInput,
)

ACTORS = frozenset({RecipientRole.signer.value, RecipientRole.approver.value})
DONE = frozenset({RecipientStatus.signed.value, RecipientStatus.declined.value})
# A recipient who was sent a link and has not finished.
WAITING = frozenset({RecipientStatus.sent.value, RecipientStatus.viewed.value})


@dataclass(frozen=True)
class Mailing:
    """What the emailing steps need besides the session."""

    settings: Settings
    email: EmailProvider


async def _envelope(session: AsyncSession, step: StepInput, *, lock: bool = False) -> Envelope:
    envelope = await ENVELOPES.get(session, step.firm_id, step.envelope_id, lock=lock)
    if envelope is None:
        raise LookupError(f"no envelope {step.envelope_id} in firm {step.firm_id}")
    return envelope


async def envelope_of(session: AsyncSession, step: StepInput) -> Envelope:
    return await _envelope(session, step)


async def _recipients(
    session: AsyncSession, envelope: Envelope, *, lock: bool = False
) -> list[EnvelopeRecipient]:
    statement = (
        RECIPIENTS.select(envelope.firm_id)
        .where(EnvelopeRecipient.envelope_id == envelope.id)
        .order_by(EnvelopeRecipient.routing_order, EnvelopeRecipient.id)
        .execution_options(populate_existing=True)
    )
    if lock:
        statement = statement.with_for_update()
    return list(await session.scalars(statement))


async def _dedupe_keys(session: AsyncSession, envelope: Envelope) -> set[str]:
    keys = await session.scalars(
        select(EnvelopeEvent.provider_event_id).where(
            EVENTS.owned_by(envelope.firm_id),
            EnvelopeEvent.envelope_id == envelope.id,
            EnvelopeEvent.source == "system",
            EnvelopeEvent.provider_event_id.is_not(None),
        )
    )
    return {key for key in keys if key is not None}


def delivered_key(envelope: Envelope, recipient: EnvelopeRecipient) -> str:
    return f"delivered:{envelope.send_round}:{recipient.id}:{recipient.link_version}"


def _actors(recipients: list[EnvelopeRecipient]) -> list[EnvelopeRecipient]:
    return [r for r in recipients if r.role in ACTORS]


def turn(recipients: list[EnvelopeRecipient]) -> list[EnvelopeRecipient]:
    """The group whose turn it is: the lowest routing order with a signer or approver who
    has not signed (parallel within it)."""
    open_orders = [r.routing_order for r in _actors(recipients) if r.status not in DONE]
    if not open_orders:
        return []
    first = min(open_orders)
    return [r for r in _actors(recipients) if r.routing_order == first and r.status not in DONE]


def state_of(
    envelope: Envelope, recipients: list[EnvelopeRecipient], send_round: int
) -> EnvelopeState:
    if envelope.send_round > send_round:
        return "resent"
    if envelope.status == EnvelopeStatus.voided:
        return "voided"
    if envelope.status != EnvelopeStatus.sent:
        return "closed"
    actors = _actors(recipients)
    if any(r.status == RecipientStatus.declined for r in actors):
        return "declined"
    if all(r.status == RecipientStatus.signed for r in actors):
        return "signed"
    return "open"


async def hours_of(session: AsyncSession, firm_id: uuid.UUID) -> BusinessHours:
    firm = await session.get_one(Firm, firm_id)
    return BusinessHours.of(
        firm.time_zone, list(firm.business_days), firm.business_start, firm.business_end
    )


def policy_of(envelope: Envelope) -> ReminderPolicy:
    return ReminderPolicy(
        envelope.reminder_first_days, envelope.reminder_every_days, envelope.reminder_max
    )


def _due(
    envelope: Envelope, hours: BusinessHours, recipient: EnvelopeRecipient, step: StepInput
) -> datetime | None:
    if recipient.sent_at is None:
        return None
    return reminder_due(
        policy_of(envelope),
        hours,
        sent_at=recipient.sent_at,
        reminders_sent=recipient.reminders_sent,
        last_reminded_at=recipient.last_reminded_at,
        now=step.at,
    )


def _waiting(
    envelope: Envelope, recipients: list[EnvelopeRecipient], keys: set[str]
) -> list[EnvelopeRecipient]:
    """The group's recipients whose link of this round went out and who have not acted."""
    return [
        r for r in turn(recipients) if r.status in WAITING and delivered_key(envelope, r) in keys
    ]


def _warning_at(envelope: Envelope, hours: BusinessHours, keys: set[str]) -> datetime | None:
    if envelope.expires_at is None or f"expiry_warning:{envelope.send_round}" in keys:
        return None
    return expiry_warning_at(
        hours,
        sent_at=envelope.expires_at - timedelta(days=envelope.expiry_days),
        expires_at=envelope.expires_at,
        warning_days=envelope_process.EXPIRY_WARNING_DAYS,
    )


async def plan(session: AsyncSession, step: StepInput) -> EnvelopePlan:
    envelope = await _envelope(session, step)
    recipients = await _recipients(session, envelope)
    state = state_of(envelope, recipients, step.send_round)
    result = EnvelopePlan(
        state=state,
        status=envelope.status,
        provider=envelope.provider,
        send_round=envelope.send_round,
        expires_at=envelope.expires_at,
    )
    if state != "open":
        return result
    keys = await _dedupe_keys(session, envelope)
    hours = await hours_of(session, envelope.firm_id)
    result.warning_at = _warning_at(envelope, hours, keys)
    if envelope.provider == ProviderName.builtin:
        group = turn(recipients)
        if envelope.expires_at is not None:
            result.undelivered = sum(delivered_key(envelope, r) not in keys for r in group)
        dues = [_due(envelope, hours, r, step) for r in _waiting(envelope, recipients, keys)]
        result.next_reminder_at = min((due for due in dues if due is not None), default=None)
    return result


async def _open(
    session: AsyncSession, step: StepInput
) -> tuple[Envelope, list[EnvelopeRecipient]] | None:
    """The envelope and its recipients, locked, when it is still out for signature in this
    round; else None (the step does nothing)."""
    envelope = await _envelope(session, step, lock=True)
    if envelope.status != EnvelopeStatus.sent or envelope.send_round != step.send_round:
        return None
    return envelope, await _recipients(session, envelope, lock=True)


async def _firm_name(session: AsyncSession, firm_id: uuid.UUID) -> str:
    return (await session.get_one(Firm, firm_id)).name


async def deliver(session: AsyncSession, mailing: Mailing, step: StepInput) -> int:
    """Send each recipient of the group whose turn it is their link of this round (a new
    one after a correction), mark them sent and record ``delivered``."""
    opened = await _open(session, step)
    if opened is None or opened[0].expires_at is None:
        return 0
    envelope, recipients = opened
    expires_at = opened[0].expires_at
    keys = await _dedupe_keys(session, envelope)
    firm_name = await _firm_name(session, envelope.firm_id)
    letters: list[Letter] = []
    for recipient in turn(recipients):
        key = delivered_key(envelope, recipient)
        if key in keys:
            continue
        url = signing_url(mailing.settings, recipient, expires_at)
        letters.append(emails.invitation(envelope, firm_name, recipient, url))
        if recipient.status == RecipientStatus.created:
            recipient.status = RecipientStatus.sent.value
        # The reminders count from this link: a re-send or a correction starts them over.
        recipient.sent_at, recipient.reminders_sent, recipient.last_reminded_at = step.at, 0, None
        await trail.record_event(
            session,
            envelope.firm_id,
            envelope.id,
            EnvelopeEventKind.delivered,
            recipient=recipient,
            detail={"round": envelope.send_round, "link_version": recipient.link_version},
            provider_event_id=key,
        )
    await session.flush()
    return await emails.send(mailing.email, envelope.id, letters)


async def remind(session: AsyncSession, mailing: Mailing, step: RemindInput) -> int:
    """Remind the recipients whose reminder is due at ``step.at`` (every one still to act
    for a staff "remind now"), re-checked under the lock."""
    opened = await _open(session, step)
    expires_at = opened[0].expires_at if opened else None
    if opened is None or expires_at is None or step.at >= expires_at:
        return 0
    envelope, recipients = opened
    if state_of(envelope, recipients, step.send_round) != "open":
        return 0
    keys = await _dedupe_keys(session, envelope)
    hours = await hours_of(session, envelope.firm_id)
    firm_name = await _firm_name(session, envelope.firm_id)
    letters: list[Letter] = []
    for recipient in _waiting(envelope, recipients, keys):
        if not step.manual and _due(envelope, hours, recipient, step) != step.at:
            continue
        number = recipient.reminders_sent + 1
        url = signing_url(mailing.settings, recipient, expires_at)
        letter = emails.reminder(envelope, firm_name, recipient, url, number)
        letters.append(letter)
        recipient.reminders_sent, recipient.last_reminded_at = number, step.at
        await trail.record_event(
            session,
            envelope.firm_id,
            envelope.id,
            EnvelopeEventKind.reminded,
            recipient=recipient,
            source="staff" if step.manual else "system",
            detail={
                "at": step.at.isoformat(),
                "number": number,
                "manual": step.manual,
                "requested_by": str(step.requested_by) if step.requested_by else None,
                "message_id": letter.message_id,
            },
        )
    await session.flush()
    return await emails.send(mailing.email, envelope.id, letters)


async def _sender(session: AsyncSession, envelope: Envelope) -> User | None:
    user_id = envelope.sent_by or envelope.created_by
    user = await USERS.get(session, envelope.firm_id, user_id) if user_id else None
    return user if user is not None and user.is_active else None


async def warn_expiry(session: AsyncSession, mailing: Mailing, step: StepInput) -> int:
    """Warn the sender, once per round, that the envelope expires soon."""
    opened = await _open(session, step)
    if opened is None:
        return 0
    envelope, recipients = opened
    recorded = await trail.record_event(
        session,
        envelope.firm_id,
        envelope.id,
        EnvelopeEventKind.expiry_warning,
        detail={"at": step.at.isoformat()},
        provider_event_id=f"expiry_warning:{envelope.send_round}",
    )
    sender = await _sender(session, envelope)
    if recorded is None or sender is None:
        return 0
    waiting = [r for r in _actors(recipients) if r.status not in DONE]
    return await emails.send(
        mailing.email, envelope.id, [emails.expiry_warning(envelope, sender, waiting)]
    )


async def _event(
    session: AsyncSession, envelope: Envelope, name: str, dedupe_key: str, **data: object
) -> None:
    await outbox.enqueue_message(
        session,
        envelope.firm_id,
        outbox.event(
            name,
            dedupe_key,
            envelope_id=str(envelope.id),
            client_id=str(envelope.client_id) if envelope.client_id else None,
            title=envelope.title,
            provider=envelope.provider,
            source=None,
            **data,
        ),
    )


async def expire(session: AsyncSession, mailing: Mailing, step: StepInput) -> bool:
    """At or after ``expires_at``: the envelope expires (trail, ``envelope.expired``) and
    the sender is told. False when it was no longer open or is not due yet."""
    opened = await _open(session, step)
    envelope = opened[0] if opened else None
    if envelope is None or envelope.expires_at is None or step.at < envelope.expires_at:
        return False
    envelope.status = EnvelopeStatus.expired.value
    await trail.record_event(
        session,
        envelope.firm_id,
        envelope.id,
        EnvelopeEventKind.expired,
        detail={"round": envelope.send_round},
        provider_event_id=f"expired:{envelope.send_round}",
    )
    key = f"envelope.expired:{envelope.id}:{envelope.send_round}"
    await _event(session, envelope, "envelope.expired", key, send_round=envelope.send_round)
    await session.flush()
    sender = await _sender(session, envelope)
    if sender is not None:
        await emails.send(mailing.email, envelope.id, [emails.expired(envelope, sender)])
    return True


async def decline(session: AsyncSession, mailing: Mailing, step: StepInput) -> bool:
    """A recipient declined: the envelope is declined (``envelope.declined``), the sender
    and the other recipients who were sent a link are told."""
    opened = await _open(session, step)
    if opened is None:
        return False
    envelope, recipients = opened
    refusals = [r for r in _actors(recipients) if r.status == RecipientStatus.declined]
    if not refusals:
        return False
    by = min(refusals, key=lambda r: (r.declined_at is None, r.declined_at, r.id))
    envelope.status = EnvelopeStatus.declined.value
    envelope.declined_at = by.declined_at or step.at
    key = f"envelope.declined:{envelope.id}"
    await _event(session, envelope, "envelope.declined", key, recipient_id=str(by.id))
    await session.flush()
    letters = [
        emails.declined(envelope, r.name, r.email, r.id, by)
        for r in recipients
        if r.id != by.id and r.sent_at is not None
    ]
    sender = await _sender(session, envelope)
    if sender is not None:
        name = sender.name or sender.email
        letters.insert(0, emails.declined(envelope, name, sender.email, sender.id, by))
    await emails.send(mailing.email, envelope.id, letters)
    return True


async def void_notices(session: AsyncSession, step: StepInput) -> tuple[Envelope, list[Letter]]:
    """A voided envelope's notices to the recipients who were sent a link."""
    envelope = await _envelope(session, step)
    if envelope.status != EnvelopeStatus.voided:
        return envelope, []
    firm_name = await _firm_name(session, envelope.firm_id)
    recipients = await _recipients(session, envelope)
    return envelope, [
        emails.voided(envelope, firm_name, r) for r in recipients if r.sent_at is not None
    ]


async def complete(session: AsyncSession, step: StepInput) -> bool:
    """Every signer and approver signed: completed, with its trail event and
    ``envelope.completed``. False when the envelope was no longer open (voided meanwhile)."""
    opened = await _open(session, step)
    if opened is None:
        return False
    envelope, recipients = opened
    if state_of(envelope, recipients, step.send_round) != "signed":
        return False
    envelope.status = EnvelopeStatus.completed.value
    envelope.completed_at = step.at
    await trail.record_event(session, envelope.firm_id, envelope.id, EnvelopeEventKind.completed)
    await _event(session, envelope, "envelope.completed", f"envelope.completed:{envelope.id}")
    await session.flush()
    return True


async def _signed_files(
    session: AsyncSession, storage: Storage, envelope: Envelope
) -> list[Attachment]:
    documents = await session.scalars(
        ENVELOPE_DOCUMENTS.select(envelope.firm_id)
        .where(EnvelopeDocument.envelope_id == envelope.id)
        .order_by(EnvelopeDocument.position)
    )
    files: list[Attachment] = []
    for document in documents:
        if document.signed_version_id is None:
            continue
        version: DocumentVersion = await VERSIONS.get_or_404(
            session, envelope.firm_id, document.signed_version_id
        )
        blob = await BLOBS.get_or_404(session, envelope.firm_id, version.blob_id)
        data = b"".join([chunk async for chunk in storage.read(blob.storage_key)])
        files.append(Attachment(version.file_name, version.content_type, data))
    return files


async def copies(
    session: AsyncSession, storage: Storage, step: StepInput
) -> tuple[Envelope, list[Letter]]:
    """A completed envelope's signed copy to every recipient (cc included) and a notice to
    the sender, one each."""
    envelope = await _envelope(session, step)
    if envelope.status != EnvelopeStatus.completed:
        return envelope, []
    files = await _signed_files(session, storage, envelope)
    letters = [
        emails.completed(envelope, r.name, r.email, r.id, files)
        for r in await _recipients(session, envelope)
    ]
    sender = await _sender(session, envelope)
    if sender is not None:
        letters.append(
            emails.completed(envelope, sender.name or sender.email, sender.email, sender.id, [])
        )
    return envelope, letters
