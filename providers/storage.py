"""Where document bytes live, behind one protocol: the local filesystem (the embedded
default, under ``data_dir/files``) and S3-compatible object storage (AWS S3, MinIO, Ceph,
R2), selected by settings (``storage_backend``, ``providers.storage_backends.build_storage``).

Bytes go in and out as streams of chunks, never whole. Keys are opaque strings chosen by
the caller (``services.documents.blobs``: ``firms/<firm id>/blobs/<sha256>``)."""

from collections.abc import AsyncIterable, AsyncIterator
from datetime import timedelta
from typing import Protocol


class ObjectMissing(Exception):
    """No object under the key."""


class Storage(Protocol):
    #: "filesystem" or "s3"
    name: str

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Stream the chunks into the object ``key`` (replacing it); the bytes written."""
        ...

    async def move(self, source: str, target: str) -> None:
        """Make ``source``'s object ``target``'s. When ``target`` exists already (the same
        content-addressed bytes), ``source`` is dropped and ``target`` kept."""
        ...

    def read(self, key: str, *, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """The object's bytes as chunks; ObjectMissing when there is none."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Delete the object; deleting a missing one is not an error."""
        ...

    async def presigned_url(
        self, key: str, *, file_name: str, content_type: str, expires_in: timedelta
    ) -> str | None:
        """A URL the provider serves itself for ``expires_in`` (S3's presigned GET, with
        the Content-Disposition and Content-Type it must answer with), or None when the
        provider has none and firmflow signs its own URL (the filesystem)."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections (the API's lifespan and the worker call it at exit)."""
        ...
