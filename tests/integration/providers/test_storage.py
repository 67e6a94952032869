"""Both storage providers against the real thing: a directory, and an S3-protocol server on
loopback (moto_server, tests/fixtures/storage.py). Large files stream through each with
bounded memory, and S3 writes them as multipart uploads."""

import hashlib
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from providers.storage import ObjectMissing, Storage
from providers.storage_filesystem import FilesystemStorage
from providers.storage_s3 import PART_SIZE, S3Storage
from tests.fixtures.storage import MotoServer

MIB = 1024 * 1024
LARGE = 64 * MIB
# Far below the 64 MiB file: a provider that held the file, or even half of it, fails.
MEMORY_BOUND = 32 * MIB


@pytest.fixture(params=["filesystem", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, moto_server: MotoServer
) -> AsyncIterator[Storage]:
    if request.param == "filesystem":
        yield FilesystemStorage(tmp_path / "files")
        return
    s3 = moto_server.storage(moto_server.create_bucket())
    yield s3
    await s3.aclose()


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def generated(size: int, digest: "hashlib._Hash", *, fail_after: int | None = None):  # type: ignore[no-untyped-def]
    """``size`` bytes made a MiB at a time (each MiB different), hashed into ``digest``."""
    block = hashlib.sha256(b"seed").digest() * (MIB // 32)
    for number in range(size // MIB):
        if fail_after is not None and number * MIB >= fail_after:
            raise RuntimeError("the client went away")
        chunk = number.to_bytes(8, "big") + block[8:]
        digest.update(chunk)
        yield chunk


async def read_all(storage: Storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key)])


async def test_write_read_exists_delete(storage: Storage) -> None:
    key = "firms/a/blobs/one"
    assert not await storage.exists(key)
    written = await storage.write(key, chunks_of(b"hello ", b"", b"world"))
    assert written == 11
    assert await storage.exists(key)
    assert await read_all(storage, key) == b"hello world"
    # Replacing: the object is the new bytes, not a mix.
    await storage.write(key, chunks_of(b"bye"))
    assert await read_all(storage, key) == b"bye"
    await storage.delete(key)
    assert not await storage.exists(key)
    # Deleting what is not there is not an error.
    await storage.delete(key)


async def test_reading_a_missing_object_is_object_missing(storage: Storage) -> None:
    with pytest.raises(ObjectMissing):
        await read_all(storage, "firms/a/blobs/none")


async def test_an_empty_object(storage: Storage) -> None:
    assert await storage.write("firms/a/empty", chunks_of()) == 0
    assert await storage.exists("firms/a/empty")
    assert await read_all(storage, "firms/a/empty") == b""


async def test_move_renames_and_keeps_an_existing_target(storage: Storage) -> None:
    await storage.write("firms/a/uploads/t1", chunks_of(b"content"))
    await storage.move("firms/a/uploads/t1", "firms/a/blobs/sha")
    assert not await storage.exists("firms/a/uploads/t1")
    assert await read_all(storage, "firms/a/blobs/sha") == b"content"

    # The same content-addressed bytes again: the target stays, the source goes.
    await storage.write("firms/a/uploads/t2", chunks_of(b"content"))
    await storage.move("firms/a/uploads/t2", "firms/a/blobs/sha")
    assert not await storage.exists("firms/a/uploads/t2")
    assert await read_all(storage, "firms/a/blobs/sha") == b"content"


async def test_moving_a_missing_object_is_object_missing(storage: Storage) -> None:
    with pytest.raises(ObjectMissing):
        await storage.move("firms/a/uploads/none", "firms/a/blobs/other")


async def test_a_failed_write_leaves_nothing(storage: Storage, moto_server: MotoServer) -> None:
    digest = hashlib.sha256()
    with pytest.raises(RuntimeError, match="went away"):
        await storage.write("firms/a/broken", generated(40 * MIB, digest, fail_after=20 * MIB))
    assert not await storage.exists("firms/a/broken")
    if isinstance(storage, S3Storage):
        # The multipart upload was aborted: no invisible parts left to pay for.
        uploads = moto_server.s3().list_multipart_uploads(Bucket=storage.bucket)
        assert uploads.get("Uploads", []) == []
    else:
        assert isinstance(storage, FilesystemStorage)
        assert [p for p in storage.root.rglob("*") if p.is_file()] == []


async def test_a_large_file_streams_in_and_out_with_bounded_memory(
    storage: Storage, moto_server: MotoServer
) -> None:
    key = "firms/a/blobs/large"
    written_digest = hashlib.sha256()
    # Once per process, not per file: botocore loads S3's service model on first use.
    await storage.write("firms/a/warm", chunks_of(b"warm"))
    tracemalloc.start()
    try:
        written = await storage.write(key, generated(LARGE, written_digest))
        _, peak_in = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        read_digest = hashlib.sha256()
        size = 0
        async for chunk in storage.read(key):
            read_digest.update(chunk)
            size += len(chunk)
        _, peak_out = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == size == LARGE
    assert read_digest.hexdigest() == written_digest.hexdigest()
    assert peak_in < MEMORY_BOUND, f"writing held {peak_in / MIB:.1f} MiB"
    assert peak_out < MEMORY_BOUND, f"reading held {peak_out / MIB:.1f} MiB"
    if isinstance(storage, S3Storage):
        # A multipart upload's ETag ends in its number of parts.
        head = moto_server.s3().head_object(Bucket=storage.bucket, Key=key)
        assert head["ETag"].strip('"').endswith(f"-{LARGE // PART_SIZE}")


async def test_a_write_under_one_part_is_a_single_put(
    s3_storage: S3Storage, moto_server: MotoServer
) -> None:
    await s3_storage.write("firms/a/small", chunks_of(b"x" * 1000))
    head = moto_server.s3().head_object(Bucket=s3_storage.bucket, Key="firms/a/small")
    assert "-" not in head["ETag"]


async def test_the_filesystem_refuses_keys_outside_its_root(fs_storage: FilesystemStorage) -> None:
    for key in ("../escape", "/etc/passwd", "firms/../../x", "firms//x", ""):
        with pytest.raises(ValueError, match="not a storage key"):
            await fs_storage.write(key, chunks_of(b"x"))
    assert (
        await fs_storage.presigned_url(
            "firms/a", file_name="a.pdf", content_type="application/pdf", expires_in=timedelta(60)
        )
        is None
    )


async def test_the_s3_presigned_url_answers_as_an_attachment(s3_storage: S3Storage) -> None:
    await s3_storage.write("firms/a/blobs/page", chunks_of(b"<html><script>x</script>"))
    url = await s3_storage.presigned_url(
        "firms/a/blobs/page",
        file_name='evil"\r\nX-Injected: 1.html',
        content_type="text/html",
        expires_in=timedelta(minutes=5),
    )
    assert url is not None
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == b"<html><script>x</script>"
    assert response.headers["content-type"] == "application/octet-stream"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''evil%22__X-Injected%3A%201.html" in disposition
    assert "x-injected" not in response.headers

    # A URL whose signature does not match (another key) opens nothing.
    async with httpx.AsyncClient() as http:
        forged = await http.get(url.replace("firms/a/blobs/page", "firms/b/blobs/page"))
    assert forged.status_code == 403


async def test_the_settings_choose_the_provider(tmp_path: Path, moto_server: MotoServer) -> None:
    from core.config import Settings
    from providers.storage_backends import build_storage
    from tests.fixtures.storage import ACCESS_KEY, REGION, SECRET_KEY

    local = build_storage(Settings(data_dir=tmp_path, _env_file=None))
    assert isinstance(local, FilesystemStorage) and local.root == tmp_path / "files"
    bucket = moto_server.create_bucket()
    remote = build_storage(
        Settings(
            storage_backend="s3",
            s3_bucket=bucket,
            s3_endpoint_url=moto_server.endpoint_url,
            s3_region=REGION,
            s3_access_key_id=ACCESS_KEY,
            s3_secret_access_key=SECRET_KEY,
            s3_addressing_style="path",
            _env_file=None,
        )
    )
    assert isinstance(remote, S3Storage) and remote.bucket == bucket
    await remote.write("firms/a/x", chunks_of(b"via settings"))
    assert await read_all(remote, "firms/a/x") == b"via settings"
    await remote.aclose()
    with pytest.raises(RuntimeError, match="FIRMFLOW_S3_BUCKET"):
        build_storage(Settings(storage_backend="s3", _env_file=None))
