"""The one-time code a recipient verifies by email before the documents open
(services/esignature/signing_codes.py): required, wrong, expired, used up, throttled,
emailed through real SMTP."""

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from models import EnvelopeRecipient
from providers.storage_filesystem import FilesystemStorage
from services.esignature.signing_codes import MAX_ATTEMPTS
from tests.esignature_signing import (
    Party,
    Sent,
    consent,
    events,
    link_of,
    page,
    reloaded,
    sent_envelope,
    sign_body,
    signing_app,
)
from tests.factories import Actor
from tests.mailbox import Mailbox, text_of
from tests.problems import assert_problem, pointers

CAREFUL = Party("Ada Lovelace", "ada@example.com", require_code=True)


@pytest.fixture
async def http(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    storage: FilesystemStorage,
    mailbox: Mailbox,
) -> AsyncIterator[AsyncClient]:
    async with signing_app(settings, sessionmaker, storage, mailbox) as client:
        yield client


def code_in(mailbox: Mailbox, index: int = -1) -> str:
    received = mailbox.to("ada@example.com")
    assert received, "no code emailed"
    found = re.search(r"\s([0-9]{6})\s", text_of(received[index]))
    assert found is not None, text_of(received[index])
    return found.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def ask(http: AsyncClient, token: str, sent: Sent) -> int:
    return (await page(http, token, sent.of(0).id, "POST", path="/code")).status_code


async def verify(http: AsyncClient, token: str, sent: Sent, code: str) -> dict[str, object]:
    response = await page(
        http, token, sent.of(0).id, "POST", path="/code/verify", json={"code": code}
    )
    body: dict[str, object] = response.json()
    body["_status"] = response.status_code
    return body


async def allow_another_send(db: AsyncSession, sent: Sent) -> None:
    """Move the last code's send a minute back, as if the resend interval had passed."""
    await scope_to_firm(db, sent.envelope.firm_id)
    await db.execute(
        update(EnvelopeRecipient)
        .where(EnvelopeRecipient.id == sent.of(0).id)
        .values(code_expires_at=EnvelopeRecipient.code_expires_at - timedelta(minutes=1))
    )
    await db.commit()


async def test_the_code_opens_the_pages_and_signing(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor, mailbox: Mailbox
) -> None:
    sent = await sent_envelope(db, http, owner, CAREFUL)
    token = link_of(settings, sent, 0)
    await consent(http, token, sent.of(0).id)
    page_path = f"/documents/{sent.document.id}/pages/1"
    assert (await page(http, token, sent.of(0).id)).json()["needs_code"] is True
    locked = await page(http, token, sent.of(0).id, path=page_path)
    assert assert_problem(locked, 409)["type"].endswith("code-required")
    early = await page(http, token, sent.of(0).id, "POST", path="/sign", json=sign_body(sent, 0))
    assert assert_problem(early, 409)["type"].endswith("code-required")

    asked = await page(http, token, sent.of(0).id, "POST", path="/code")
    assert asked.status_code == 202, asked.text
    assert asked.json()["sent_to"] == "a***@example.com"
    code = code_in(mailbox)
    recipient = await reloaded(db, sent.of(0))
    assert recipient.code_hash is not None and code not in recipient.code_hash
    verified = await verify(http, token, sent, code)

    assert verified["_status"] == 200 and verified["needs_code"] is False
    assert (await page(http, token, sent.of(0).id, path=page_path)).status_code == 200
    assert (await reloaded(db, sent.of(0))).code_hash is None
    assert [e.user_agent is not None for e in await events(db, sent, "code_sent")] == [True]
    assert len(await events(db, sent, "code_verified")) == 1
    signed = await page(http, token, sent.of(0).id, "POST", path="/sign", json=sign_body(sent, 0))
    assert signed.status_code == 200, signed.text


async def test_a_wrong_code_counts_and_the_fifth_uses_it_up(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor, mailbox: Mailbox
) -> None:
    sent = await sent_envelope(db, http, owner, CAREFUL)
    token = link_of(settings, sent, 0)
    assert await ask(http, token, sent) == 202
    code = code_in(mailbox)

    answers = [await verify(http, token, sent, wrong(code)) for _ in range(MAX_ATTEMPTS)]
    after = await verify(http, token, sent, code)

    assert [a["_status"] for a in answers] == [422] * (MAX_ATTEMPTS - 1) + [429]
    assert "4 tries left" in str(answers[0]["detail"])
    assert "1 try left" in str(answers[MAX_ATTEMPTS - 2]["detail"])
    assert pointers(answers[0]) == {"/code"}
    assert str(answers[-1]["type"]).endswith("signing-code-used-up")
    assert after["_status"] == 409 and str(after["type"]).endswith("signing-code-missing")
    assert await events(db, sent, "code_verified") == []

    await allow_another_send(db, sent)
    assert await ask(http, token, sent) == 202
    fresh = code_in(mailbox)
    assert (await verify(http, token, sent, fresh))["_status"] == 200


async def test_an_expired_code_and_a_replaced_one_are_refused(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor, mailbox: Mailbox
) -> None:
    sent = await sent_envelope(db, http, owner, CAREFUL)
    token = link_of(settings, sent, 0)
    assert await ask(http, token, sent) == 202
    first = code_in(mailbox)
    await allow_another_send(db, sent)
    assert await ask(http, token, sent) == 202
    second = code_in(mailbox)
    if first != second:
        assert (await verify(http, token, sent, first))["_status"] == 422

    await scope_to_firm(db, owner.firm.id)
    await db.execute(
        update(EnvelopeRecipient)
        .where(EnvelopeRecipient.id == sent.of(0).id)
        .values(code_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db.commit()
    expired = await verify(http, token, sent, second)

    assert expired["_status"] == 409 and "expired" in str(expired["detail"])


async def test_asking_again_at_once_is_throttled(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor, mailbox: Mailbox
) -> None:
    sent = await sent_envelope(db, http, owner, CAREFUL)
    token = link_of(settings, sent, 0)
    assert await ask(http, token, sent) == 202

    again = await page(http, token, sent.of(0).id, "POST", path="/code")

    body = assert_problem(again, 429)
    assert body["type"].endswith("signing-code-throttled")
    assert int(again.headers["Retry-After"]) > 0
    for _ in range(4):
        await allow_another_send(db, sent)
        assert await ask(http, token, sent) == 202
    await allow_another_send(db, sent)
    # Five sends in a row: the sign-in throttle holds the sixth back, whatever the interval.
    assert assert_problem(await page(http, token, sent.of(0).id, "POST", path="/code"), 429)
    assert len(mailbox.to("ada@example.com")) == 5


async def test_no_code_is_sent_when_none_is_asked_for(
    settings: Settings, http: AsyncClient, db: AsyncSession, owner: Actor, mailbox: Mailbox
) -> None:
    sent = await sent_envelope(db, http, owner, Party("Ada Lovelace", "ada@example.com"))
    token = link_of(settings, sent, 0)

    refused = await page(http, token, sent.of(0).id, "POST", path="/code")

    assert assert_problem(refused, 409)["type"].endswith("signing-code-not-needed")
    assert mailbox.to("ada@example.com") == []
