"""The Temporal client (pydantic data converter), task queue names and the ids of the
platform's singleton workflows."""

import asyncio
from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core.config import Settings

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
