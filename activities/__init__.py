"""Every activity the worker runs, bound to its dependencies."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.automation import AutomationActivities
from activities.client_import import ClientImportActivities
from activities.outbox import OutboxActivities
from core.config import Settings
from core.crypto import Cipher
from core.temporal import ClientProvider
from providers.email import build_email_provider

__all__ = [
    "AutomationActivities",
    "ClientImportActivities",
    "OutboxActivities",
    "build_activities",
]


def build_activities(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    temporal: ClientProvider,
) -> list[Callable[..., Any]]:
    """The activity callables for a Worker, built from injected dependencies."""
    imports = ClientImportActivities(sessionmaker, temporal, batch_size=settings.import_batch_size)
    outbox = OutboxActivities(sessionmaker, temporal)
    automation = AutomationActivities(
        sessionmaker,
        cipher=Cipher.from_settings(settings),
        email=build_email_provider(settings),
    )
    return [
        imports.stage,
        imports.import_batch,
        imports.finish,
        outbox.dispatch_pending,
        automation.http_request,
        automation.send_email,
        automation.create_task,
        automation.update_client,
        automation.emit_event,
        automation.finish_run,
    ]
