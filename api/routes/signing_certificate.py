"""The firm's own sealing certificate: read which certificate seals the firm's envelopes,
upload a PKCS#12 bundle (certificate and private key) to seal with it, or remove it to go
back to the platform's. The key is stored encrypted and never returned
(services/esignature/sealing_keys.py)."""

from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from api.deps import CipherDep, DeclaredBodyLimit, Requires, SessionDep
from api.multipart import StreamedForm, multipart_body
from api.openapi import errors
from api.routes.signature_verification import read_upload
from api.schemas.signatures import SigningCertificateRead
from core.crypto import EncryptionUnavailable
from core.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from core.permissions import Permission
from core.principal import Principal
from services.esignature import sealing_keys
from services.esignature.sealing_keys import (
    MAX_PKCS12_BYTES,
    CertificateSummary,
    InvalidCertificate,
    NoSealingKey,
)

router = APIRouter(prefix="/firm/signing-certificate")

Manager = Annotated[Principal, Requires(Permission.esignature_manage)]

_UPLOAD_BODY = multipart_body(
    {"passphrase": {"type": "string", "maxLength": 1024}},
    "The PKCS#12 bundle (.p12 or .pfx: the certificate and its private key, at most 64 KB) "
    "and the passphrase that opens it.",
)


def _read(summary: CertificateSummary, *, own: bool) -> SigningCertificateRead:
    return SigningCertificateRead(
        source="firm" if own else "platform",
        subject=summary.subject,
        issuer=summary.issuer,
        fingerprint=summary.fingerprint,
        not_after=summary.not_after,
    )


@router.get("", responses=errors(NoSealingKey))
async def get_signing_certificate(
    principal: Manager, session: SessionDep
) -> SigningCertificateRead:
    """The certificate that seals the firm's envelopes: the firm's own, or the platform's
    (``source``)."""
    summary, own = await sealing_keys.firm_certificate(session, principal)
    return _read(summary, own=own)


@router.put(
    "",
    openapi_extra=_UPLOAD_BODY,
    responses=errors(
        BadRequest,
        PayloadTooLarge,
        Unprocessable,
        UnsupportedMediaType,
        InvalidCertificate,
        EncryptionUnavailable,
    ),
    dependencies=[DeclaredBodyLimit(MAX_PKCS12_BYTES + 8192, detail="The bundle is too large")],
)
async def put_signing_certificate(
    request: Request, principal: Manager, session: SessionDep, cipher: CipherDep
) -> SigningCertificateRead:
    """Seal the firm's next envelopes with its own certificate. The bundle must open with
    the passphrase, hold the certificate's private key (RSA or EC), be valid now and allow
    digital signatures; otherwise 422. Audited; the key is stored encrypted."""
    form = StreamedForm(request)
    await form.open()
    data = await read_upload(form.file_chunks(), MAX_PKCS12_BYTES, what="The bundle")
    passphrase = (await form.rest()).get("passphrase", [""])[-1]
    summary = await sealing_keys.set_firm_certificate(
        session, principal, cipher, data=data, passphrase=passphrase
    )
    return _read(summary, own=True)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def delete_signing_certificate(principal: Manager, session: SessionDep) -> Response:
    """Remove the firm's certificate and key: the platform's seals its next envelopes.
    Documents sealed before stay verifiable. Audited."""
    await sealing_keys.remove_firm_certificate(session, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
