"""``POST /v1/signatures/verify``: the public verifier, given the sealed file, a copy with
one byte changed, a copy with content appended, a file sealed by a stranger's key, an
unsigned PDF and a file that is no PDF; and its throttle."""

import asyncio
import io
import uuid
from typing import Any

from httpx import AsyncClient
from pyhanko.pdf_utils.generic import NameObject, TextStringObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from models import PlatformSigningKey
from providers.storage_filesystem import FilesystemStorage
from services.esignature import verification
from services.esignature.sealing import seal_pdf
from services.esignature.sealing_keys import generate_development_key
from tests.esignature_factories import sample_pdf
from tests.esignature_sealing import completed_envelope, platform_key, sha256, stored_bytes
from tests.factories import Actor
from tests.problems import assert_problem

__all__ = ["platform_key"]


async def _verify(api: AsyncClient, data: bytes, name: str = "signed.pdf") -> dict[str, Any]:
    response = await api.post(
        "/v1/signatures/verify", files={"file": (name, data, "application/pdf")}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _sealed(
    db: AsyncSession, storage: FilesystemStorage, settings: Settings, owner: Actor
) -> tuple[Any, bytes]:
    from services.esignature.sealing import seal_envelope

    completed = await completed_envelope(db, storage, owner)
    [document] = await seal_envelope(db, storage, settings, owner.firm.id, completed.envelope.id)
    await db.commit()
    assert document.signed_version_id is not None
    return completed, (await stored_bytes(db, storage, document.signed_version_id))[2]


async def test_an_intact_sealed_pdf_names_its_envelope_and_signers(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    completed, data = await _sealed(db, storage, settings, owner)

    body = await _verify(api, data)

    assert body["sealed"] and body["intact"] and body["firmflow"]
    assert body["problems"] == []
    assert body["envelope_id"] == str(completed.envelope.id)
    assert body["envelope_title"] == "Engagement letter 2026"
    assert body["firm_name"] == owner.firm.name
    assert body["document_sha256"] == sha256(data)
    assert body["signer_certificate"]["fingerprint"] == platform_key.fingerprint_sha256
    assert "firmflow development seal" in body["signer_certificate"]["subject"]
    assert body["sealed_at"] is not None
    assert [(s["name"], s["email"]) for s in body["signers"]] == [
        ("Ada Lovelace", "ada@example.com"),
        ("Grace Hopper", "grace@example.com"),
    ]


async def test_a_copy_altered_by_one_byte_is_reported_altered(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    completed, data = await _sealed(db, storage, settings, owner)
    altered = bytearray(data)
    altered[len(data) // 3] ^= 0x01

    body = await _verify(api, bytes(altered))

    assert body["sealed"] and body["firmflow"]
    assert not body["intact"]
    assert verification.ALTERED in body["problems"]
    # Found by the seal's reason; the signers are not handed out for an altered copy.
    assert body["envelope_id"] == str(completed.envelope.id)
    assert body["signers"] == []
    assert body["document_sha256"] == sha256(bytes(altered))


async def test_content_appended_after_sealing_is_reported(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    _, data = await _sealed(db, storage, settings, owner)
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    writer.root[NameObject("/Lang")] = TextStringObject("en")
    writer.update_root()  # type: ignore[no-untyped-call]
    updated = io.BytesIO()
    writer.write(updated)  # type: ignore[no-untyped-call]

    body = await _verify(api, updated.getvalue())

    assert body["sealed"] and not body["intact"]
    assert verification.NOT_WHOLE in body["problems"]


async def test_a_seal_by_a_key_firmflow_never_had_is_not_firmflow(
    api: AsyncClient, platform_key: PlatformSigningKey
) -> None:
    stranger = generate_development_key()
    data = await asyncio.to_thread(seal_pdf, sample_pdf(1), sample_pdf(1), stranger, uuid.uuid4())

    body = await _verify(api, data)

    assert body["sealed"] and body["intact"]
    assert not body["firmflow"]
    assert body["envelope_id"] is None
    assert verification.UNKNOWN_KEY in body["problems"]


async def test_an_unsigned_pdf_and_a_non_pdf_are_answered_in_plain_words(
    api: AsyncClient,
) -> None:
    unsigned = await _verify(api, sample_pdf(1))
    assert not unsigned["sealed"] and not unsigned["intact"] and not unsigned["firmflow"]
    assert unsigned["problems"] == [verification.NO_SEAL]

    for junk in (b"not a pdf at all", b"%PDF-1.7\n1 0 obj <<\n", b""):
        body = await _verify(api, junk, name="junk.pdf")
        assert not body["sealed"]
        assert body["problems"] == [verification.NOT_A_PDF]
        assert body["document_sha256"] == sha256(junk)


async def test_a_request_without_a_file_is_refused(api: AsyncClient) -> None:
    response = await api.post("/v1/signatures/verify", data={"other": "x"}, files={})
    assert response.status_code in (415, 422), response.text
    missing = await api.post("/v1/signatures/verify", files={"note": (None, "no file")})
    assert_problem(missing, 422)


async def test_verifications_are_throttled_per_client_address(
    api: AsyncClient, db: AsyncSession
) -> None:
    # ASGITransport's client address.
    for _ in range(100):
        await verification.count_request(db, "127.0.0.1")
    await db.commit()

    response = await api.post(
        "/v1/signatures/verify", files={"file": ("a.pdf", sample_pdf(1), "application/pdf")}
    )

    body = assert_problem(response, 429)
    assert "verifications" in body["detail"]
    assert int(response.headers["Retry-After"]) > 0
