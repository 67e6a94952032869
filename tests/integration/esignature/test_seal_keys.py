"""The platform sealing key: generated once when the API and workers start together on an
empty table, a configured PKCS#12 made the active key (the earlier one kept for the
verifier), and bundles refused for what makes them unusable."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.config import Settings
from core.crypto import Cipher
from models import PlatformSigningKey
from services.esignature.sealing_keys import (
    DEVELOPMENT_SUBJECT,
    InvalidCertificate,
    ensure_platform_key,
    load_pkcs12,
    summarize_pem,
)
from tests.esignature_sealing import PASSPHRASE, pkcs12_bundle

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def owner_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The schema owner's connection: the only one that may empty the key table."""
    engine = create_async_engine(settings.owner_url, pool_size=1)
    yield engine
    await engine.dispose()


async def _keys(engine: AsyncEngine) -> list[PlatformSigningKey]:
    async with async_sessionmaker(engine)() as session:
        return list(await session.scalars(select(PlatformSigningKey)))


async def _ensure(maker: Maker, settings: Settings) -> None:
    async with maker() as session, session.begin():
        await ensure_platform_key(session, settings)


_COLUMNS = ("id", "certificate_pem", "key_encrypted", "fingerprint_sha256", "origin", "active")


@pytest.fixture
async def key_table(owner_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The key table emptied for the test and given back as it was after it, so the
    session's shared key (``platform_key``) stays the one the other tests seal with."""
    async with owner_engine.begin() as connection:
        saved = (await connection.execute(select(PlatformSigningKey.__table__))).mappings().all()
        await connection.execute(delete(PlatformSigningKey))
    yield owner_engine
    async with owner_engine.begin() as connection:
        await connection.execute(delete(PlatformSigningKey))
        if saved:
            await connection.execute(
                insert(PlatformSigningKey),
                [{column: row[column] for column in _COLUMNS} for row in saved],
            )


async def test_concurrent_starts_generate_one_key(
    settings: Settings, committing_sessionmaker: Maker, key_table: AsyncEngine
) -> None:
    # Four processes starting at once: each in its own connection and transaction.
    await asyncio.gather(*(_ensure(committing_sessionmaker, settings) for _ in range(4)))
    await _ensure(committing_sessionmaker, settings)

    [key] = await _keys(key_table)
    assert key.active and key.origin == "generated"
    summary = summarize_pem(key.certificate_pem)
    assert DEVELOPMENT_SUBJECT in summary.subject
    assert summary.not_after > datetime.now(UTC) + timedelta(days=4 * 365)
    assert "PRIVATE KEY" not in key.key_encrypted
    pem = Cipher.from_settings(settings).decrypt(key.key_encrypted)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")


async def test_a_configured_bundle_becomes_the_active_key_and_the_old_one_stays(
    settings: Settings,
    committing_sessionmaker: Maker,
    key_table: AsyncEngine,
    tmp_path: Path,
) -> None:
    await _ensure(committing_sessionmaker, settings)
    bundle = tmp_path / "seal.p12"
    bundle.write_bytes(pkcs12_bundle(name="firmflow production seal"))
    configured = settings.model_copy(
        update={"seal_pkcs12_path": bundle, "seal_pkcs12_passphrase": SecretStr(PASSPHRASE)}
    )

    await _ensure(committing_sessionmaker, configured)
    await _ensure(committing_sessionmaker, configured)

    keys = await _keys(key_table)
    [active] = [key for key in keys if key.active]
    assert active.origin == "configured"
    assert "firmflow production seal" in summarize_pem(active.certificate_pem).subject
    assert any(key.origin == "generated" and not key.active for key in keys)
    assert len([key for key in keys if key.origin == "configured"]) == 1


def test_bundles_that_cannot_seal_are_refused() -> None:
    with pytest.raises(InvalidCertificate) as wrong:
        load_pkcs12(pkcs12_bundle(), "not the passphrase")
    assert wrong.value.errors == [
        {
            "pointer": "/passphrase",
            "detail": "The file is not a PKCS#12 bundle this passphrase opens",
        }
    ]
    with pytest.raises(InvalidCertificate, match="expired"):
        load_pkcs12(pkcs12_bundle(expired=True), PASSPHRASE)
    with pytest.raises(InvalidCertificate, match="digital signatures"):
        load_pkcs12(pkcs12_bundle(signing=False), PASSPHRASE)
    with pytest.raises(InvalidCertificate):
        load_pkcs12(b"garbage", PASSPHRASE)
    assert load_pkcs12(pkcs12_bundle(), PASSPHRASE).key_pem.startswith(b"-----BEGIN PRIVATE KEY")
