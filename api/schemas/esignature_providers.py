"""The firm's connections to outside e-signature providers, and the answer to a provider's
webhook delivery."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from models import ProviderName
from services.esignature.connections import ConnectedProvider, ConnectionFields


class EsignatureConnectionUpdate(ConnectionFields):
    """Connect the firm to the provider (or replace its connection). The credential's value
    is a JSON object: DocuSign {"access_token", "hmac_keys": [...]}, Dropbox Sign
    {"api_key"}. Secrets are never shown back."""


class EsignatureConnectionRead(BaseModel):
    provider: ConnectedProvider
    credential_id: uuid.UUID | None
    account_id: str | None
    base_url: str
    webhook_url: str = Field(
        description="Where the provider delivers its events (DocuSign Connect or the Dropbox "
        "Sign account callback URL)"
    )
    created_at: datetime
    updated_at: datetime


class EsignatureConnectionList(BaseModel):
    items: list[EsignatureConnectionRead]


class SendingProvider(BaseModel):
    """A provider the firm can send envelopes with (no account, URL or secret: staff read
    this to choose one)."""

    provider: ProviderName


class SendingProviderList(BaseModel):
    items: list[SendingProvider]


class ProviderWebhookReceipt(BaseModel):
    received: bool = True
    # Events of the delivery firmflow uses.
    events: int
    # How many of them changed something (0 for a duplicate or out-of-order delivery).
    applied: int
