"""The public signing page's API (``/sign/<recipient id>?t=<token>`` in the web app): no
sign-in, the token of the recipient's signing link authorises their part of one envelope.
The token travels in the ``X-Signing-Token`` header, never in an API path or query, so no
access log or proxy records it. See services/esignature/signing.py and docs/esignature/
signing.md."""

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import EmailDep, SessionDep, SettingsDep, StorageDep
from api.errors import app_problem
from api.openapi import errors
from api.routes.auth import client_address
from api.schemas.signing import (
    CodeSentRead,
    CodeVerify,
    ConsentCreate,
    DeclineCreate,
    SignCreate,
    SigningViewRead,
)
from core.errors import NotFound, Unprocessable
from services.esignature import signing, signing_codes, signing_submit
from services.esignature.pages import UnreadablePdf
from services.esignature.signature_images import BadSignatureImage
from services.esignature.signing import (
    CodeRequired,
    ConsentRequired,
    EnvelopeClosed,
    NotYourTurn,
    RecipientDone,
)
from services.esignature.signing_codes import (
    CodeNotNeeded,
    CodeThrottled,
    CodeUsedUp,
    CountedCodeFailure,
    NoCode,
    WrongCode,
)
from services.esignature.signing_links import (
    SigningLinkExpired,
    SigningLinkInvalid,
    SigningLinksUnavailable,
)

router = APIRouter(prefix="/signing")

SigningToken = Annotated[
    str | None,
    Header(
        alias="X-Signing-Token",
        description="The ``t`` of the signing link (/sign/<recipient id>?t=<token>).",
    ),
]
# Every route refuses a link that is not valid (403), has expired or whose envelope is no
# longer out for signature (410).
_LINK = (SigningLinkInvalid, SigningLinkExpired, EnvelopeClosed)
PNG = "image/png"


def _visitor(request: Request) -> signing.Visitor:
    return signing.Visitor(
        ip_address=client_address(request), user_agent=request.headers.get("user-agent")
    )


@router.get("/{recipient_id}", responses=errors(*_LINK))
async def read_signing(
    recipient_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: SigningToken = None,
) -> SigningViewRead:
    """The recipient's part of the envelope: the documents' layout, their fields, the
    disclosure, and what they still have to do. The first opening records ``viewed``."""
    view = await signing.view(session, settings, recipient_id, token, _visitor(request))
    return SigningViewRead.of(view)


@router.get(
    "/{recipient_id}/documents/{envelope_document_id}/pages/{page}",
    response_class=Response,
    responses={
        200: {"content": {PNG: {"schema": {"type": "string", "format": "binary"}}}},
        **errors(*_LINK, ConsentRequired, CodeRequired, NotFound, UnreadablePdf),
    },
)
async def read_signing_page(
    recipient_id: uuid.UUID,
    envelope_document_id: uuid.UUID,
    page: int,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    token: SigningToken = None,
    width: Annotated[int, Query(ge=200, le=1600, description="Pixels wide.")] = 800,
) -> Response:
    """A page of one of the envelope's documents as PNG, after consent (and the code when
    one is asked for). The version sent for signature, whatever was uploaded since."""
    png = await signing.page_png(
        session,
        storage,
        settings,
        recipient_id,
        token,
        envelope_document_id=envelope_document_id,
        page=page,
        width_px=width,
    )
    return Response(png, media_type=PNG, headers={"Cache-Control": "private, no-store"})


@router.post("/{recipient_id}/consent", responses=errors(*_LINK, RecipientDone))
async def consent_to_sign(
    recipient_id: uuid.UUID,
    body: ConsentCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: SigningToken = None,
) -> SigningViewRead:
    """Consent to sign electronically under the disclosure shown (recorded once, with the
    disclosure's version, the address and the browser)."""
    view = await signing.consent(session, settings, recipient_id, token, _visitor(request))
    return SigningViewRead.of(view)


@router.post(
    "/{recipient_id}/code",
    status_code=202,
    responses=errors(*_LINK, RecipientDone, CodeNotNeeded, CodeThrottled, SigningLinksUnavailable),
)
async def send_signing_code(
    recipient_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: EmailDep,
    background: BackgroundTasks,
    token: SigningToken = None,
) -> CodeSentRead:
    """Email the recipient a six-digit code, good for 10 minutes (a new one replaces the
    last). At most one a minute, fewer after five (429 with Retry-After)."""
    sent = await signing_codes.send_code(session, settings, recipient_id, token, _visitor(request))
    # Sent after the response, once the code's hash is committed.
    background.add_task(signing_codes.deliver, email, sent.message)
    return CodeSentRead(sent_to=sent.sent_to, expires_at=sent.expires_at)


@router.post(
    "/{recipient_id}/code/verify",
    response_model=SigningViewRead,
    responses=errors(*_LINK, RecipientDone, CodeNotNeeded, NoCode, WrongCode, CodeUsedUp),
)
async def verify_signing_code(
    recipient_id: uuid.UUID,
    body: CodeVerify,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: SigningToken = None,
) -> SigningViewRead | JSONResponse:
    """Verify the emailed code. A wrong one is a 422 saying how many tries are left; the
    fifth wrong one uses the code up (429): ask for a new one."""
    try:
        view = await signing_codes.verify_code(
            session, settings, recipient_id, token, _visitor(request), code=body.code
        )
    except CountedCodeFailure as refused:
        # Answered, not raised: the session commits and the wrong try stays counted.
        return app_problem(refused, request)
    return SigningViewRead.of(view)


@router.post(
    "/{recipient_id}/sign",
    responses=errors(
        *_LINK,
        RecipientDone,
        NotYourTurn,
        ConsentRequired,
        CodeRequired,
        Unprocessable,
        BadSignatureImage,
    ),
)
async def sign_envelope(
    recipient_id: uuid.UUID,
    body: SignCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: SigningToken = None,
) -> SigningViewRead:
    """Fill the recipient's fields and sign (an approver approves). 422 with a pointer per
    problem; 409 before their group's turn or once answered."""
    view = await signing_submit.sign(
        session, settings, recipient_id, token, _visitor(request), fields=body
    )
    return SigningViewRead.of(view)


@router.post(
    "/{recipient_id}/decline",
    responses=errors(*_LINK, RecipientDone, CodeRequired, Unprocessable),
)
async def decline_envelope(
    recipient_id: uuid.UUID,
    body: DeclineCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: SigningToken = None,
) -> SigningViewRead:
    """Decline to sign, with a reason the sender sees; the envelope ends as declined."""
    view = await signing.decline(
        session, settings, recipient_id, token, _visitor(request), reason=body.reason
    )
    return SigningViewRead.of(view)
