"""Webhook triggers: each automation's secret inbound URL and its management.

The token and the signing secret are in the creation (or rotation) answer only; nothing
else ever returns them. See services/automations/hooks.py for the verification."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CipherDep, Requires, SessionDep, SettingsDep, WebhookBody
from api.openapi import errors
from core.errors import Conflict, UnsupportedMediaType
from core.permissions import Permission
from core.principal import Principal
from models import AutomationHook
from services.automations import hooks
from services.automations.hooks import InvalidPayload, SignatureRefused

router = APIRouter()

Writer = Annotated[Principal, Requires(Permission.automations_write)]


class HookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signing: bool = Field(
        default=True,
        description="Give the URL a Standard Webhooks signing secret; unsigned requests "
        "are then refused.",
    )


class HookIssued(BaseModel):
    """Shown once: store the URL and the secret now."""

    url: str
    token_prefix: str
    signing_secret: str | None


class HookRead(BaseModel):
    automation_id: uuid.UUID
    token_prefix: str
    signing: bool
    created_at: datetime
    rotated_at: datetime | None

    @classmethod
    def of(cls, hook: AutomationHook) -> "HookRead":
        return cls(
            automation_id=hook.automation_id,
            token_prefix=hook.token_prefix,
            signing=hook.signing_secret_encrypted is not None,
            created_at=hook.created_at,
            rotated_at=hook.rotated_at,
        )


@router.post(
    "/automations/{automation_id}/hook",
    status_code=status.HTTP_201_CREATED,
    responses=errors(Conflict),
)
async def issue_hook(
    automation_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    cipher: CipherDep,
    body: HookCreate | None = None,
) -> HookIssued:
    """Create the automation's inbound URL, or rotate it if it has one: the old URL stops
    working at once. The answer is the only place the URL and the secret ever appear."""
    issued = await hooks.issue_hook(
        session,
        principal,
        cipher,
        automation_id,
        signing=(body or HookCreate()).signing,
    )
    public_url = settings.public_url.rstrip("/")
    return HookIssued(
        url=f"{public_url}/v1/hooks/{issued.token}",
        token_prefix=issued.hook.token_prefix,
        signing_secret=issued.signing_secret,
    )


@router.get("/automations/{automation_id}/hook")
async def get_hook(automation_id: uuid.UUID, principal: Writer, session: SessionDep) -> HookRead:
    """Whether the automation has an inbound URL, and how it is protected."""
    return HookRead.of(await hooks.get_hook(session, principal, automation_id))


@router.delete("/automations/{automation_id}/hook", status_code=status.HTTP_204_NO_CONTENT)
async def delete_hook(automation_id: uuid.UUID, principal: Writer, session: SessionDep) -> None:
    """Remove the inbound URL; requests to it are a 404 from then on."""
    await hooks.delete_hook(session, principal, automation_id)


class RunAccepted(BaseModel):
    run_id: uuid.UUID


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


@router.post(
    "/hooks/{token}",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_DELIVERY_BODY,
    responses=errors(InvalidPayload, SignatureRefused, Conflict, UnsupportedMediaType),
)
async def receive_webhook(
    token: str, request: Request, session: SessionDep, cipher: CipherDep, body: WebhookBody
) -> RunAccepted:
    """Start a run of the automation this URL belongs to, with the JSON body as its
    trigger. When the URL has a signing secret, the Standard Webhooks headers must sign
    the body (401 otherwise). A repeated ``webhook-id`` answers with the run the first
    delivery started. An automation that is not active is a 409."""
    run, _ = await hooks.receive(
        session,
        cipher,
        token,
        body=body,
        headers=request.headers,
        request_id=getattr(request.state, "request_id", None),
    )
    return RunAccepted(run_id=run.id)
