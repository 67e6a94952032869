"""Inbound webhooks: each automation's secret URL that starts a run, and its management.

They were first called hooks; those paths (``/automations/{id}/hook``, ``/hooks/{token}``)
still answer, marked deprecated, and a URL is still issued under ``/v1/hooks/`` so the
URLs senders hold keep one form. The token and the signing secret are in the creation (or
rotation) answer only; nothing else ever returns them. See
services/automations/inbound_webhooks.py for the verification."""

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Request, status

from api.deps import (
    CipherDep,
    IngestSessionDep,
    Requires,
    SessionDep,
    SettingsDep,
    WebhookBody,
)
from api.openapi import errors
from api.schemas.inbound_webhooks import (
    InboundWebhookCreate,
    InboundWebhookIssued,
    InboundWebhookRead,
    RunAccepted,
)
from core.errors import Conflict, UnsupportedMediaType
from core.permissions import Permission
from core.principal import Principal
from services.automations import inbound_webhooks
from services.automations.inbound_webhooks import InvalidPayload, SignatureRefused

router = APIRouter()

Writer = Annotated[Principal, Requires(Permission.automations_write)]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

MANAGE = "/automations/{automation_id}/inbound-webhook"
DELIVER = "/inbound-webhooks/{token}"
# The first names of the same routes, kept for the clients and senders that use them.
OLD_MANAGE = "/automations/{automation_id}/hook"
OLD_DELIVER = "/hooks/{token}"


def route(method: str, path: str, old_path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
    """Serve the endpoint at ``path``, and at ``old_path`` marked deprecated."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(path, endpoint, methods=[method], **options)
        router.add_api_route(old_path, endpoint, methods=[method], deprecated=True, **options)
        return endpoint

    return register


@route("POST", MANAGE, OLD_MANAGE, status_code=status.HTTP_201_CREATED, responses=errors(Conflict))
async def issue_inbound_webhook(
    automation_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    cipher: CipherDep,
    body: InboundWebhookCreate | None = None,
) -> InboundWebhookIssued:
    """Create the automation's inbound URL, or rotate it if it has one: the old URL stops
    working at once. The answer is the only place the URL and the secret ever appear."""
    issued = await inbound_webhooks.issue_inbound_webhook(
        session,
        principal,
        cipher,
        automation_id,
        signing=(body or InboundWebhookCreate()).signing,
    )
    public_url = settings.public_url.rstrip("/")
    return InboundWebhookIssued(
        url=f"{public_url}/v1{OLD_DELIVER.format(token=issued.token)}",
        token_prefix=issued.inbound_webhook.token_prefix,
        signing_secret=issued.signing_secret,
    )


@route("GET", MANAGE, OLD_MANAGE)
async def get_inbound_webhook(
    automation_id: uuid.UUID, principal: Writer, session: SessionDep
) -> InboundWebhookRead:
    """Whether the automation has an inbound URL, and how it is protected."""
    found = await inbound_webhooks.get_inbound_webhook(session, principal, automation_id)
    return InboundWebhookRead.of(found)


@route("DELETE", MANAGE, OLD_MANAGE, status_code=status.HTTP_204_NO_CONTENT)
async def delete_inbound_webhook(
    automation_id: uuid.UUID, principal: Writer, session: SessionDep
) -> None:
    """Remove the inbound URL; requests to it are a 404 from then on."""
    await inbound_webhooks.delete_inbound_webhook(session, principal, automation_id)


_DELIVERY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": {}}},
        "description": "Any JSON value (an empty body is {}); it becomes the run's trigger.",
    },
    "parameters": [
        {"name": name, "in": "header", "required": False, "schema": {"type": "string"}}
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    ],
}


@route(
    "POST",
    DELIVER,
    OLD_DELIVER,
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_DELIVERY_BODY,
    responses=errors(InvalidPayload, SignatureRefused, Conflict, UnsupportedMediaType),
)
async def receive_webhook(
    token: str,
    request: Request,
    session: IngestSessionDep,
    cipher: CipherDep,
    body: WebhookBody,
) -> RunAccepted:
    """Start a run of the automation this URL belongs to, with the JSON body as its
    trigger. When the URL has a signing secret, the Standard Webhooks headers must sign
    the body (401 otherwise). A repeated ``webhook-id`` answers with the run the first
    delivery started. An automation that is not active is a 409. The 202 means the run is
    stored; its workflow is started right after the answer."""
    run, _ = await inbound_webhooks.receive(
        session,
        cipher,
        token,
        body=body,
        headers=request.headers,
        request_id=getattr(request.state, "request_id", None),
    )
    return RunAccepted(run_id=run.id)
