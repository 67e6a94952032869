"""Two sign requests of one recipient at the same moment, each in its own transaction on
committed data: the recipient's row lock makes one of them sign and the other a 409."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import tenant_session
from providers.storage_filesystem import FilesystemStorage
from tests.esignature_signing import (
    ADA,
    Sent,
    consent,
    events,
    link_of,
    page,
    sent_envelope,
    sign_body,
    signals,
    signing_app,
)
from tests.factories import Actor
from tests.mailbox import Mailbox


@pytest.fixture
async def http(
    settings: Settings,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    mailbox: Mailbox,
) -> AsyncIterator[AsyncClient]:
    storage = FilesystemStorage(tmp_path / "files")
    async with signing_app(settings, committing_sessionmaker, storage, mailbox) as client:
        yield client


async def test_two_simultaneous_submits_sign_once(
    settings: Settings,
    http: AsyncClient,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
) -> None:
    async with committing_sessionmaker() as session:
        sent: Sent = await sent_envelope(session, http, committed_owner, ADA)
    token = link_of(settings, sent, 0)
    await consent(http, token, sent.of(0).id)
    body = sign_body(sent, 0)

    answers = await asyncio.gather(
        *(page(http, token, sent.of(0).id, "POST", path="/sign", json=body) for _ in range(2))
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        assert len(await events(session, sent, "signed")) == 1
        assert [s["change"] for s in await signals(session, sent)].count("signed") == 1
