"""The e-signature API over the test's transaction, its document files in a directory of
the test's own."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from providers.storage_filesystem import FilesystemStorage


@pytest.fixture
def storage(tmp_path: Path) -> FilesystemStorage:
    return FilesystemStorage(tmp_path / "files")


@pytest.fixture
async def api(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    storage: FilesystemStorage,
) -> AsyncIterator[AsyncClient]:
    from api.app import create_app

    app = create_app(settings, sessionmaker=sessionmaker, storage=storage)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
