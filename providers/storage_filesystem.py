"""The local filesystem as document storage: one file per key under a root directory (the
embedded default, ``data_dir/files``).

A write goes to a hidden sibling first and is renamed into place when complete, so a reader
never sees half an object and a crash leaves only a ``.partial-*`` file behind. File I/O runs
in a worker thread one chunk at a time, so the event loop keeps serving while a 500 MB file
streams through and no more than a chunk is ever held."""

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from providers.storage import ObjectMissing

# Keys are chosen by firmflow (services.documents.blobs), never by a person; this only makes
# sure a bug cannot reach outside the root.
_BATCH = 1024 * 1024
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")


class FilesystemStorage:
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key) or ".." in key.split("/"):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        partial = path.with_name(f".partial-{uuid.uuid4().hex}")
        handle = await asyncio.to_thread(_open_for_writing, partial)
        written = 0
        # Small chunks (a request body arrives in pieces of 64 KiB or less) are gathered up
        # to a MiB per hop to the thread: a hop costs more than writing 64 KiB to the page
        # cache, and one per piece made the upload several times slower than a plain copy.
        pending: list[bytes] = []
        pending_size = 0
        try:
            async for chunk in chunks:
                pending.append(chunk)
                pending_size += len(chunk)
                written += len(chunk)
                if pending_size >= _BATCH:
                    await asyncio.to_thread(handle.writelines, pending)
                    pending, pending_size = [], 0
            await asyncio.to_thread(_finish, handle, pending)
            await asyncio.to_thread(os.replace, partial, path)
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
        return written

    async def move(self, source: str, target: str) -> None:
        source_path, target_path = self._path(source), self._path(target)
        await asyncio.to_thread(_move, source_path, target_path)

    async def read(self, key: str, *, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectMissing(key) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def presigned_url(
        self, key: str, *, file_name: str, content_type: str, expires_in: timedelta
    ) -> str | None:
        # The API serves these files itself, behind a link it signs (core.signed_urls).
        return None

    async def aclose(self) -> None:
        return None


def _finish(handle: BinaryIO, pending: list[bytes]) -> None:
    handle.writelines(pending)
    handle.close()


def _open_for_writing(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("xb")


def _move(source: Path, target: Path) -> None:
    if target.is_file():
        # The same content-addressed bytes are stored already.
        source.unlink(missing_ok=True)
        return
    if not source.is_file():
        raise ObjectMissing(str(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
