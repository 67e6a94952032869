"""``GET/PUT/DELETE /v1/firm/signing-certificate``: the firm's own sealing certificate,
checked on upload (passphrase, key, validity, usage), stored with its key encrypted, used
for the firm's next seal and recognised by the verifier; admins only."""

from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent, Firm, PlatformSigningKey
from providers.storage_filesystem import FilesystemStorage
from services.esignature.sealing import seal_envelope
from tests.esignature_sealing import (
    PASSPHRASE,
    completed_envelope,
    pkcs12_bundle,
    platform_key,
    stored_bytes,
)
from tests.factories import Actor, add_user
from tests.problems import assert_problem, pointers

__all__ = ["platform_key"]

PATH = "/v1/firm/signing-certificate"


async def _upload(
    api: AsyncClient, actor: Actor, bundle: bytes, passphrase: str = PASSPHRASE
) -> Response:
    return await api.put(
        PATH,
        data={"passphrase": passphrase},
        files={"file": ("seal.p12", bundle, "application/x-pkcs12")},
        headers=actor.headers,
    )


async def test_the_platform_certificate_seals_until_the_firm_uploads_its_own(
    api: AsyncClient,
    db: AsyncSession,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    before = await api.get(PATH, headers=owner.headers)
    assert before.status_code == 200, before.text
    assert before.json()["source"] == "platform"
    assert before.json()["fingerprint"] == platform_key.fingerprint_sha256

    uploaded = await _upload(api, owner, pkcs12_bundle(name="Acme seal"))
    assert uploaded.status_code == 200, uploaded.text
    body: dict[str, Any] = uploaded.json()
    assert body["source"] == "firm"
    assert "Acme seal" in body["subject"]
    assert set(body) == {"source", "subject", "issuer", "fingerprint", "not_after"}
    assert (await api.get(PATH, headers=owner.headers)).json() == body

    await scope_to_firm(db, owner.firm.id)
    firm = await db.get_one(Firm, owner.firm.id, populate_existing=True)
    assert firm.signing_key_encrypted is not None
    assert "PRIVATE KEY" not in firm.signing_key_encrypted
    decrypted = Cipher.from_settings(settings).decrypt(firm.signing_key_encrypted)
    assert decrypted.startswith("-----BEGIN PRIVATE KEY-----")
    actions = list(
        await db.scalars(select(AuditEvent.action).where(AuditEvent.firm_id == owner.firm.id))
    )
    assert "firm.signing_certificate_set" in actions

    removed = await api.delete(PATH, headers=owner.headers)
    assert removed.status_code == 204
    assert (await api.get(PATH, headers=owner.headers)).json()["source"] == "platform"


async def test_the_firms_certificate_seals_and_the_verifier_knows_it(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    uploaded = await _upload(api, owner, pkcs12_bundle(name="Acme seal"))
    fingerprint = uploaded.json()["fingerprint"]
    completed = await completed_envelope(db, storage, owner)
    [document] = await seal_envelope(db, storage, settings, owner.firm.id, completed.envelope.id)
    await db.commit()
    assert document.signed_version_id is not None
    data = (await stored_bytes(db, storage, document.signed_version_id))[2]
    # The firm replaces its certificate: what the old one sealed is still firmflow's.
    await _upload(api, owner, pkcs12_bundle(name="Acme seal 2027"))

    response = await api.post(
        "/v1/signatures/verify", files={"file": ("s.pdf", data, "application/pdf")}
    )

    body = response.json()
    assert body["intact"] and body["firmflow"], body
    assert body["signer_certificate"]["fingerprint"] == fingerprint
    assert body["envelope_id"] == str(completed.envelope.id)


async def test_a_wrong_passphrase_is_refused(
    api: AsyncClient, owner: Actor, platform_key: PlatformSigningKey
) -> None:
    response = await _upload(api, owner, pkcs12_bundle("right"), passphrase="wrong")
    assert pointers(assert_problem(response, 422)) == {"/passphrase"}


async def test_an_expired_certificate_is_refused(
    api: AsyncClient, owner: Actor, platform_key: PlatformSigningKey
) -> None:
    response = await _upload(api, owner, pkcs12_bundle(expired=True))
    body = assert_problem(response, 422)
    assert "expired" in body["detail"]
    assert (await api.get(PATH, headers=owner.headers)).json()["source"] == "platform"


async def test_a_certificate_not_for_signing_and_a_file_that_is_no_bundle_are_refused(
    api: AsyncClient, owner: Actor, platform_key: PlatformSigningKey
) -> None:
    not_signing = await _upload(api, owner, pkcs12_bundle(signing=False))
    assert "digital signatures" in assert_problem(not_signing, 422)["detail"]
    junk = await _upload(api, owner, b"-----BEGIN CERTIFICATE-----\nnope\n")
    assert_problem(junk, 422)
    too_large = await _upload(api, owner, b"0" * (64 * 1024 + 1))
    assert_problem(too_large, 413)


async def test_only_admins_manage_the_certificate(
    api: AsyncClient, db: AsyncSession, owner: Actor, platform_key: PlatformSigningKey
) -> None:
    staff = await add_user(db, owner, Role.staff)
    assert_problem(await api.get(PATH, headers=staff.headers), 403)
    assert_problem(await _upload(api, staff, pkcs12_bundle()), 403)
    assert_problem(await api.delete(PATH, headers=staff.headers), 403)
    admin = await add_user(db, owner, Role.admin)
    assert (await _upload(api, admin, pkcs12_bundle())).status_code == 200
