"""The emails EnvelopeWorkflow sends: a recipient's signing link when their group's turn
comes, reminders, the notices that an envelope was voided, declined, is about to expire or
expired, and the signed copy on completion.

Email is at-least-once: every message id is derived from the envelope, the round, the kind
of email and the recipient (and the link's version, the reminder's number), so a retried
activity sends the same message again, which receivers drop. A permanent refusal of one
address (5xx) skips that letter; anything else raises and the activity is retried."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import aiosmtplib

from models import Envelope, EnvelopeRecipient, RecipientRole, User
from providers.email import Attachment, EmailProvider, OutgoingEmail

log = logging.getLogger("firmflow.esignature.envelope")

MAX_SUBJECT = 200
# Signed copies larger than this in all go without attachments (mail servers commonly
# refuse messages over 10 to 25 MB); the email says so and the sender shares them.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Letter:
    to: str
    message_id: str
    subject: str
    lines: list[str]
    attachments: tuple[Attachment, ...] = ()


def message_id(envelope: Envelope, kind: str, whom: uuid.UUID | str) -> str:
    """The same on every attempt: one per envelope, kind of email and addressee."""
    return f"envelope-{envelope.id}-{kind}-{whom}"


def _subject(text: str) -> str:
    return text if len(text) <= MAX_SUBJECT else text[: MAX_SUBJECT - 1] + "…"


def _greeting(name: str) -> list[str]:
    return [f"Hello {name},", ""]


def _until(expires_at: datetime | None) -> list[str]:
    return [f"The link works until {expires_at:%Y-%m-%d %H:%M} UTC."] if expires_at else []


def _ask(recipient: EnvelopeRecipient) -> str:
    return "approve" if recipient.role == RecipientRole.approver else "sign"


def invitation(
    envelope: Envelope, firm_name: str, recipient: EnvelopeRecipient, url: str
) -> Letter:
    lines = [
        *_greeting(recipient.name),
        f"{firm_name} asks you to {_ask(recipient)} “{envelope.title}”.",
        "",
    ]
    if envelope.message:
        lines += [envelope.message, ""]
    lines += [f"Open the documents here: {url}", *_until(envelope.expires_at)]
    kind = f"r{envelope.send_round}-link-v{recipient.link_version}"
    return Letter(
        recipient.email,
        message_id(envelope, kind, recipient.id),
        _subject(f"Please {_ask(recipient)}: {envelope.title}"),
        lines,
    )


def reminder(
    envelope: Envelope, firm_name: str, recipient: EnvelopeRecipient, url: str, number: int
) -> Letter:
    lines = [
        *_greeting(recipient.name),
        f"“{envelope.title}” from {firm_name} still waits for you to {_ask(recipient)} it.",
        "",
        f"Open the documents here: {url}",
        *_until(envelope.expires_at),
    ]
    kind = f"r{envelope.send_round}-reminder{number}"
    return Letter(
        recipient.email,
        message_id(envelope, kind, recipient.id),
        _subject(f"Reminder: please {_ask(recipient)}: {envelope.title}"),
        lines,
    )


def voided(envelope: Envelope, firm_name: str, recipient: EnvelopeRecipient) -> Letter:
    lines = [
        *_greeting(recipient.name),
        f"{firm_name} voided “{envelope.title}”: it can no longer be signed.",
    ]
    if envelope.void_reason:
        lines += ["", f"Reason: {envelope.void_reason}"]
    return Letter(
        recipient.email,
        message_id(envelope, "voided", recipient.id),
        _subject(f"Voided: {envelope.title}"),
        lines,
    )


def declined(
    envelope: Envelope, to_name: str, to_email: str, whom: uuid.UUID | str, by: EnvelopeRecipient
) -> Letter:
    lines = [
        *_greeting(to_name),
        f"{by.name} ({by.email}) declined to sign “{envelope.title}”; it is closed.",
    ]
    if by.decline_reason:
        lines += ["", f"Reason: {by.decline_reason}"]
    return Letter(
        to_email,
        message_id(envelope, "declined", whom),
        _subject(f"Declined: {envelope.title}"),
        lines,
    )


def expiry_warning(envelope: Envelope, sender: User, waiting: list[EnvelopeRecipient]) -> Letter:
    names = ", ".join(f"{r.name} ({r.email})" for r in waiting) or "nobody"
    lines = [
        *_greeting(sender.name or sender.email),
        f"“{envelope.title}” expires on {envelope.expires_at:%Y-%m-%d %H:%M} UTC.",
        f"Still to act: {names}.",
    ]
    return Letter(
        sender.email,
        message_id(envelope, f"r{envelope.send_round}-expiry-warning", sender.id),
        _subject(f"Expires soon: {envelope.title}"),
        lines,
    )


def expired(envelope: Envelope, sender: User) -> Letter:
    lines = [
        *_greeting(sender.name or sender.email),
        f"“{envelope.title}” expired before everyone signed. You can send it again, which "
        "extends it and keeps its audit trail.",
    ]
    return Letter(
        sender.email,
        message_id(envelope, f"r{envelope.send_round}-expired", sender.id),
        _subject(f"Expired: {envelope.title}"),
        lines,
    )


def completed(
    envelope: Envelope, name: str, email: str, whom: uuid.UUID | str, files: list[Attachment]
) -> Letter:
    size = sum(len(file.data) for file in files)
    attached = size <= MAX_ATTACHMENT_BYTES
    lines = [*_greeting(name), f"Everyone has signed “{envelope.title}”."]
    if files and attached:
        lines.append("The signed documents are attached.")
    elif files:
        lines.append("The signed documents are too large to attach; ask the sender for them.")
    return Letter(
        email,
        message_id(envelope, "completed", whom),
        _subject(f"Completed: {envelope.title}"),
        lines,
        tuple(files) if attached else (),
    )


async def send(email: EmailProvider, envelope_id: uuid.UUID, letters: list[Letter]) -> int:
    """Send each letter; how many the mail server took."""
    sent = 0
    for letter in letters:
        try:
            await email.send(
                OutgoingEmail(
                    message_id=letter.message_id,
                    to=letter.to,
                    subject=letter.subject,
                    text="\n".join(letter.lines) + "\n",
                    attachments=letter.attachments,
                )
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if not all(refused.code >= 500 for refused in exc.recipients):
                raise
            log.warning("envelope %s: the mail server refused %s", envelope_id, letter.message_id)
            continue
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code < 500:
                raise
            log.warning("envelope %s: the mail server refused %s", envelope_id, letter.message_id)
            continue
        sent += 1
    return sent
