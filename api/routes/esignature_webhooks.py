"""The endpoints DocuSign Connect and Dropbox Sign deliver a firm's envelope events to.
Public: the provider's signature, made with the firm's connection's secret, is the
credential (services/esignature/provider_webhooks.py)."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from api.deps import CipherDep, EsignatureHttpDep, IngestSessionDep, WebhookBody
from api.openapi import errors
from api.schemas.esignature_providers import ProviderWebhookReceipt
from core.crypto import EncryptionUnavailable
from providers.esignature import EsignatureProviderUnavailable, WebhookRejected
from providers.esignature_dropbox_sign import ACKNOWLEDGEMENT
from services.esignature import provider_webhooks
from services.esignature.provider_webhooks import UnknownWebhookEndpoint

router = APIRouter(prefix="/esignature/webhooks")


def _delivery(media_type: str, description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": {"type": "object"}}},
            "description": description,
        }
    }


@router.post(
    "/docusign/{firm_id}",
    openapi_extra=_delivery(
        "application/json",
        "A DocuSign Connect event (JSON), signed in X-DocuSign-Signature-1..N",
    ),
    responses=errors(WebhookRejected, UnknownWebhookEndpoint, EncryptionUnavailable),
)
async def receive_docusign(
    firm_id: str,
    request: Request,
    session: IngestSessionDep,
    cipher: CipherDep,
    body: WebhookBody,
    pool: EsignatureHttpDep,
) -> ProviderWebhookReceipt:
    """DocuSign Connect's deliveries for one firm: 200 once applied (a duplicate is
    answered 200 and changes nothing); 400 for a forged, stale or malformed delivery."""
    receipt = await provider_webhooks.receive(
        session,
        cipher,
        "docusign",
        firm_id,
        headers=request.headers,
        body=body,
        now=datetime.now(UTC),
        pool=pool,
    )
    return ProviderWebhookReceipt(events=receipt.events, applied=receipt.applied)


@router.post(
    "/dropbox-sign/{firm_id}",
    openapi_extra=_delivery(
        "multipart/form-data", "A Dropbox Sign callback: its event in the form field json"
    ),
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string", "const": ACKNOWLEDGEMENT}}}},
        **errors(
            WebhookRejected,
            UnknownWebhookEndpoint,
            EncryptionUnavailable,
            EsignatureProviderUnavailable,
        ),
    },
)
async def receive_dropbox_sign(
    firm_id: str,
    request: Request,
    session: IngestSessionDep,
    cipher: CipherDep,
    body: WebhookBody,
    pool: EsignatureHttpDep,
) -> PlainTextResponse:
    """Dropbox Sign's callbacks for one firm, answered with the text Dropbox Sign expects
    ("Hello API Event Received"); 400 for a forged, stale or malformed callback, or one
    whose event Dropbox Sign's API does not confirm (it is redelivered); 502 when that API
    cannot be reached."""
    await provider_webhooks.receive(
        session,
        cipher,
        "dropbox_sign",
        firm_id,
        headers=request.headers,
        body=body,
        now=datetime.now(UTC),
        pool=pool,
    )
    return PlainTextResponse(ACKNOWLEDGEMENT)
