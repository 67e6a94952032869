"""``GET /v1/files/{token}``: a stored file through a signed, short-lived link
(core.signed_urls), for the storage providers that have no presigned URL of their own (the
filesystem). Public: the token is the credential, issued (and audited) by an authorised
``download-link`` request, and it names the one object and firm it opens.

The answer streams from storage chunk by chunk, always as an attachment
(core.content_disposition), with ``nosniff`` and ``Content-Security-Policy: sandbox`` so that
no file (an uploaded HTML page, an SVG) ever runs as a page of this origin. A token that is
not ours is a 403, one of ours that has expired a 410. The token is a path parameter named
``token``, which the access log masks."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse

from api.deps import SettingsDep, StorageDep
from api.openapi import errors
from core.content_disposition import attachment, served_type
from core.errors import NotFound
from core.signed_urls import MAX_TOKEN, FileLinkExpired, FileLinkInvalid, FileLinks
from providers.storage import ObjectMissing

router = APIRouter()

Token = Annotated[
    str,
    Path(
        max_length=MAX_TOKEN,
        description="The signed token of a download link (POST …/download-link).",
    ),
]


class FileGone(NotFound):
    title = "File not found"
    slug = "file-not-found"


async def _rest(first: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in chunks:
        yield chunk


@router.get(
    "/files/{token}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The file's bytes, as an attachment.",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
        **errors(FileLinkInvalid, FileLinkExpired, FileGone),
    },
)
async def download_file(
    token: Token, settings: SettingsDep, storage: StorageDep
) -> StreamingResponse:
    """Download the file a signed link names (a filesystem-stored document version)."""
    grant = FileLinks.from_settings(settings).verify(token, now=datetime.now(UTC))
    chunks = aiter(storage.read(grant.key))
    # The first chunk before the answer starts: a missing object is still a problem answer.
    try:
        first = await anext(chunks, b"")
    except ObjectMissing:
        raise FileGone("The file this link names is no longer stored") from None
    headers = {
        "Content-Disposition": attachment(grant.file_name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
    }
    return StreamingResponse(
        _rest(first, chunks), media_type=served_type(grant.content_type), headers=headers
    )
