"""Signing links (services/esignature/signing_links.py) and the refusals of the public
signing API: another recipient's link, an expired one, another firm's, a forged one, one
replaced by an email correction, none at all."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.db import scope_to_firm
from core.link_tokens import link_keys, seal
from models import EnvelopeRecipient
from services.esignature.signing_links import (
    SigningLinkExpired,
    SigningLinkInvalid,
    read_token,
    signing_url,
)
from tests.esignature_signing import link_of, page, sent_envelope, token_of
from tests.factories import Actor, make_firm
from tests.problems import assert_problem


def test_the_link_opens_the_page_of_its_recipient_and_carries_its_claims(
    settings: Settings,
) -> None:
    recipient = EnvelopeRecipient(id=uuid.uuid4(), firm_id=uuid.uuid4(), link_version=3)
    expires_at = datetime(2031, 5, 1, 12, tzinfo=UTC)
    url = signing_url(settings, recipient, expires_at)
    assert url.startswith(f"{settings.public_url.rstrip('/')}/sign/{recipient.id}?t=")

    claims = read_token(
        settings, token_of(settings, recipient, expires_at), recipient_id=recipient.id
    )

    assert (claims.firm_id, claims.recipient_id) == (recipient.firm_id, recipient.id)
    assert (claims.link_version, claims.expires_at) == (3, expires_at)


def test_a_token_is_refused_for_another_recipient_after_expiry_and_when_altered(
    settings: Settings,
) -> None:
    recipient = EnvelopeRecipient(id=uuid.uuid4(), firm_id=uuid.uuid4(), link_version=1)
    expires_at = datetime(2031, 5, 1, tzinfo=UTC)
    token = token_of(settings, recipient, expires_at)
    with pytest.raises(SigningLinkInvalid):
        read_token(settings, token, recipient_id=uuid.uuid4())
    with pytest.raises(SigningLinkExpired):
        read_token(settings, token, recipient_id=recipient.id, now=expires_at)
    firm, version, expiry, mac = token.split(".")
    for altered in (
        f"{firm}.2.{expiry}.{mac}",
        f"{firm}.{version}.{int(expiry) + 86400}.{mac}",
        f"{firm}.{version}.{expiry}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",
        "",
        "garbage",
    ):
        with pytest.raises(SigningLinkInvalid):
            read_token(settings, altered, recipient_id=recipient.id)


def test_a_pay_token_cannot_pass_for_a_signing_token(settings: Settings) -> None:
    recipient_id, firm_id = uuid.uuid4(), uuid.uuid4()
    expiry = int((datetime.now(UTC) + timedelta(days=1)).timestamp())
    pay_keys = link_keys(settings, "firmflow invoice pay link v1")
    forged = seal(pay_keys, firm_id, recipient_id, [1, expiry])
    with pytest.raises(SigningLinkInvalid):
        read_token(settings, forged, recipient_id=recipient_id)


async def test_another_recipients_link_is_403(
    settings: Settings, api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, api, owner)
    adas = link_of(settings, sent, 0)

    response = await page(api, adas, sent.of(1).id)

    assert_problem(response, 403)
    assert (await page(api, adas, sent.of(0).id)).status_code == 200


async def test_an_expired_link_is_410(
    settings: Settings, api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, api, owner)
    expired = token_of(settings, sent.of(0), datetime.now(UTC) - timedelta(seconds=1))

    body = assert_problem(await page(api, expired, sent.of(0).id), 410)

    assert body["type"].endswith("signing-link-expired")


async def test_a_link_for_another_firm_is_refused(
    settings: Settings, api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, api, owner)
    other = await make_firm(db, "Other")
    theirs = await sent_envelope(db, api, other)
    expiry = int((datetime.now(UTC) + timedelta(days=1)).timestamp())

    # Their recipient's link, on our recipient's page.
    their_link = link_of(settings, theirs, 0)
    assert_problem(await page(api, their_link, sent.of(0).id), 403)
    # A token naming their firm for our recipient, validly signed: their firm has no such
    # recipient, so nothing of ours opens.
    claims_other_firm = seal(
        link_keys(settings, "firmflow envelope signing link v1"),
        other.firm.id,
        sent.of(0).id,
        [1, expiry],
    )
    assert_problem(await page(api, claims_other_firm, sent.of(0).id), 403)


async def test_a_forged_or_missing_token_is_403(
    settings: Settings, api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, api, owner)
    expiry = int((datetime.now(UTC) + timedelta(days=1)).timestamp())
    forged = seal([b"not the server's key" * 2], owner.firm.id, sent.of(0).id, [1, expiry])

    for token in (forged, None, "", "x" * 5000):
        body = assert_problem(await page(api, token, sent.of(0).id), 403)
        assert body["type"].endswith("signing-link-invalid")


async def test_the_link_sent_before_an_email_correction_stops_working(
    settings: Settings, api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    sent = await sent_envelope(db, api, owner)
    old = link_of(settings, sent, 0)
    await scope_to_firm(db, owner.firm.id)
    await db.execute(
        update(EnvelopeRecipient)
        .where(EnvelopeRecipient.id == sent.of(0).id)
        .values(email="ada@example.org", link_version=EnvelopeRecipient.link_version + 1)
    )
    await db.commit()
    await db.refresh(sent.of(0))

    body = assert_problem(await page(api, old, sent.of(0).id), 403)

    assert "newer" in body["detail"]
    assert (await page(api, link_of(settings, sent, 0), sent.of(0).id)).status_code == 200
