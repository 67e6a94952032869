"""SAML login end to end against a real pysaml2 IdP running in-process.

Each refusal is checked three ways: the browser gets the one generic problem, no login
session (and no user) was created, and the log names the precise reason, so a test cannot
pass because some other check happened to refuse first."""

import base64
import hashlib
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookies import Morsel, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import pytest
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]
from httpx import AsyncClient, Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent, LoginSession, SamlAssertionSeen, SamlRequest, User
from services.sso import SSO_FAILED
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, bearer
from tests.saml_idp import (
    AuthnRequestSeen,
    KeyPair,
    TestIdP,
    decode,
    encode,
    find,
    new_directory,
    remove_directory,
    set_attribute,
    shift_times,
)
from tests.saml_idp import (
    User as IdpUser,
)

ACS_LOG = "firmflow.sso"
RELAY_COOKIE = "ff_saml_relay"


def set_cookies(response: Response) -> dict[str, Morsel[str]]:
    """Every cookie the response sets, by name (one Set-Cookie header each)."""
    found: dict[str, Morsel[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        found.update(SimpleCookie(header))
    return found


@pytest.fixture(scope="module")
def idp_directory() -> Iterator[Path]:
    directory = new_directory()
    yield directory
    remove_directory(directory)


@pytest.fixture(scope="module")
def idp(idp_directory: Path) -> TestIdP:
    return TestIdP(idp_directory, "okta")


@pytest.fixture(scope="module")
def other_idp(idp_directory: Path) -> TestIdP:
    return TestIdP(idp_directory, "elsewhere")


@dataclass
class Started:
    seen: AuthnRequestSeen
    relay_state: str
    cookie: str


@dataclass
class SsoFirm:
    actor: Actor
    idp: TestIdP
    client: AsyncClient
    db: AsyncSession

    @property
    def slug(self) -> str:
        return self.actor.firm.slug

    @property
    def acs(self) -> str:
        return f"/v1/sso/{self.slug}/acs"

    async def start(self) -> Started:
        response = await self.client.get(f"/v1/sso/{self.slug}/login")
        assert response.status_code == 303, response.text
        cookie = set_cookies(response)[RELAY_COOKIE].value
        seen = self.idp.read_request(response.headers["location"])
        assert seen.relay_state is not None
        return Started(seen=seen, relay_state=seen.relay_state, cookie=cookie)

    async def post(
        self,
        saml_response: str | None,
        *,
        relay_state: str | None = None,
        cookie: str | None = None,
    ) -> Response:
        form = {"SAMLResponse": saml_response, "RelayState": relay_state}
        headers = {"Cookie": f"{RELAY_COOKIE}={cookie}"} if cookie is not None else {}
        return await self.client.post(
            self.acs, data={k: v for k, v in form.items() if v is not None}, headers=headers
        )

    async def answer(self, started: Started, saml_response: str) -> Response:
        return await self.post(
            saml_response, relay_state=started.relay_state, cookie=started.cookie
        )

    async def sessions(self) -> int:
        await scope_to_firm(self.db, self.actor.firm.id)
        count = await self.db.scalar(
            select(func.count()).where(LoginSession.firm_id == self.actor.firm.id)
        )
        return int(count or 0)

    async def users(self) -> list[str]:
        await scope_to_firm(self.db, self.actor.firm.id)
        emails = await self.db.scalars(
            select(User.email).where(User.firm_id == self.actor.firm.id).order_by(User.email)
        )
        return list(emails.all())


async def configure(
    client: AsyncClient, db: AsyncSession, idp: TestIdP, **settings: Any
) -> SsoFirm:
    actor = await make_firm(db, "Single Sign")
    body = {
        "idp_metadata_xml": idp.metadata_xml,
        "groups_attribute": "groups",
        "role_mapping": {"firmflow-admins": "admin", "everyone": "staff"},
        "jit_provisioning": True,
        **settings,
    }
    response = await client.post("/v1/sso-configs", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    metadata = await client.get(f"/v1/sso/{actor.firm.slug}/metadata")
    assert metadata.status_code == 200, metadata.text
    idp.trust(metadata.text)
    return SsoFirm(actor=actor, idp=idp, client=client, db=db)


@pytest.fixture
async def firm(client: AsyncClient, db: AsyncSession, idp: TestIdP) -> SsoFirm:
    return await configure(client, db, idp)


@pytest.fixture
def reasons(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger=ACS_LOG):
        yield caplog


class Refusal:
    def __init__(self, firm: SsoFirm, caplog: pytest.LogCaptureFixture) -> None:
        self.firm = firm
        self.caplog = caplog

    async def __aenter__(self) -> "Refusal":
        self.sessions = await self.firm.sessions()
        self.users = await self.firm.users()
        self.caplog.clear()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def check(self, response: Response, reason: str) -> None:
        body = assert_problem(response, 401)
        assert body["detail"] == SSO_FAILED
        records = [r for r in self.caplog.records if r.name == ACS_LOG]
        assert len(records) == 1, [r.getMessage() for r in records]
        message = records[0].getMessage()
        assert re.search(reason, message), message
        # The reason stays on the server, tied to the request id the browser got.
        assert records[0].__dict__["request_id"] == response.headers["x-request-id"]
        assert set(body) == {"type", "title", "status", "detail", "instance", "request_id"}
        assert message.split(": ", 1)[1] not in response.text
        assert "ff_session" not in set_cookies(response)
        assert await self.firm.sessions() == self.sessions
        assert await self.firm.users() == self.users


async def refused(
    firm: SsoFirm, caplog: pytest.LogCaptureFixture, response: Response, reason: str
) -> None:
    await Refusal(firm, caplog).check(response, reason)


ADA = IdpUser(email="ada@firm.example", name="Ada Lovelace", groups=["firmflow-admins"])


# --- happy paths -----------------------------------------------------------------------


async def test_login_redirects_with_an_authn_request_and_a_bound_relay_state(
    firm: SsoFirm, db: AsyncSession
) -> None:
    response = await firm.client.get(f"/v1/sso/{firm.slug}/login")

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == firm.idp.sso_url
    relay_state = parse_qs(location.query)["RelayState"][0]
    assert len(base64.urlsafe_b64decode(relay_state + "=")) >= 32
    cookie = set_cookies(response)[RELAY_COOKIE]
    assert cookie.value == relay_state
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"].lower() == "none"
    assert cookie["path"] == firm.acs
    assert int(cookie["max-age"]) == 600
    # Stored only as a hash, expiring in ten minutes.
    await scope_to_firm(db, firm.actor.firm.id)
    row = await db.scalar(select(SamlRequest).where(SamlRequest.firm_id == firm.actor.firm.id))
    assert row is not None
    assert row.relay_state_hash == hashlib.sha256(relay_state.encode()).hexdigest()
    remaining = row.expires_at - datetime.now(UTC)
    assert timedelta(minutes=9) < remaining <= timedelta(minutes=10)
    seen = firm.idp.read_request(response.headers["location"])
    assert seen.request_id == row.request_id
    assert seen.acs_url == f"http://127.0.0.1:8000{firm.acs}"


async def test_jit_provisioning_with_role_mapping_signs_the_user_in(
    firm: SsoFirm, settings: Settings, db: AsyncSession
) -> None:
    started = await firm.start()

    response = await firm.answer(started, firm.idp.respond(started.seen, ADA))

    assert response.status_code == 303, response.text
    assert response.headers["location"] == settings.public_url
    session_cookie = set_cookies(response)
    token = session_cookie["ff_session"].value
    assert session_cookie["ff_session"]["httponly"]
    me = await firm.client.get("/v1/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == "ada@firm.example"
    assert me.json()["user"]["name"] == "Ada Lovelace"
    assert me.json()["user"]["role"] == "admin"
    await scope_to_firm(db, firm.actor.firm.id)
    actions = (
        await db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.firm_id == firm.actor.firm.id)
            .order_by(AuditEvent.created_at)
        )
    ).all()
    assert actions[-2:] == ["user.provisioned", "auth.login"]


async def test_an_existing_user_is_matched_by_email_and_gets_the_mapped_role(
    client: AsyncClient, db: AsyncSession, idp: TestIdP
) -> None:
    firm = await configure(client, db, idp, jit_provisioning=False)
    staff = await add_user(db, firm.actor, Role.staff)
    started = await firm.start()
    person = IdpUser(email=staff.user.email.upper(), groups=["firmflow-admins", "everyone"])

    response = await firm.answer(started, firm.idp.respond(started.seen, person))

    assert response.status_code == 303, response.text
    await db.refresh(staff.user)
    assert staff.user.role == Role.admin
    assert await firm.sessions() == 1
    assert len(await firm.users()) == 2


@pytest.mark.parametrize("kept", [Role.owner, Role.client])
async def test_owners_and_client_users_keep_their_role_whatever_the_idp_groups(
    client: AsyncClient, db: AsyncSession, idp: TestIdP, kept: Role
) -> None:
    firm = await configure(client, db, idp, jit_provisioning=False)
    user = firm.actor if kept == Role.owner else await add_user(db, firm.actor, kept)
    started = await firm.start()
    person = IdpUser(email=user.user.email, groups=["firmflow-admins"])

    response = await firm.answer(started, firm.idp.respond(started.seen, person))

    assert response.status_code == 303, response.text
    await db.refresh(user.user)
    assert user.user.role == kept
    assert await firm.sessions() == 1


async def test_idp_initiated_login_when_the_firm_allows_it(
    client: AsyncClient, db: AsyncSession, idp: TestIdP
) -> None:
    firm = await configure(client, db, idp, allow_idp_initiated=True)
    sp_entity_id = f"http://127.0.0.1:8000/v1/sso/{firm.slug}/metadata"
    acs_url = f"http://127.0.0.1:8000{firm.acs}"

    unsolicited = idp.respond(None, ADA, sp_entity_id=sp_entity_id, acs_url=acs_url)
    response = await firm.post(unsolicited)

    assert response.status_code == 303, response.text
    assert await firm.sessions() == 1


async def test_clock_skew_up_to_a_minute_is_tolerated(firm: SsoFirm) -> None:
    started = await firm.start()
    ahead = firm.idp.respond(
        started.seen, ADA, change=lambda root: shift_times(root, timedelta(seconds=40))
    )

    response = await firm.answer(started, ahead)

    assert response.status_code == 303, response.text


async def test_the_replay_cache_keeps_an_assertion_until_it_expires(
    firm: SsoFirm, db: AsyncSession
) -> None:
    started = await firm.start()
    answer = firm.idp.respond(started.seen, ADA)
    document = fromstring(decode(answer))
    assertion = find(document, "saml:Assertion")
    not_on_or_after = find(assertion, "saml:Conditions").get("NotOnOrAfter")
    assert not_on_or_after is not None

    assert (await firm.answer(started, answer)).status_code == 303

    await scope_to_firm(db, firm.actor.firm.id)
    seen = (
        await db.scalars(
            select(SamlAssertionSeen).where(SamlAssertionSeen.firm_id == firm.actor.firm.id)
        )
    ).all()
    assert [row.assertion_id for row in seen] == [assertion.get("ID")]
    expiry = datetime.strptime(not_on_or_after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert seen[0].expires_at == expiry + timedelta(seconds=60)


async def test_expired_requests_and_assertions_are_purged(firm: SsoFirm, db: AsyncSession) -> None:
    old = await firm.start()
    await firm.answer(old, firm.idp.respond(old.seen, ADA))
    await scope_to_firm(db, firm.actor.firm.id)
    past = datetime.now(UTC) - timedelta(minutes=1)
    await db.execute(update(SamlRequest).values(expires_at=past))
    await db.execute(update(SamlAssertionSeen).values(expires_at=past))
    await db.commit()

    fresh = await firm.start()
    assert (await firm.answer(fresh, firm.idp.respond(fresh.seen, ADA))).status_code == 303

    await scope_to_firm(db, firm.actor.firm.id)
    requests = (await db.scalars(select(SamlRequest.request_id))).all()
    assert requests == [fresh.seen.request_id]
    assert len((await db.scalars(select(SamlAssertionSeen))).all()) == 1


# --- signatures and wrapping -------------------------------------------------------------


async def test_unsigned_assertion_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, firm.idp.respond(started.seen, ADA, signed=False))
        await refusal.check(response, "no enveloped signature")


async def test_assertion_signed_with_another_key_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture, idp_directory: Path
) -> None:
    started = await firm.start()
    stranger = KeyPair.generate(idp_directory, f"stranger-{uuid.uuid4().hex[:6]}")
    forged = firm.idp.respond(started.seen, ADA, keys=stranger)
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, forged)
        await refusal.check(response, "pysaml2 refused.*SignatureError")


async def test_another_firms_idp_signing_for_this_firm_is_refused(
    firm: SsoFirm,
    other_idp: TestIdP,
    db: AsyncSession,
    reasons: pytest.LogCaptureFixture,
) -> None:
    """Firm B's own IdP, trusted by firmflow for firm B, answers firm A's request."""
    firm_b = await configure(firm.client, db, other_idp)
    started = await firm.start()
    metadata = await firm.client.get(f"/v1/sso/{firm.slug}/metadata")
    other_idp.trust(metadata.text)
    foreign = other_idp.respond(started.seen, ADA)
    # The same IdP's answer to firm B's own request is accepted: only the firm is wrong.
    own = await firm_b.start()
    assert (await firm_b.answer(own, other_idp.respond(own.seen, ADA))).status_code == 303
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, foreign)
        await refusal.check(response, "pysaml2 refused.*MissingKey")


def _signed_document(firm: SsoFirm, started: Started, user: IdpUser = ADA) -> str:
    return decode(firm.idp.respond(started.seen, user))


def _assertion_span(document: str) -> tuple[int, int]:
    start = document.index("<saml:Assertion")
    end = document.index("</saml:Assertion>") + len("</saml:Assertion>")
    return start, end


def _evil_copy(assertion_xml: str, *, same_id: bool) -> str:
    """The signed assertion with another email and its signature removed."""
    evil = re.sub(r"<ds:Signature>.*</ds:Signature>", "", assertion_xml, flags=re.DOTALL)
    evil = evil.replace("ada@firm.example", "mallory@firm.example")
    if not same_id:
        evil = re.sub(r'ID="[^"]+"', 'ID="evil-assertion"', evil, count=1)
    return evil


async def test_wrapping_signed_assertion_moved_and_unsigned_one_injected_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    document = _signed_document(firm, started)
    start, end = _assertion_span(document)
    signed = document[start:end]
    # The genuine signed assertion hides in the Response's Extensions; an unsigned one with
    # the same ID takes its place.
    hidden = f"<samlp:Extensions>{signed}</samlp:Extensions>"
    status_at = document.index("<samlp:Status>")
    wrapped = (
        document[:status_at]
        + hidden
        + document[status_at:start]
        + _evil_copy(signed, same_id=True)
        + document[end:]
    )
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, encode(wrapped))
        await refusal.check(response, "2 assertions")


async def test_wrapping_second_unsigned_assertion_beside_the_signed_one_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    document = _signed_document(firm, started)
    start, end = _assertion_span(document)
    signed = document[start:end]
    wrapped = document[:start] + _evil_copy(signed, same_id=False) + signed + document[end:]
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, encode(wrapped))
        await refusal.check(response, "2 assertions")


async def test_wrapping_signature_referencing_an_element_elsewhere_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    """The unsigned evil assertion carries the genuine signature, whose reference points
    at the genuine assertion, now tucked inside the signature's own Object."""
    started = await firm.start()
    document = _signed_document(firm, started)
    start, end = _assertion_span(document)
    signed = document[start:end]
    signature = re.search(r"<ds:Signature>.*</ds:Signature>", signed, flags=re.DOTALL)
    assert signature is not None
    evil = _evil_copy(signed, same_id=False)
    issuer_end = evil.index("</saml:Issuer>") + len("</saml:Issuer>")
    carried = signature.group(0).replace(
        "</ds:Signature>", f"<ds:Object>{signed}</ds:Object></ds:Signature>"
    )
    evil = evil[:issuer_end] + carried + evil[issuer_end:]
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, encode(document[:start] + evil + document[end:]))
        await refusal.check(response, "2 assertions")


async def test_signature_over_another_id_is_refused_even_with_one_assertion(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    document = _signed_document(firm, started)
    assertion_id = re.search(r'<saml:Assertion[^>]* ID="([^"]+)"', document)
    assert assertion_id is not None
    renamed = document.replace(f'URI="#{assertion_id.group(1)}"', 'URI="#somewhere-else"')
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, encode(renamed))
        await refusal.check(response, "does not reference the assertion")


async def test_comment_injected_in_the_name_id_is_refused(
    client: AsyncClient, db: AsyncSession, idp: TestIdP, reasons: pytest.LogCaptureFixture
) -> None:
    firm = await configure(client, db, idp, email_attribute=None)
    victim = await add_user(db, firm.actor, Role.admin)
    started = await firm.start()
    # The attacker owns victim-address + ".evil.com" at the IdP and signs in as that.
    attacker = IdpUser(email=f"{victim.user.email}.evil.com")
    document = _signed_document(firm, started, attacker)
    injected = document.replace(
        f">{victim.user.email}.evil.com</saml:NameID>",
        f">{victim.user.email}<!---->.evil.com</saml:NameID>",
    )
    assert injected != document
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, encode(injected))
        await refusal.check(response, "comment")


# --- conditions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "reason"),
    [
        (timedelta(minutes=-20), "pysaml2 refused.*too old"),
        (timedelta(minutes=5), "pysaml2 refused.*use response yet"),
    ],
    ids=["expired", "not-yet-valid"],
)
async def test_assertion_outside_its_validity_window_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture, shift: timedelta, reason: str
) -> None:
    started = await firm.start()
    shifted = firm.idp.respond(started.seen, ADA, change=lambda root: shift_times(root, shift))
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, shifted)
        await refusal.check(response, reason)


async def test_wrong_audience_is_refused(firm: SsoFirm, reasons: pytest.LogCaptureFixture) -> None:
    started = await firm.start()

    def audience(root: ET.Element) -> None:
        find(root, ".//saml:Audience").text = "https://someone-else.example/sp"

    forged = firm.idp.respond(started.seen, ADA, change=audience)
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, forged)
        await refusal.check(response, "pysaml2 refused.*AudienceRestrictions")


async def test_missing_audience_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()

    def drop(root: ET.Element) -> None:
        conditions = find(root, ".//saml:Conditions")
        for restriction in list(conditions):
            conditions.remove(restriction)

    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, firm.idp.respond(started.seen, ADA, change=drop))
        await refusal.check(response, "is not this SP")


async def test_wrong_recipient_is_refused(firm: SsoFirm, reasons: pytest.LogCaptureFixture) -> None:
    started = await firm.start()

    def recipient(root: ET.Element) -> None:
        set_attribute(
            root, ".//saml:SubjectConfirmationData", "Recipient", "https://evil.example/acs"
        )

    forged = firm.idp.respond(started.seen, ADA, change=recipient)
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, forged)
        await refusal.check(response, "is not this ACS")


async def test_replayed_assertion_is_refused(
    client: AsyncClient, db: AsyncSession, idp: TestIdP, reasons: pytest.LogCaptureFixture
) -> None:
    """IdP-initiated, so no RelayState stands in the way: the replay cache alone refuses."""
    firm = await configure(client, db, idp, allow_idp_initiated=True)
    unsolicited = idp.respond(
        None,
        ADA,
        sp_entity_id=f"http://127.0.0.1:8000/v1/sso/{firm.slug}/metadata",
        acs_url=f"http://127.0.0.1:8000{firm.acs}",
    )
    assert (await firm.post(unsolicited)).status_code == 303
    async with Refusal(firm, reasons) as refusal:
        response = await firm.post(unsolicited)
        await refusal.check(response, "already used")


async def test_missing_email_attribute_is_refused_without_creating_a_user(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()

    def drop_email(root: ET.Element) -> None:
        statement = find(root, ".//saml:AttributeStatement")
        for attribute in list(statement):
            if attribute.get("FriendlyName") == "email":
                statement.remove(attribute)

    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(
            started, firm.idp.respond(started.seen, ADA, change=drop_email)
        )
        await refusal.check(response, "email attribute missing")


async def test_malformed_email_attribute_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(
            started, firm.idp.respond(started.seen, IdpUser(email="not an email"))
        )
        await refusal.check(response, "email attribute missing or malformed")


async def test_unknown_user_without_jit_is_refused(
    client: AsyncClient, db: AsyncSession, idp: TestIdP, reasons: pytest.LogCaptureFixture
) -> None:
    firm = await configure(client, db, idp, jit_provisioning=False)
    started = await firm.start()
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, idp.respond(started.seen, ADA))
        await refusal.check(response, "provisioning is off")


async def test_new_user_without_a_mapped_group_or_default_role_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(
            started, firm.idp.respond(started.seen, IdpUser(email="new@firm.example"))
        )
        await refusal.check(response, "no default role")


async def test_deactivated_user_is_refused(
    client: AsyncClient, db: AsyncSession, idp: TestIdP, reasons: pytest.LogCaptureFixture
) -> None:
    firm = await configure(client, db, idp)
    staff = await add_user(db, firm.actor, Role.staff)
    staff.user.is_active = False
    await db.commit()
    started = await firm.start()
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(
            started, idp.respond(started.seen, IdpUser(email=staff.user.email))
        )
        await refusal.check(response, "deactivated")


# --- RelayState and InResponseTo ------------------------------------------------------------


async def test_missing_relay_state_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    answer = firm.idp.respond(started.seen, ADA)
    async with Refusal(firm, reasons) as refusal:
        response = await firm.post(answer, cookie=started.cookie)
        await refusal.check(response, "no RelayState in the POST")
    async with Refusal(firm, reasons) as refusal:
        response = await firm.post(answer, relay_state=started.relay_state)
        await refusal.check(response, "no RelayState cookie")


async def test_forged_relay_state_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    forged = "x" * 43
    async with Refusal(firm, reasons) as refusal:
        response = await firm.post(
            firm.idp.respond(started.seen, ADA), relay_state=forged, cookie=forged
        )
        await refusal.check(response, "unknown RelayState")


async def test_relay_state_of_another_browser_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    victim = await firm.start()
    attacker = await firm.start()
    answer = firm.idp.respond(victim.seen, ADA)
    async with Refusal(firm, reasons) as refusal:
        response = await firm.post(answer, relay_state=victim.relay_state, cookie=attacker.cookie)
        await refusal.check(response, "differs from this browser's cookie")


async def test_reused_relay_state_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    assert (await firm.answer(started, firm.idp.respond(started.seen, ADA))).status_code == 303
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, firm.idp.respond(started.seen, ADA))
        await refusal.check(response, "RelayState already used")


async def test_relay_state_is_spent_by_a_refused_attempt(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    bad = firm.idp.respond(started.seen, ADA, signed=False)
    assert (await firm.answer(started, bad)).status_code == 401
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, firm.idp.respond(started.seen, ADA))
        await refusal.check(response, "RelayState already used")


async def test_expired_relay_state_is_refused(
    firm: SsoFirm, db: AsyncSession, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    await scope_to_firm(db, firm.actor.firm.id)
    row = await db.scalar(
        select(SamlRequest).where(SamlRequest.request_id == started.seen.request_id)
    )
    assert row is not None
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await db.commit()
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, firm.idp.respond(started.seen, ADA))
        await refusal.check(response, "RelayState expired")


async def test_unknown_in_response_to_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    started = await firm.start()
    made_up = AuthnRequestSeen(
        request_id="id-never-sent",
        relay_state=None,
        sp_entity_id=started.seen.sp_entity_id,
        acs_url=started.seen.acs_url,
    )
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, firm.idp.respond(made_up, ADA))
        await refusal.check(response, "pysaml2 refused.*Unsolicited")


async def test_in_response_to_of_an_answered_request_is_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    """The answer to a first login, replayed with a second login's fresh RelayState."""
    first = await firm.start()
    answer = firm.idp.respond(first.seen, ADA)
    assert (await firm.answer(first, answer)).status_code == 303
    second = await firm.start()
    again = firm.idp.respond(first.seen, ADA)
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(second, again)
        await refusal.check(response, "pysaml2 refused.*Unsolicited")


async def test_unsolicited_response_is_refused_when_idp_initiated_login_is_off(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    unsolicited = firm.idp.respond(
        None,
        ADA,
        sp_entity_id=f"http://127.0.0.1:8000/v1/sso/{firm.slug}/metadata",
        acs_url=f"http://127.0.0.1:8000{firm.acs}",
    )
    async with Refusal(firm, reasons) as refusal:
        response = await firm.post(unsolicited)
        await refusal.check(response, "no RelayState in the POST")


async def test_unsolicited_response_with_a_valid_relay_state_is_refused_when_off(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture
) -> None:
    """A browser that did start a login cannot smuggle in an IdP-initiated answer."""
    started = await firm.start()
    unsolicited = firm.idp.respond(
        None, ADA, sp_entity_id=started.seen.sp_entity_id, acs_url=started.seen.acs_url
    )
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, unsolicited)
        await refusal.check(response, "pysaml2 refused.*Unsolicited")


async def test_solicited_response_without_relay_state_is_refused_even_if_idp_initiated_is_on(
    client: AsyncClient, db: AsyncSession, idp: TestIdP, reasons: pytest.LogCaptureFixture
) -> None:
    firm = await configure(client, db, idp, allow_idp_initiated=True)
    started = await firm.start()
    async with Refusal(firm, reasons) as refusal:
        response = await firm.post(idp.respond(started.seen, ADA))
        await refusal.check(response, "without this browser's RelayState")


@pytest.mark.parametrize(
    "payload",
    ["%%%not-base64", encode("<not-xml"), encode("<samlp:Response xmlns:samlp='x'/>"), ""],
    ids=["not-base64", "not-xml", "not-a-response", "empty"],
)
async def test_malformed_responses_are_refused(
    firm: SsoFirm, reasons: pytest.LogCaptureFixture, payload: str
) -> None:
    started = await firm.start()
    async with Refusal(firm, reasons) as refusal:
        response = await firm.answer(started, payload)
        await refusal.check(response, "SAMLResponse|root element|not well-formed")


async def test_a_firm_without_sso_refuses_generically(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db, "No SSO")
    login = await client.get(f"/v1/sso/{actor.firm.slug}/login")
    assert_problem(login, 404)
    acs = await client.post(f"/v1/sso/{actor.firm.slug}/acs", data={"SAMLResponse": "x"})
    assert assert_problem(acs, 401)["detail"] == SSO_FAILED
    assert_problem(await client.get("/v1/sso/no-such-firm/metadata"), 404)
