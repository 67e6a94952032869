"""``POST /v1/signatures/verify``: the public verifier (also the web app's /verify page).
Anyone may upload a PDF of at most 50 MB and learn whether it is an intact
firmflow-sealed document, from which envelope, and who signed it when
(services/esignature/verification.py). A file that is no PDF, or a damaged one, is
answered 200 with ``sealed: false`` and a problem in plain words: the verifier's question
("is this a sealed firmflow document?") has an answer for it. Throttled per client
address."""

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request

from api.deps import DeclaredBodyLimit, SessionDep
from api.multipart import StreamedForm, multipart_body
from api.openapi import errors
from api.routes.auth import client_address
from api.schemas.signatures import VerificationRead
from core.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from services.esignature import verification
from services.esignature.verification import MAX_UPLOAD_BYTES, TooManyVerifications

router = APIRouter()

# The multipart envelope around the file: its boundaries and part headers.
_FORM_OVERHEAD = 64 * 1024


async def read_upload(chunks: AsyncIterator[bytes], limit: int, *, what: str) -> bytes:
    """A streamed file part, whole, or a 413 once it passes ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"{what} may be at most {limit // (1024 * 1024) or 1} MB")
        parts.append(chunk)
    return b"".join(parts)


@router.post(
    "/signatures/verify",
    openapi_extra=multipart_body({}, "The PDF to verify (at most 50 MB)."),
    responses=errors(
        BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType, TooManyVerifications
    ),
    dependencies=[
        DeclaredBodyLimit(MAX_UPLOAD_BYTES + _FORM_OVERHEAD, detail="The PDF may be at most 50 MB")
    ],
)
async def verify_signature(request: Request, session: SessionDep) -> VerificationRead:
    """Whether the uploaded PDF is an intact firmflow-sealed document: its seal checked by
    pyHanko (not a byte changed, nothing appended, made with a firmflow key), the envelope
    it came from and, for an intact copy, who signed it when. No sign-in; at most 100
    verifications per client address in 15 minutes (429 with Retry-After beyond)."""
    await verification.count_request(session, client_address(request))
    form = StreamedForm(request)
    await form.open()
    data = await read_upload(form.file_chunks(), MAX_UPLOAD_BYTES, what="The PDF")
    await form.rest()
    result = await verification.verify_pdf(session, data)
    return VerificationRead.model_validate(result)
