"""Invitations are emailed: the app under test sends through SMTP to the test's mailbox,
and a test reads the one-time token from the link there, as the invitee would."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from tests.mailbox import Mailbox, text_of

PUBLIC_URL = "https://app.firmflow.test"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/accept-invitation#token=(ffi_[A-Za-z0-9_-]+)")


@asynccontextmanager
async def client_mailing_to(
    mailbox: Mailbox, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncClient]:
    """The app with its email sent by SMTP to ``mailbox`` and its public URL PUBLIC_URL."""
    from api.app import create_app

    smtp_settings = settings.model_copy(
        update={
            "email_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "public_url": PUBLIC_URL,
        }
    )
    app = create_app(smtp_settings, sessionmaker=sessionmaker)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def invitation_token(mailbox: Mailbox, address: str) -> str:
    """The token of the latest invitation emailed to ``address``."""
    received = mailbox.to(address.lower())
    assert received, f"no email to {address}"
    found = LINK.search(text_of(received[-1]))
    assert found is not None, text_of(received[-1])
    return found.group(1)
