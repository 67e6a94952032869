"""Who carries out the kinds of message that are domain work (``event``,
``sync_schedule``): each domain registers its handlers (for automations,
services.automations.outbox_handlers, called by create_app and build_activities), so
dispatch imports no domain and no domain imports dispatch.

A handler runs inside a transaction of the message's firm, which the dispatcher opens,
commits and follows with the fast path for what the handler queued; it is given the
Temporal client provider for the calls it makes while the transaction is open."""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from core.temporal import ClientProvider
from models import OutboxMessage
from services.outbox.kinds import MessageKind

Handler = Callable[[AsyncSession, ClientProvider, OutboxMessage], Awaitable[None]]

_handlers: dict[MessageKind, Handler] = {}


class UnknownMessageKind(ValueError):
    pass


def register(kind: MessageKind, handler: Handler) -> None:
    """Make ``handler`` carry out every message of ``kind``; one handler per kind."""
    registered = _handlers.get(kind)
    if registered is not None and registered is not handler:
        raise ValueError(f"outbox kind {kind} already has a handler")
    _handlers[kind] = handler


def handler_for(kind: str) -> Handler:
    try:
        return _handlers[MessageKind(kind)]
    except (ValueError, KeyError):
        raise UnknownMessageKind(f"unknown outbox message kind {kind!r}") from None
