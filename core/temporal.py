"""The Temporal client (pydantic data converter), task queue names and the ids of the
platform's singleton workflows."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from core.config import Settings
from core.search_attributes import ATTRIBUTES

log = logging.getLogger(__name__)

TASK_QUEUE = "firmflow"
OUTBOX_RELAY_ID = "outbox-relay"

# Something that yields a connected client when awaited: a LazyClient, or a fixed client.
ClientProvider = Callable[[], Awaitable[Client]]


async def connect(settings: Settings) -> Client:
    if settings.temporal_address is None:
        raise RuntimeError("FIRMFLOW_TEMPORAL_ADDRESS is not set")
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


class LazyClient:
    """Connects on first use and keeps the connection; the API starts even while Temporal
    is still coming up, and /ready reports it."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def __call__(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await connect(self._settings)
        return self._client


def fixed_client(client: Client) -> ClientProvider:
    async def provide() -> Client:
        return client

    return provide


_INDEXED_TYPES = {
    "keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
}
# The custom search attributes our workflows are started with (core/search_attributes.py),
# so ops can find one firm's processes in the Web UI.
SEARCH_ATTRIBUTES: dict[str, IndexedValueType.ValueType] = {
    name: _INDEXED_TYPES[kind] for name, kind in ATTRIBUTES.items()
}


async def ensure_search_attributes(client: Client) -> None:
    """Register each one the namespace lacks, one at a time so that an attribute already
    there (ALREADY_EXISTS) does not stop the others. The dev server and the test server
    accept this; on a managed cluster the worker's identity may lack the operator
    permission, and docs/operations.md shows the one-off CLI command instead."""
    for name, kind in SEARCH_ATTRIBUTES.items():
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=client.namespace, search_attributes={name: kind}
                )
            )
        except RPCError as err:
            if err.status == RPCStatusCode.PERMISSION_DENIED:
                # A managed cluster: ops register them once (docs/operations.md); runs set
                # them either way, and fail their first task visibly if they are missing.
                log.warning(
                    "not allowed to register search attribute %s; register it with "
                    "`temporal operator search-attribute create`",
                    name,
                )
            elif err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
