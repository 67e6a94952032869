"""The email providers against a real SMTP server on loopback and a real directory."""

import logging
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from core.config import Settings
from providers.email import (
    Attachment,
    FileEmailProvider,
    OutgoingEmail,
    SmtpEmailProvider,
    build_email_provider,
)
from services.password_reset import deliver
from tests.mailbox import Mailbox, free_port

SENDER = "firmflow <no-reply@firmflow.test>"


def message(message_id: str = "reset-1", text: str = "Hello\n") -> OutgoingEmail:
    return OutgoingEmail(
        message_id=message_id, to="olive@example.com", subject="Greetings", text=text
    )


async def test_smtp_provider_delivers_with_the_message_id(mailbox: Mailbox) -> None:
    provider = SmtpEmailProvider(host="127.0.0.1", port=mailbox.port, sender=SENDER)

    await provider.send(message(text="The body.\n"))

    assert len(mailbox.messages) == 1
    received = mailbox.messages[0]
    assert mailbox.recipients == [["olive@example.com"]]
    assert received["Message-ID"] == "<reset-1@firmflow.test>"
    assert received["Subject"] == "Greetings"
    assert received["From"] == SENDER
    assert mailbox.body(0).strip() == "The body."


async def test_smtp_provider_to_a_closed_port_raises() -> None:
    provider = SmtpEmailProvider(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=5)
    with pytest.raises(aiosmtplib.SMTPException):
        await provider.send(message())


async def test_delivery_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    provider = SmtpEmailProvider(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=5)
    with caplog.at_level(logging.ERROR, logger="firmflow.password_reset"):
        await deliver(provider, [message()])
    assert [record.message for record in caplog.records] == ["password reset email failed"]


async def test_file_provider_writes_each_message_once(tmp_path: Path) -> None:
    provider = FileEmailProvider(tmp_path / "mail", SENDER)

    await provider.send(message("reset/42", "first\n"))
    # A retry of the same message id (say, a retried activity) writes nothing new.
    await provider.send(message("reset/42", "second\n"))
    await provider.send(message("reset-43"))

    files = sorted(path.name for path in (tmp_path / "mail").iterdir())
    assert files == ["reset-43.eml", "reset_42.eml"]
    written = (tmp_path / "mail" / "reset_42.eml").read_text()
    assert "first" in written and "second" not in written
    assert "Message-ID: <reset/42@firmflow.test>" in written


PDF = Attachment("invoice-INV 7 (ü).pdf", "application/pdf", b"%PDF-1.7\n\x00\xff binary")


def with_pdf(message_id: str) -> OutgoingEmail:
    return OutgoingEmail(
        message_id=message_id,
        to="olive@example.com",
        subject="Invoice",
        text="Attached.\n",
        attachments=(PDF,),
    )


def the_attachment(received: EmailMessage) -> None:
    (part,) = list(received.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    assert part.get_filename() == PDF.file_name
    assert part.get_content() == PDF.data
    body = received.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == "Attached."


async def test_both_providers_carry_attachments_byte_for_byte(
    mailbox: Mailbox, tmp_path: Path
) -> None:
    await SmtpEmailProvider(host="127.0.0.1", port=mailbox.port, sender=SENDER).send(
        with_pdf("invoice-7")
    )
    the_attachment(mailbox.messages[0])

    files = FileEmailProvider(tmp_path / "mail", SENDER)
    await files.send(with_pdf("invoice-7"))
    written = message_from_bytes(files.path_for("invoice-7").read_bytes(), policy=policy.default)
    assert isinstance(written, EmailMessage)
    the_attachment(written)


def test_the_backend_setting_chooses_the_provider(tmp_path: Path) -> None:
    base = Settings(_env_file=None, data_dir=tmp_path, mail_from=SENDER)  # type: ignore[call-arg]

    file_provider = build_email_provider(base)
    assert isinstance(file_provider, FileEmailProvider)
    assert file_provider.directory == tmp_path / "mail"

    smtp = build_email_provider(
        base.model_copy(
            update={"email_backend": "smtp", "smtp_host": "mail.test", "smtp_port": 2525}
        )
    )
    assert isinstance(smtp, SmtpEmailProvider)
    assert (smtp.host, smtp.port, smtp.sender) == ("mail.test", 2525, SENDER)

    with pytest.raises(ValueError, match="'carrier-pigeon'"):
        build_email_provider(base.model_copy(update={"email_backend": "carrier-pigeon"}))
