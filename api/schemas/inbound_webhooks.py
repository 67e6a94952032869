"""An automation's inbound webhook: what creating (or rotating) one takes and answers, what
reading it shows, and what a delivery answers."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from models import InboundWebhook


class InboundWebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signing: bool = Field(
        default=True,
        description="Give the URL a Standard Webhooks signing secret; unsigned requests "
        "are then refused.",
    )


class InboundWebhookIssued(BaseModel):
    """Shown once: store the URL and the secret now."""

    url: str
    token_prefix: str
    signing_secret: str | None


class InboundWebhookRead(BaseModel):
    automation_id: uuid.UUID
    token_prefix: str
    signing: bool
    created_at: datetime
    rotated_at: datetime | None

    @classmethod
    def of(cls, inbound: InboundWebhook) -> "InboundWebhookRead":
        return cls(
            automation_id=inbound.automation_id,
            token_prefix=inbound.token_prefix,
            signing=inbound.signing_secret_encrypted is not None,
            created_at=inbound.created_at,
            rotated_at=inbound.rotated_at,
        )


class RunAccepted(BaseModel):
    run_id: uuid.UUID
