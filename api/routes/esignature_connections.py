"""A firm's connections to DocuSign and Dropbox Sign (admins): which vault credential holds
the secrets, the account and the API's base URL. Secrets are never shown back. And, for
whoever reads envelopes, just which providers the firm can send with."""

from typing import Annotated

from fastapi import APIRouter, Response, status

from api.deps import CipherDep, Requires, SessionDep, SettingsDep
from api.openapi import errors
from api.schemas.esignature_providers import (
    EsignatureConnectionList,
    EsignatureConnectionRead,
    EsignatureConnectionUpdate,
    SendingProvider,
    SendingProviderList,
)
from core.config import Settings
from core.crypto import EncryptionUnavailable
from core.errors import NotFound, Unprocessable
from core.permissions import Permission
from core.principal import Principal
from models import EsignatureConnection
from services.esignature import connections
from services.esignature.connections import ConnectedProvider

router = APIRouter(prefix="/firm")

Reader = Annotated[Principal, Requires(Permission.esignature_read)]
Manager = Annotated[Principal, Requires(Permission.esignature_manage)]
_PATHS = {"docusign": "docusign", "dropbox_sign": "dropbox-sign"}


def _read(settings: Settings, row: EsignatureConnection) -> EsignatureConnectionRead:
    base = settings.public_url.rstrip("/")
    return EsignatureConnectionRead(
        provider=row.provider,
        credential_id=row.credential_id,
        account_id=row.account_id,
        base_url=row.base_url,
        webhook_url=f"{base}/v1/esignature/webhooks/{_PATHS[row.provider]}/{row.firm_id}",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("/esignature-providers")
async def list_sending_providers(principal: Reader, session: SessionDep) -> SendingProviderList:
    """The providers an envelope of the firm may use: ``builtin`` always, then each
    connected provider whose connection has a credential. For the new-envelope form of
    staff who may not see the connections themselves."""
    names = await connections.sending_providers(session, principal)
    return SendingProviderList(items=[SendingProvider(provider=name) for name in names])


@router.get("/esignature-connections")
async def list_connections(
    principal: Manager, session: SessionDep, settings: SettingsDep
) -> EsignatureConnectionList:
    """The firm's provider connections (at most one per provider)."""
    rows = await connections.list_connections(session, principal)
    return EsignatureConnectionList(items=[_read(settings, row) for row in rows])


@router.put(
    "/esignature-connections/{provider}",
    responses=errors(NotFound, Unprocessable, EncryptionUnavailable),
)
async def save_connection(
    provider: ConnectedProvider,
    body: EsignatureConnectionUpdate,
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
    cipher: CipherDep,
) -> EsignatureConnectionRead:
    """Connect the firm to ``provider`` or replace its connection; the credential must be
    one of the firm's and hold the members the provider needs."""
    row = await connections.save_connection(session, principal, cipher, provider, fields=body)
    return _read(settings, row)


@router.delete(
    "/esignature-connections/{provider}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(NotFound),
)
async def delete_connection(
    provider: ConnectedProvider, principal: Manager, session: SessionDep
) -> Response:
    """Disconnect the provider; envelopes already sent there keep their provider's state
    but receive no more events."""
    await connections.delete_connection(session, principal, provider)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
