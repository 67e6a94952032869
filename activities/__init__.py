"""Every activity the worker runs, bound to its dependencies."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.automation import AutomationActivities
from activities.automation_approvals import ApprovalActivities
from activities.automation_flow import FlowActivities
from activities.automation_foreach import ForeachActivities
from activities.billing_dunning import DunningActivities
from activities.billing_invoice_pdf import InvoicePdfActivities
from activities.billing_recurring import RecurringInvoiceActivities
from activities.billing_stripe import StripeActivities
from activities.client_import import ClientImportActivities
from activities.documents_retention import RetentionActivities
from activities.documents_review import DocumentReviewActivities
from activities.documents_text import DocumentTextActivities
from activities.esignature_envelope import EnvelopeActivities
from activities.outbox import OutboxActivities
from core.config import Settings
from core.crypto import Cipher
from core.temporal import ClientProvider
from providers.email import build_email_provider
from providers.esignature import http_pool as esignature_http_pool
from providers.http import HttpPool
from providers.payments import StripeProviders
from providers.storage_backends import build_storage
from services.automations.outbox_handlers import register_outbox_handlers
from services.billing.invoice_pdf import InvoicePdfs
from services.billing.pay_links import PayLinks

__all__ = [
    "ApprovalActivities",
    "AutomationActivities",
    "ClientImportActivities",
    "DocumentReviewActivities",
    "DocumentTextActivities",
    "DunningActivities",
    "EnvelopeActivities",
    "FlowActivities",
    "ForeachActivities",
    "InvoicePdfActivities",
    "OutboxActivities",
    "RecurringInvoiceActivities",
    "RetentionActivities",
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
    # One provider for every activity: the S3 one keeps a connection pool.
    storage = build_storage(settings)
    pdfs = InvoicePdfs(storage=storage)
    dunning = DunningActivities(sessionmaker, email=email, pay_links=pay_links, pdfs=pdfs)
    invoice_pdf = InvoicePdfActivities(sessionmaker, temporal, pdfs=pdfs)
    recurring = RecurringInvoiceActivities(sessionmaker)
    payments = StripeProviders(api_base=settings.stripe_api_base)
    stripe = StripeActivities(sessionmaker, temporal, cipher=cipher, providers=payments)
    document_text = DocumentTextActivities(sessionmaker, storage)
    retention = RetentionActivities(sessionmaker, storage)
    review = DocumentReviewActivities(
        sessionmaker, temporal, email=email, public_url=settings.public_url
    )
    envelope = EnvelopeActivities(
        sessionmaker,
        temporal,
        settings=settings,
        email=email,
        storage=storage,
        http=esignature_http_pool(),
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
        approvals.open_approval,
        approvals.close_approval,
        flow.prepare_child_run,
        flow.settle_debounce,
        foreach.write_records,
        dunning.plan,
        dunning.send_step,
        invoice_pdf.render,
        recurring.plan_next,
        recurring.create_occurrence,
        stripe.apply_event,
        stripe.retry_payment,
        document_text.extract,
        retention.list_firms,
        retention.report,
        retention.delete,
        review.open_review,
        review.plan,
        review.remind,
        review.escalate,
        review.publish,
        envelope.plan,
        envelope.send_to_provider,
        envelope.deliver,
        envelope.remind,
        envelope.warn_expiry,
        envelope.expire,
        envelope.decline,
        envelope.void,
        envelope.seal,
        envelope.complete,
        envelope.send_copies,
    ]
