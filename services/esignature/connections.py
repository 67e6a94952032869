"""A firm's connections to outside e-signature providers (DocuSign, Dropbox Sign): which
vault credential holds the secrets, the account and the API's base URL; and the adapter
built from one.

The credential's value is a JSON object: DocuSign ``{"access_token": "…", "hmac_keys":
["…"]}`` (``hmac_key`` for a single Connect key; instead of the token, the JWT grant's
``integration_key``, ``user_id``, ``private_key`` and optionally ``oauth_base_url``),
Dropbox Sign ``{"api_key": "…"}`` (with ``"test_mode": true`` for a sandbox). Saving a
connection checks that the credential is the firm's and holds those members (naming the
members, never a value). Nothing here returns a secret to a client; the adapter gets them
decrypted, in the request or activity that calls the provider."""

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from core.crypto import Cipher
from core.errors import NotFound, Unprocessable
from core.principal import Principal
from models import Credential, EsignatureConnection, ProviderName
from providers.esignature import (
    Connection,
    EsignatureProvider,
    EsignatureProviderRefused,
    check_base_url,
    client_for,
    hmac_keys,
    secret,
)
from providers.esignature_docusign import DocuSignProvider
from providers.esignature_docusign_auth import DocuSignAuth, JwtGrant, StoredToken
from providers.esignature_dropbox_sign import DropboxSignProvider
from providers.http import HttpPool
from services import audit
from services.credentials import CREDENTIALS, resolve_for_run
from services.esignature.repository import CONNECTIONS
from services.repository import Firm

ConnectedProvider = Literal["docusign", "dropbox_sign"]
# The credential members each provider's adapter reads (DocuSign: a stored token, or the
# JWT grant's members instead).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "docusign": ("access_token",),
    "dropbox_sign": ("api_key",),
}
_JWT_GRANT = ("integration_key", "user_id", "private_key")
# DocuSign's developer sandbox; production connections name https://account.docusign.com.
DOCUSIGN_OAUTH = "https://account-d.docusign.com"


def _base_url(value: str) -> str:
    return check_base_url(value)


class ConnectionFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential_id: uuid.UUID = Field(
        description="The firm's vault credential whose value is the JSON of the secrets"
    )
    account_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None, description="DocuSign's API account id (required for DocuSign)"
    )
    base_url: Annotated[
        str, StringConstraints(min_length=8, max_length=500), AfterValidator(_base_url)
    ] = Field(
        description=(
            "The provider's API base: https://demo.docusign.net, https://na3.docusign.net, "
            "https://api.hellosign.com (plain http only on a loopback address)"
        )
    )


def _summary(row: EsignatureConnection) -> dict[str, Any]:
    return {
        "provider": row.provider,
        "credential_id": str(row.credential_id) if row.credential_id else None,
        "account_id": row.account_id,
        "base_url": row.base_url,
    }


async def _secrets(session: AsyncSession, cipher: Cipher, credential: Credential) -> dict[str, Any]:
    """The credential's JSON object, read through the vault's one way to a value."""
    values = await resolve_for_run(session, credential.firm_id, [credential.name], cipher=cipher)
    try:
        value = json.loads(values[credential.name])
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {}


def _check_secrets(provider: str, secrets: dict[str, Any]) -> None:
    required = _REQUIRED[provider]
    if provider == "docusign" and not secrets.get("access_token"):
        required = _JWT_GRANT
    missing = [name for name in required if not secrets.get(name)]
    if provider == "docusign" and not hmac_keys(Connection(provider, "", None, secrets)):
        missing.append("hmac_keys")
    if provider == "docusign" and not _oauth_url(secrets):
        missing.append("oauth_base_url as an https URL")
    if missing:
        raise Unprocessable(
            "The credential does not hold what this provider needs",
            errors=[
                {
                    "pointer": "/credential_id",
                    "detail": "the credential's value must be a JSON object with "
                    + ", ".join(missing),
                }
            ],
        )


async def list_connections(
    session: AsyncSession, principal: Principal
) -> Sequence[EsignatureConnection]:
    """At most one per provider, so at most two."""
    stmt = CONNECTIONS.select(principal).order_by(EsignatureConnection.provider)
    return (await session.scalars(stmt)).all()


async def sending_providers(session: AsyncSession, firm: Firm) -> list[str]:
    """The providers the firm can send envelopes with: the built-in one, then each
    connected provider whose connection still has its credential (a deleted credential
    leaves the connection without one, and sending there would fail)."""
    stmt = (
        CONNECTIONS.select(firm)
        .where(EsignatureConnection.credential_id.is_not(None))
        .order_by(EsignatureConnection.provider)
    )
    connected = (await session.scalars(stmt)).all()
    return [ProviderName.builtin.value, *(row.provider for row in connected)]


async def save_connection(
    session: AsyncSession,
    principal: Principal,
    cipher: Cipher,
    provider: ConnectedProvider,
    *,
    fields: ConnectionFields,
) -> EsignatureConnection:
    """Create or replace the firm's connection to ``provider``."""
    credential = await CREDENTIALS.get_or_404(
        session, principal, fields.credential_id, pointer="/credential_id"
    )
    if provider == "docusign" and not fields.account_id:
        raise Unprocessable(
            "A DocuSign connection needs its account id",
            errors=[{"pointer": "/account_id", "detail": "required for DocuSign"}],
        )
    _check_secrets(provider, await _secrets(session, cipher, credential))
    row = await CONNECTIONS.find(
        session, principal, EsignatureConnection.provider == provider, lock=True
    )
    before = _summary(row) if row is not None else None
    if row is None:
        row = EsignatureConnection(firm_id=principal.firm_id, provider=provider)
        session.add(row)
    row.credential_id = fields.credential_id
    row.account_id = fields.account_id
    row.base_url = fields.base_url
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        principal,
        action="esignature_connection.saved",
        record_type="esignature_connection",
        record_id=row.id,
        before=before,
        after=_summary(row),
    )
    return row


async def delete_connection(
    session: AsyncSession, principal: Principal, provider: ConnectedProvider
) -> None:
    row = await CONNECTIONS.find(
        session, principal, EsignatureConnection.provider == provider, lock=True
    )
    if row is None:
        raise NotFound(f"This firm has no {provider} connection")
    before = _summary(row)
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="esignature_connection.deleted",
        record_type="esignature_connection",
        record_id=row.id,
        before=before,
    )


async def load_connection(
    session: AsyncSession, firm: Firm, provider: str, cipher: Cipher
) -> Connection | None:
    """The firm's connection with its secrets decrypted; None when there is none or its
    credential was deleted."""
    row = await CONNECTIONS.find(session, firm, EsignatureConnection.provider == provider)
    if row is None or row.credential_id is None:
        return None
    credential = await CREDENTIALS.get(session, firm, row.credential_id)
    if credential is None:
        return None
    return Connection(
        provider=row.provider,
        base_url=row.base_url,
        account_id=row.account_id,
        secrets=await _secrets(session, cipher, credential),
    )


async def provider_for(
    session: AsyncSession, firm: Firm, provider: str, cipher: Cipher, pool: HttpPool
) -> EsignatureProvider:
    """The firm's adapter for ``provider``; refused when the firm has no connection."""
    connection = await load_connection(session, firm, provider, cipher)
    if connection is None:
        raise EsignatureProviderRefused(
            f"This firm has no {provider} connection; an admin connects it in the settings"
        )
    return build_provider(connection, pool)


def _oauth_url(secrets: Mapping[str, Any]) -> str | None:
    try:
        return check_base_url(str(secrets.get("oauth_base_url") or DOCUSIGN_OAUTH))
    except ValueError:
        return None


def docusign_auth(connection: Connection) -> DocuSignAuth:
    """A stored access token, or else the JWT grant the credential describes."""
    if connection.secrets.get("access_token"):
        return StoredToken(secret(connection, "access_token"))
    oauth_base_url = _oauth_url(connection.secrets)
    if oauth_base_url is None:
        raise EsignatureProviderRefused("The DocuSign credential's oauth_base_url is not https")
    return JwtGrant(
        oauth_base_url=oauth_base_url,
        integration_key=secret(connection, "integration_key"),
        user_id=secret(connection, "user_id"),
        private_key=secret(connection, "private_key"),
    )


def build_provider(connection: Connection, pool: HttpPool) -> EsignatureProvider:
    """The adapter of ``connection.provider`` on the shared pool."""
    client = client_for(pool, connection.base_url)
    if connection.provider == "docusign":
        if not connection.account_id:
            raise EsignatureProviderRefused("A DocuSign connection needs its account id")
        return DocuSignProvider(
            client,
            base_url=connection.base_url,
            account_id=connection.account_id,
            auth=docusign_auth(connection),
            hmac_keys=hmac_keys(connection),
        )
    if connection.provider == "dropbox_sign":
        return DropboxSignProvider(
            client,
            base_url=connection.base_url,
            api_key=secret(connection, "api_key"),
            test_mode=connection.secrets.get("test_mode") is True,
        )
    raise ValueError(f"no adapter for {connection.provider!r}")
