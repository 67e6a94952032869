"""Outbound email behind a protocol: SMTP (aiosmtplib) in production, ``.eml`` files under
``data_dir/mail`` in development.

Every message carries a caller-chosen ``message_id`` that is its idempotency key: the file
backend writes a message at most once, and the SMTP backend sends it as the ``Message-ID``
header, which lets the receiving side drop a retried duplicate."""

import asyncio
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib

from core.config import Settings


@dataclass(frozen=True)
class Attachment:
    file_name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: str
    to: str
    subject: str
    text: str
    attachments: tuple[Attachment, ...] = ()


class EmailProvider(Protocol):
    async def send(self, message: OutgoingEmail) -> None: ...


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "firmflow.localhost"


def to_mime(message: OutgoingEmail, sender: str) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = f"<{message.message_id}@{_domain(sender)}>"
    mime.set_content(message.text)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mime.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.file_name
        )
    return mime


class SmtpEmailProvider:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    async def send(self, message: OutgoingEmail) -> None:
        await aiosmtplib.send(
            to_mime(message, self.sender),
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
        )


# Message ids become file names: anything but these characters is replaced.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class FileEmailProvider:
    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def path_for(self, message_id: str) -> Path:
        return self.directory / f"{_UNSAFE.sub('_', message_id)}.eml"

    async def send(self, message: OutgoingEmail) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: OutgoingEmail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(message.message_id)
        try:
            # Exclusive creation: a retried send of the same message writes nothing.
            with path.open("xb") as handle:
                handle.write(to_mime(message, self.sender).as_bytes())
        except FileExistsError:
            return


def build_email_provider(settings: Settings) -> EmailProvider:
    if settings.email_backend == "smtp":
        return SmtpEmailProvider(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            starttls=settings.smtp_starttls,
        )
    if settings.email_backend == "file":
        return FileEmailProvider(settings.data_dir / "mail", settings.mail_from)
    raise ValueError(
        f"FIRMFLOW_EMAIL_BACKEND must be 'smtp' or 'file', not {settings.email_backend!r}"
    )
