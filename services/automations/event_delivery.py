"""Delivering a domain or custom event from the outbox: it starts the runs of the firm's
event-triggered automations whose filter holds, and it reaches the running runs that may
wait for it (``wait_for_event``)."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.temporal import ClientProvider
from models import OutboxMessage


async def deliver(
    maker: async_sessionmaker[AsyncSession], temporal: ClientProvider, message: OutboxMessage
) -> None:
    """Start the triggered runs and signal the waiting ones, once per event."""
