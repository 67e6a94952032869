"""``GET /v1/files/{token}``: a valid link downloads the file as an attachment with the
headers that keep it from running in our origin; a tampered, foreign, forged or expired one
is refused; a missing file is a 404; and Content-Disposition survives every file name."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.content_disposition import attachment, clean_file_name
from core.db import scope_to_firm
from core.security import derive_key
from core.signed_urls import FileGrant, FileLinks, FileLinksUnavailable
from models import DocumentBlob
from providers.storage_filesystem import FilesystemStorage
from providers.storage_s3 import S3Storage
from services.documents.blobs import download_link, store_upload
from tests.factories import Actor, make_firm
from tests.problems import assert_problem

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n" + bytes(300_000)
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


async def chunks(data: bytes):  # type: ignore[no-untyped-def]
    for start in range(0, len(data), 65536):
        yield data[start : start + 65536]


async def stored(
    db: AsyncSession, storage: FilesystemStorage, actor: Actor, data: bytes = PDF
) -> DocumentBlob:
    await scope_to_firm(db, actor.firm.id)
    return await store_upload(db, storage, actor.firm, chunks(data), declared_name="f")


def path_of(url: str, settings: Settings) -> str:
    assert url.startswith(f"{settings.public_url}/v1/files/")
    return url.removeprefix(settings.public_url)


async def link(
    settings: Settings, storage: FilesystemStorage, blob: DocumentBlob, name: str = "Return.pdf"
) -> str:
    signed = await download_link(storage, settings, blob, file_name=name, firm_id=blob.firm_id)
    assert signed.expires_at > datetime.now(UTC)
    return path_of(signed.url, settings)


async def test_a_valid_link_downloads_the_file_as_an_attachment(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    owner: Actor,
    settings: Settings,
) -> None:
    blob = await stored(db, storage, owner)
    response = await api.get(await link(settings, storage, blob, "Steuererklärung 2026.pdf"))
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        'attachment; filename="Steuererkl_rung 2026.pdf"; '
        "filename*=UTF-8''Steuererkl%C3%A4rung%202026.pdf"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"
    assert response.headers["cache-control"] == "private, no-store"
    # No session was needed: the token is the credential.
    assert "authorization" not in response.request.headers


async def test_html_is_never_served_as_html(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    owner: Actor,
    settings: Settings,
) -> None:
    blob = await stored(db, storage, owner, HTML)
    assert blob.content_type == "text/html"
    response = await api.get(await link(settings, storage, blob, "page.html"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-security-policy"] == "sandbox"


def tampered(token: str, **changes: object) -> str:
    """The token with its payload changed and its signature kept."""
    payload, signature = token.rsplit(".", 1)
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + signature


async def test_a_tampered_link_is_403(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    owner: Actor,
    settings: Settings,
) -> None:
    blob = await stored(db, storage, owner)
    path = await link(settings, storage, blob)
    token = path.removeprefix("/v1/files/")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    later = int((datetime.now(UTC) + timedelta(days=365)).timestamp())
    for bad in (
        flipped,
        tampered(token, n="other.html", t="text/html"),
        tampered(token, e=later),
        token.split(".")[0],
        "not-a-token",
        token + ".extra",
    ):
        body = assert_problem(await api.get(f"/v1/files/{bad}"), 403)
        assert body["title"] == "Invalid download link"
        assert body["type"].endswith("file-link-invalid")
    # Longer than any token: names nothing, refused before any work.
    assert_problem(await api.get("/v1/files/" + "a" * 5000), 404)


async def test_another_firms_file_cannot_be_reached(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    owner: Actor,
    settings: Settings,
) -> None:
    other = await make_firm(db, "Other Firm")
    theirs = await stored(db, storage, other)
    mine = await stored(db, storage, owner, b"my own text file\n")
    token = (await link(settings, storage, mine)).removeprefix("/v1/files/")
    # My link pointed at their blob, or claiming their firm: the signature no longer holds.
    for bad in (
        tampered(token, k=theirs.storage_key),
        tampered(token, f=str(other.firm.id), k=theirs.storage_key),
    ):
        assert_problem(await api.get(f"/v1/files/{bad}"), 403)
    # A token signed with any key but the server's (a forger's own) is refused too.
    forger = FileLinks((derive_key("a key the forger made up", "firmflow file link v1"),))
    forged = forger.issue(
        FileGrant(
            firm_id=other.firm.id,
            key=theirs.storage_key,
            file_name="theirs.pdf",
            content_type="application/pdf",
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
        )
    )
    assert_problem(await api.get(f"/v1/files/{forged}"), 403)


async def test_an_expired_link_is_410(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    owner: Actor,
    settings: Settings,
) -> None:
    blob = await stored(db, storage, owner)
    expired = FileLinks.from_settings(settings).issue(
        FileGrant(
            firm_id=owner.firm.id,
            key=blob.storage_key,
            file_name="old.pdf",
            content_type=blob.content_type,
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    )
    body = assert_problem(await api.get(f"/v1/files/{expired}"), 410)
    assert body["title"] == "Download link expired"
    assert body["type"].endswith("file-link-expired")


async def test_a_link_to_a_deleted_file_is_404(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    owner: Actor,
    settings: Settings,
) -> None:
    blob = await stored(db, storage, owner)
    path = await link(settings, storage, blob)
    await storage.delete(blob.storage_key)
    body = assert_problem(await api.get(path), 404)
    assert body["title"] == "File not found"


async def test_a_server_without_a_key_signs_no_link() -> None:
    with pytest.raises(FileLinksUnavailable):
        FileLinks(()).issue(
            FileGrant(
                uuid.uuid4(), "firms/x/blobs/y", "a.pdf", "application/pdf", datetime.now(UTC)
            )
        )


async def test_s3_links_are_its_own_presigned_urls(
    db: AsyncSession, s3_storage: S3Storage, owner: Actor, settings: Settings
) -> None:
    await scope_to_firm(db, owner.firm.id)
    blob = await store_upload(db, s3_storage, owner.firm, chunks(PDF), declared_name="a.pdf")
    signed = await download_link(
        s3_storage, settings, blob, file_name="a.pdf", firm_id=owner.firm.id
    )
    assert "/v1/files/" not in signed.url
    assert "response-content-disposition=attachment" in signed.url
    async with AsyncClient() as http:
        response = await http.get(signed.url)
    assert response.status_code == 200
    assert response.content == PDF
    with pytest.raises(ValueError, match="another firm"):
        await download_link(s3_storage, settings, blob, file_name="a.pdf", firm_id=uuid.uuid4())


NASTY_NAMES = [
    'quote".pdf',
    "back\\slash.pdf",
    "new\r\nline: injected.pdf",
    "tab\there.pdf",
    "../../etc/passwd",
    "C:\\Windows\\system32\\evil.exe",
    "semi;colon=1.pdf",
    "percent%20encoded%0d%0a.pdf",
    "日本語の書類.pdf",
    "emoji 📄 file.pdf",
    "zero\u200bwidth\u202eright-to-left.pdf",
    "",
    "   ",
    "...",
    "x" * 400 + ".pdf",
]


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_content_disposition_is_safe_for_every_name(name: str) -> None:
    header = attachment(name)
    # One header line, ASCII only (what HTTP headers may carry), always an attachment.
    assert header.isascii()
    assert not any(ch in header for ch in "\r\n\t\x00")
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="', 1)[1].split('"; filename*=', 1)[0]
    assert '"' not in fallback and "\\" not in fallback and "/" not in fallback
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert all(ch.isalnum() or ch in "!#$&+-.^_`|~%" for ch in encoded)
    decoded = unquote(encoded)
    assert decoded == clean_file_name(name)
    # What a browser would save: no directory, no control character, not hidden, not empty.
    assert decoded and "/" not in decoded and "\\" not in decoded
    assert not decoded.startswith(".")
    assert all(ch.isprintable() or ch == " " for ch in decoded)
    assert len(decoded) <= 255


async def test_a_nasty_name_through_the_route(
    api: AsyncClient,
    db: AsyncSession,
    storage: FilesystemStorage,
    owner: Actor,
    settings: Settings,
) -> None:
    blob = await stored(db, storage, owner)
    response = await api.get(await link(settings, storage, blob, 'a"\r\nSet-Cookie: x=1/..\\b.pdf'))
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert response.headers["content-disposition"] == (
        'attachment; filename="a___Set-Cookie: x=1_.._b.pdf"; '
        "filename*=UTF-8''a%22__Set-Cookie%3A%20x%3D1_.._b.pdf"
    )
