"""S3-compatible object storage (AWS S3, MinIO, Ceph RGW, Cloudflare R2) through aioboto3.

Why aioboto3 rather than obstore: it was already a dependency with typed stubs
(types-aiobotocore-s3, so mypy strict checks every call), it is botocore underneath (the
credential chain, retries, signature v4 and presigning with ``ResponseContentDisposition``
every S3-compatible service understands), and it lets this module drive the multipart upload
itself, part by part, so what is held in memory is one part, whatever the file's size.

A write shorter than one part is a single PutObject; a longer one a multipart upload of
``part_size`` parts (8 MiB: S3's minimum is 5 MiB), aborted if anything fails so no
invisible parts are left to pay for. A move is a server-side copy and a delete (objects
over 5 GiB, CopyObject's limit, are copied part by part)."""

import asyncio
import io
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aioboto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from core.config import Settings
from core.content_disposition import attachment, served_type
from providers.storage import ObjectMissing

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
else:
    S3Client = Any

PART_SIZE = 8 * 1024 * 1024
_COPY_LIMIT = 5 * 1024**3
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str = "auto",
        part_size: int = PART_SIZE,
    ) -> None:
        self.bucket = bucket
        self.part_size = part_size
        self._session = aioboto3.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        self._endpoint_url = endpoint_url
        self._config = Config(
            s3={"addressing_style": addressing_style},
            signature_version="s3v4",
            # Checksums only where S3 requires them: several S3-compatible services (older
            # MinIO and Ceph releases) refuse the CRC trailers botocore adds by default, and
            # the bytes' integrity is checked by their SHA-256 anyway (blobs.store_upload).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 5, "mode": "standard"},
        )
        self._stack: AsyncExitStack | None = None
        self._client: S3Client | None = None
        self._opening = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "S3Storage":
        if not settings.s3_bucket:
            raise RuntimeError("FIRMFLOW_STORAGE_BACKEND=s3 needs FIRMFLOW_S3_BUCKET")
        secret = settings.s3_secret_access_key
        return cls(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            addressing_style=settings.s3_addressing_style,
        )

    async def _s3(self) -> S3Client:
        """One client (and its connection pool) for the process, opened on first use."""
        async with self._opening:
            if self._client is not None:
                return self._client
            stack = AsyncExitStack()
            client: S3Client = await stack.enter_async_context(
                self._session.client("s3", endpoint_url=self._endpoint_url, config=self._config)
            )
            self._client, self._stack = client, stack
            return client

    async def aclose(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack, self._client = None, None

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        s3 = await self._s3()
        pending: list[bytes] = []
        pending_size = written = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                pending.append(chunk)
                pending_size += len(chunk)
                written += len(chunk)
                if pending_size >= self.part_size:
                    if upload_id is None:
                        created = await s3.create_multipart_upload(Bucket=self.bucket, Key=key)
                        upload_id = created["UploadId"]
                    parts.append(await self._part(s3, key, upload_id, len(parts) + 1, pending))
                    pending_size = 0
            if upload_id is None:
                await s3.put_object(Bucket=self.bucket, Key=key, Body=b"".join(pending))
                return written
            if pending:
                parts.append(await self._part(s3, key, upload_id, len(parts) + 1, pending))
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        except BaseException:
            if upload_id is not None:
                await asyncio.shield(
                    s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                )
            raise
        return written

    async def _part(
        self, s3: S3Client, key: str, upload_id: str, number: int, pending: list[bytes]
    ) -> dict[str, Any]:
        """Upload the chunks as part ``number`` and empty the list: one part is held once
        (joined) while it is sent, and let go as soon as it has been."""
        body = b"".join(pending)
        pending.clear()
        # A file object, not bytes: aiohttp then sends it in small pieces as the socket takes
        # them, where bytes would be copied whole into the transport's write buffer.
        uploaded = await s3.upload_part(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=io.BytesIO(body),
        )
        return {"ETag": uploaded["ETag"], "PartNumber": number}

    async def move(self, source: str, target: str) -> None:
        s3 = await self._s3()
        if not await self.exists(target):
            size = await self._size(s3, source)
            if size <= _COPY_LIMIT:
                await s3.copy_object(
                    Bucket=self.bucket,
                    Key=target,
                    CopySource={"Bucket": self.bucket, "Key": source},
                )
            else:
                await self._copy_in_parts(s3, source, target, size)
        await self.delete(source)

    async def _size(self, s3: S3Client, key: str) -> int:
        try:
            head = await s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise ObjectMissing(key) from None
            raise
        return head["ContentLength"]

    async def _copy_in_parts(self, s3: S3Client, source: str, target: str, size: int) -> None:
        created = await s3.create_multipart_upload(Bucket=self.bucket, Key=target)
        upload_id = created["UploadId"]
        step = _COPY_LIMIT
        parts: list[dict[str, Any]] = []
        try:
            for number, start in enumerate(range(0, size, step), start=1):
                end = min(start + step, size) - 1
                copied = await s3.upload_part_copy(
                    Bucket=self.bucket,
                    Key=target,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self.bucket, "Key": source},
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"ETag": copied["CopyPartResult"]["ETag"], "PartNumber": number})
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=target,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        except BaseException:
            await asyncio.shield(
                s3.abort_multipart_upload(Bucket=self.bucket, Key=target, UploadId=upload_id)
            )
            raise

    async def read(self, key: str, *, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        s3 = await self._s3()
        try:
            got = await s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise ObjectMissing(key) from None
            raise
        body = got["Body"]
        try:
            async for chunk in body.iter_chunks(chunk_size):
                yield chunk
        finally:
            body.close()

    async def exists(self, key: str) -> bool:
        try:
            await self._size(await self._s3(), key)
        except ObjectMissing:
            return False
        return True

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=key)

    async def presigned_url(
        self, key: str, *, file_name: str, content_type: str, expires_in: timedelta
    ) -> str | None:
        s3 = await self._s3()
        return await s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": attachment(file_name),
                "ResponseContentType": served_type(content_type),
            },
            ExpiresIn=int(expires_in.total_seconds()),
        )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
