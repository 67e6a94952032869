"""The FastAPI application: create_app() wires settings, the database, Temporal, error
handling, the request context middleware and the routers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import errors, openapi, web_app
from api.input_safety import InputSafetyMiddleware
from api.middleware import RequestContextMiddleware
from api.routes import (
    approvals,
    audit_events,
    auth,
    automation_runs,
    automations,
    billing_reports,
    billing_settings,
    client_imports,
    clients,
    contacts,
    credentials,
    document_files,
    document_folders,
    document_retention,
    document_reviews,
    document_search,
    document_settings,
    document_versions,
    documents,
    dunning,
    envelope_documents,
    envelope_recipients,
    envelope_templates,
    envelopes,
    esignature_connections,
    esignature_settings,
    esignature_webhooks,
    firm_settings,
    health,
    inbound_webhooks,
    invoices,
    payments,
    public_invoices,
    recurring_invoices,
    sessions,
    signature_verification,
    signing,
    signing_certificate,
    sso,
    stripe,
    tasks,
    tax_rates,
    tokens,
    two_factor,
    users,
)
from core.config import Settings, get_settings
from core.db import get_engine, get_sessionmaker
from core.temporal import LazyClient
from providers.email import build_email_provider
from providers.esignature import http_pool
from providers.storage import Storage
from providers.storage_backends import build_storage
from services.automations.outbox_handlers import register_outbox_handlers
from services.esignature.sealing_keys import ensure_platform_key


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    temporal: LazyClient | None = None,
    storage: Storage | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    owns_engine = sessionmaker is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Before the first request: a seal needs the platform key (or its generation).
        async with app.state.sessionmaker() as session, session.begin():
            await ensure_platform_key(session, settings)
        yield
        await app.state.storage.aclose()
        await app.state.esignature_http.aclose()
        # Close pooled connections now rather than letting Postgres see them drop.
        if owns_engine:
            await get_engine().dispose()

    app = FastAPI(
        title="firmflow",
        version="1",
        lifespan=lifespan,
        description="Operations platform for professional-services firms.",
    )
    app.state.settings = settings
    app.state.sessionmaker = sessionmaker or get_sessionmaker()
    app.state.temporal = temporal or LazyClient(settings)
    # Chosen by settings.email_backend; tests may replace it on app.state.
    app.state.email = build_email_provider(settings)
    # Document bytes (settings.storage_backend): one provider, and its connection pool, per
    # process.
    app.state.storage = storage or build_storage(settings)
    # The e-signature adapters' kept-alive connections (webhooks confirm events with them).
    app.state.esignature_http = http_pool()
    # The fast path after each request's commit carries out the domains' kinds too.
    register_outbox_handlers()
    errors.install(app)
    app.add_middleware(InputSafetyMiddleware)
    app.add_middleware(RequestContextMiddleware)

    app.include_router(health.router)
    v1 = "/v1"
    app.include_router(auth.router, prefix=v1, tags=["auth"])
    app.include_router(two_factor.router, prefix=v1, tags=["two-factor"])
    app.include_router(users.router, prefix=v1, tags=["users"])
    app.include_router(tokens.router, prefix=v1, tags=["api tokens"])
    app.include_router(sessions.router, prefix=v1, tags=["sessions"])
    app.include_router(client_imports.router, prefix=v1, tags=["client imports"])
    app.include_router(clients.router, prefix=v1, tags=["clients"])
    app.include_router(contacts.router, prefix=v1, tags=["contacts"])
    app.include_router(audit_events.router, prefix=v1, tags=["audit"])
    app.include_router(sso.router, prefix=v1, tags=["sso"])
    app.include_router(automations.router, prefix=v1, tags=["automations"])
    app.include_router(automation_runs.router, prefix=v1, tags=["automation runs"])
    app.include_router(inbound_webhooks.router, prefix=v1, tags=["inbound webhooks"])
    app.include_router(approvals.router, prefix=v1, tags=["approvals"])
    app.include_router(tasks.router, prefix=v1, tags=["tasks"])
    app.include_router(credentials.router, prefix=v1, tags=["credentials"])
    app.include_router(firm_settings.router, prefix=v1, tags=["firm settings"])
    app.include_router(invoices.router, prefix=v1, tags=["invoices"])
    app.include_router(tax_rates.router, prefix=v1, tags=["tax rates"])
    app.include_router(billing_settings.router, prefix=v1, tags=["billing settings"])
    app.include_router(payments.router, prefix=v1, tags=["payments"])
    app.include_router(billing_reports.router, prefix=v1, tags=["reports"])
    app.include_router(stripe.router, prefix=v1, tags=["stripe"])
    app.include_router(dunning.router, prefix=v1, tags=["dunning"])
    app.include_router(recurring_invoices.router, prefix=v1, tags=["recurring invoices"])
    app.include_router(public_invoices.router, prefix=v1, tags=["pay links"])
    app.include_router(document_files.router, prefix=v1, tags=["documents"])
    app.include_router(documents.router, prefix=v1, tags=["documents"])
    app.include_router(document_reviews.router, prefix=v1, tags=["document reviews"])
    app.include_router(document_versions.router, prefix=v1, tags=["documents"])
    app.include_router(document_folders.router, prefix=v1, tags=["documents"])
    app.include_router(document_settings.router, prefix=v1, tags=["documents"])
    app.include_router(document_search.router, prefix=v1, tags=["documents"])
    app.include_router(document_retention.router, prefix=v1, tags=["document retention"])
    app.include_router(envelopes.router, prefix=v1, tags=["envelopes"])
    app.include_router(envelope_documents.router, prefix=v1, tags=["envelopes"])
    app.include_router(envelope_recipients.router, prefix=v1, tags=["envelopes"])
    app.include_router(envelope_templates.router, prefix=v1, tags=["envelope templates"])
    app.include_router(esignature_settings.router, prefix=v1, tags=["e-signature settings"])
    app.include_router(signing.router, prefix=v1, tags=["signing"])
    app.include_router(signing_certificate.router, prefix=v1, tags=["e-signature settings"])
    app.include_router(signature_verification.router, prefix=v1, tags=["signature verification"])
    app.include_router(esignature_connections.router, prefix=v1, tags=["e-signature settings"])
    app.include_router(esignature_webhooks.router, prefix=v1, tags=["e-signature webhooks"])
    # The web app's pages: what no API route matches.
    web_app.install(app, settings.web_dist)
    # Last, so it sees every route.
    openapi.install(app)
    return app
