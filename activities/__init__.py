"""Every activity the worker runs, bound to its dependencies."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.automation import AutomationActivities
from activities.automation_approvals import ApprovalActivities
from activities.automation_flow import FlowActivities
from activities.automation_foreach import ForeachActivities
from activities.billing_dunning import DunningActivities
from activities.billing_recurring import RecurringInvoiceActivities
from activities.billing_stripe import StripeActivities
from activities.client_import import ClientImportActivities
from activities.outbox import OutboxActivities
from core.config import Settings
from core.crypto import Cipher
from core.temporal import ClientProvider
from providers.email import build_email_provider
from providers.http import HttpPool
from providers.payments import StripeProviders
from services.automations.outbox_handlers import register_outbox_handlers
from services.billing.pay_links import PayLinks

__all__ = [
    "ApprovalActivities",
    "AutomationActivities",
    "ClientImportActivities",
    "DunningActivities",
    "FlowActivities",
    "ForeachActivities",
    "OutboxActivities",
    "RecurringInvoiceActivities",
    "StripeActivities",
    "build_activities",
]


def build_activities(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    temporal: ClientProvider,
) -> list[Callable[..., Any]]:
    """The activity callables for a Worker, built from injected dependencies."""
    register_outbox_handlers()
    imports = ClientImportActivities(sessionmaker, temporal, batch_size=settings.import_batch_size)
    outbox = OutboxActivities(sessionmaker, temporal)
    cipher = Cipher.from_settings(settings)
    email = build_email_provider(settings)
    automation = AutomationActivities(
        sessionmaker, cipher=cipher, email=email, temporal=temporal, http_client=HttpPool()
    )
    approvals = ApprovalActivities(sessionmaker, email=email, public_url=settings.public_url)
    flow = FlowActivities(sessionmaker, temporal)
    foreach = ForeachActivities(sessionmaker)
    pay_links = PayLinks.from_settings(settings)
    dunning = DunningActivities(sessionmaker, email=email, pay_links=pay_links)
    recurring = RecurringInvoiceActivities(sessionmaker)
    payments = StripeProviders(api_base=settings.stripe_api_base)
    stripe = StripeActivities(sessionmaker, temporal, cipher=cipher, providers=payments)
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
        approvals.open_approval,
        approvals.close_approval,
        flow.prepare_child_run,
        flow.settle_debounce,
        foreach.write_records,
        dunning.plan,
        dunning.send_step,
        recurring.plan_next,
        recurring.create_occurrence,
        stripe.apply_event,
        stripe.retry_payment,
    ]
