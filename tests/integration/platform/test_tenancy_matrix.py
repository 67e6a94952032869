"""The tenancy matrix: every route of the app that takes an id, called by firm B with ids
of firm A's objects, answers 404 and leaves A's objects as they were.

Routes come from the app itself, so a new route is covered the day it is added. Each
path parameter needs a factory in ``FACTORIES`` that creates such an object for a firm;
a parameter without one fails the test, telling the developer to add it.
"""

import enum
import re
import types
import typing
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi import params
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import AsyncClient
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm
from core.roles import Role
from models import (
    ApiToken,
    Approval,
    Automation,
    AutomationRun,
    AutomationStatus,
    Base,
    Client,
    ClientImport,
    Contact,
    Credential,
    Document,
    DocumentFolder,
    DocumentVersion,
    Envelope,
    EnvelopeDocument,
    EnvelopeRecipient,
    EnvelopeTemplate,
    Invoice,
    LegalHold,
    LoginSession,
    Payment,
    PaymentMethod,
    RecurringInvoice,
    RetentionPolicy,
    RunStatus,
    RunTrigger,
    SamlConfig,
    StripeWebhookSecret,
    Task,
    TaxRate,
    User,
)
from providers.storage_filesystem import FilesystemStorage
from services import clients, contacts, credentials, tasks
from services.automations import automations, runs
from services.billing import invoices as billing_invoices
from services.billing import payments as billing_payments
from services.billing import recurring as billing_recurring
from services.billing import stripe_account
from services.billing import tax_rates as billing_tax_rates
from services.documents import documents as documents_service
from services.documents import folders as document_folders
from services.documents import holds as document_holds
from services.documents import retention as document_retention
from services.documents import reviews as document_reviews
from services.esignature import envelopes as esignature_envelopes
from services.esignature import recipients as esignature_recipients
from services.esignature.state import RecipientFields
from services.sso import config as sso_config
from services.tokens import issue_api_token, issue_login_session
from tests.document_factories import document_with_blob, version_with_blob
from tests.factories import Actor, add_user, make_firm, principal_of
from tests.saml_idp import sample_metadata

Made = dict[str, uuid.UUID]
Factory = Callable[[AsyncSession, Actor, Made], Awaitable[uuid.UUID]]


async def make_client(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    fields = clients.validate_client_fields({"name": "Tenant test client"})
    client = await clients.create_client(db, principal_of(actor), fields=fields)
    return client.id


async def make_contact(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # A contact lives under a client: the one in the same path if this firm made it.
    client_id = made.get("client_id") or await make_client(db, actor, made)
    fields = contacts.ContactFields(name="Tenant test contact")
    contact = await contacts.create_contact(db, principal_of(actor), client_id, fields=fields)
    return contact.id


async def make_user(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    return (await add_user(db, actor, Role.staff)).user.id


async def make_token(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    token, _ = await issue_api_token(db, actor.user, "tenancy matrix")
    return token.id


async def make_session(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    expires_at = datetime.now(UTC) + timedelta(hours=1)
    login_session, _ = await issue_login_session(db, actor.user, expires_at=expires_at)
    return login_session.id


async def make_import(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    row = ClientImport(firm_id=actor.firm.id, created_by=actor.user.id, filename="t.csv")
    db.add(row)
    await db.flush()
    return row.id


async def make_sso_config(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    config = await sso_config.create_config(
        db, principal_of(actor), idp_metadata_xml=sample_metadata()
    )
    return config.id


async def make_task(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    task = await tasks.create_task(
        db, principal_of(actor), fields=tasks.TaskFields(title="Tenant test task")
    )
    return task.id


async def make_credential(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # Any key will do: a 404 comes before anything is decrypted or encrypted.
    credential = await credentials.create_credential(
        db,
        principal_of(actor),
        Cipher([Fernet.generate_key().decode()]),
        fields=credentials.CredentialFields.model_validate(
            {"name": "tenant_test_key", "value": "firm A's secret"}
        ),
    )
    return credential.id


async def make_automation(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # Published, so that version 1 exists under every automation (see VERSION_NUMBERS).
    draft = {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "done",
        "steps": {"done": {"type": "stop"}},
    }
    automation = await automations.create_automation(
        db, principal_of(actor), fields=automations.AutomationFields(name="Tenant"), draft=draft
    )
    await automations.publish(db, principal_of(actor), automation.id)
    return automation.id


async def make_run(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # A finished (failed) run, so that cancel, retry and resume would all act on it.
    automation_id = made.get("automation_id") or await make_automation(db, actor, made)
    principal = principal_of(actor)
    automation = await automations.set_status(db, principal, automation_id, AutomationStatus.active)
    run, _ = await runs.start_run(
        db, principal, automation, payload={"tenant": "A"}, trigger=RunTrigger.manual
    )
    run.status = RunStatus.failed
    await db.flush()
    return run.id


async def make_approval(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # Pending, with the firm's owner among its approvers, so that a vote would count.
    run_id = made.get("run_id") or await make_run(db, actor, made)
    run = await db.get(AutomationRun, run_id)
    assert run is not None
    approval = Approval(
        firm_id=actor.firm.id,
        run_id=run_id,
        automation_id=run.automation_id,
        step_id="approve",
        visit=1,
        title="Tenancy approval",
        message="",
        approver_roles=["owner"],
        approver_user_ids=[],
        quorum=1,
        form={},
    )
    db.add(approval)
    await db.flush()
    return approval.id


async def make_tax_rate(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    rate = await billing_tax_rates.create_tax_rate(
        db,
        principal_of(actor),
        fields=billing_tax_rates.TaxRateFields(name="Tenancy tax", percent=Decimal(20)),
    )
    return rate.id


async def make_invoice(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # Finalized, so that payments, credit notes and dunning routes would all act on it.
    client_id = made.get("client_id") or await make_client(db, actor, made)
    principal = principal_of(actor)
    draft = await billing_invoices.create_invoice(
        db,
        principal,
        fields=billing_invoices.validate_invoice_fields(
            {
                "client_id": str(client_id),
                "lines": [{"description": "Tenancy", "quantity": 1, "unit_price": 10_000}],
            }
        ),
    )
    return (await billing_invoices.finalize_invoice(db, principal, draft.id)).id


async def make_payment(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    invoice_id = made.get("invoice_id") or await make_invoice(db, actor, made)
    invoice = await billing_invoices.get_invoice(db, principal_of(actor), invoice_id)
    payment = await billing_payments.record_payment(
        db,
        principal_of(actor),
        invoice_id=invoice_id,
        amount=1_000,
        currency=invoice.currency,
        method=PaymentMethod.cash,
        received_on=date.today(),
    )
    return payment.id


async def make_stripe_webhook_secret(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    [secret] = await stripe_account.add_webhook_secrets(
        db,
        principal_of(actor),
        Cipher([Fernet.generate_key().decode()]),
        fields=stripe_account.WebhookSecretsCreate(
            secrets=[stripe_account.WebhookSecretFields(secret="whsec_tenancymatrix0")]
        ),
    )
    return secret.id


async def make_recurring_invoice(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    client_id = made.get("client_id") or await make_client(db, actor, made)
    fields = billing_recurring.RecurringFields.model_validate(
        {
            "client_id": client_id,
            "template": {"lines": [{"description": "Tenant", "quantity": "1", "unit_price": 100}]},
            "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1",
            "starts_at_local": "2099-01-01T09:00:00",
        }
    )
    recurring = await billing_recurring.create_recurring(db, principal_of(actor), fields=fields)
    return recurring.id


async def make_document(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    document = await document_with_blob(db, principal_of(actor), title="Tenancy document")
    return document.id


async def make_document_version(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # Version 2 of the document in the same path if this firm made it.
    document_id = made.get("document_id") or await make_document(db, actor, made)
    document = await documents_service.get_document(db, principal_of(actor), document_id)
    return (await version_with_blob(db, principal_of(actor), document)).id


async def make_document_review(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # Pending on the document in the same path if this firm made it, a staff reviewer.
    document_id = made.get("document_id") or await make_document(db, actor, made)
    reviewer = await add_user(db, actor, Role.staff)
    fields = document_reviews.ReviewFields(reviewer_user_ids=[reviewer.user.id])
    view = await document_reviews.submit(db, principal_of(actor), document_id, fields)
    return view.approval.id


async def make_document_folder(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    folder = await document_folders.create_folder(
        db, principal_of(actor), fields=document_folders.FolderFields(name="Tenancy folder")
    )
    return folder.id


async def make_retention_policy(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    fields = document_retention.PolicyFields(document_type="tenancy", retain_days=365)
    policy = await document_retention.create_policy(db, principal_of(actor), fields=fields)
    return policy.id


async def make_legal_hold(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    client_id = made.get("client_id") or await make_client(db, actor, made)
    fields = document_holds.HoldFields(client_id=client_id, reason="tenancy")
    return (await document_holds.place_hold(db, principal_of(actor), fields=fields)).id


async def make_envelope(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # A draft with a recipient and no document: nothing to read from storage.
    fields = esignature_envelopes.EnvelopeFields(
        title="Tenancy envelope",
        recipients=[RecipientFields(name="Ada", email="ada@example.com")],
    )
    envelope = await esignature_envelopes.create_envelope(
        db, FilesystemStorage(Path("/nonexistent")), principal_of(actor), fields=fields
    )
    return envelope.id


async def make_envelope_document(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # On the envelope in the same path if this firm made it; the pinned version's bytes
    # are not stored (no route of the matrix reaches them for another firm).
    envelope_id = made.get("envelope_id") or await make_envelope(db, actor, made)
    document = await document_with_blob(db, principal_of(actor), title="Tenancy letter")
    assert document.current_version_id is not None
    pinned = EnvelopeDocument(
        firm_id=actor.firm.id,
        envelope_id=envelope_id,
        document_id=document.id,
        version_id=document.current_version_id,
        position=0,
        original_sha256="0" * 64,
        page_count=1,
        page_sizes=[[612.0, 792.0]],
    )
    db.add(pinned)
    await db.flush()
    return pinned.id


async def make_recipient(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    envelope_id = made.get("envelope_id") or await make_envelope(db, actor, made)
    fields = RecipientFields(name="Grace", email="grace@example.com")
    recipient = await esignature_recipients.add_recipient(
        db, principal_of(actor), envelope_id, fields
    )
    return recipient.id


async def make_envelope_template(db: AsyncSession, actor: Actor, made: Made) -> uuid.UUID:
    # Roles only: saving a template with documents measures their stored bytes.
    template = EnvelopeTemplate(
        firm_id=actor.firm.id,
        name=f"Tenancy template {uuid.uuid4().hex[:6]}",
        title="Tenancy",
        roles=[{"key": "client", "name": "Client", "role": "signer", "routing_order": 1}],
    )
    db.add(template)
    await db.flush()
    return template.id


@dataclass(frozen=True)
class Owned:
    model: type[Base]
    make: Factory


FACTORIES: dict[str, Owned] = {
    "sso_config_id": Owned(SamlConfig, make_sso_config),
    "client_id": Owned(Client, make_client),
    "contact_id": Owned(Contact, make_contact),
    "user_id": Owned(User, make_user),
    "token_id": Owned(ApiToken, make_token),
    "import_id": Owned(ClientImport, make_import),
    "session_id": Owned(LoginSession, make_session),
    "task_id": Owned(Task, make_task),
    "credential_id": Owned(Credential, make_credential),
    "automation_id": Owned(Automation, make_automation),
    "run_id": Owned(AutomationRun, make_run),
    "approval_id": Owned(Approval, make_approval),
    "tax_rate_id": Owned(TaxRate, make_tax_rate),
    "invoice_id": Owned(Invoice, make_invoice),
    "payment_id": Owned(Payment, make_payment),
    "secret_id": Owned(StripeWebhookSecret, make_stripe_webhook_secret),
    "recurring_invoice_id": Owned(RecurringInvoice, make_recurring_invoice),
    "document_id": Owned(Document, make_document),
    "version_id": Owned(DocumentVersion, make_document_version),
    "folder_id": Owned(DocumentFolder, make_document_folder),
    "review_id": Owned(Approval, make_document_review),
    "policy_id": Owned(RetentionPolicy, make_retention_policy),
    "hold_id": Owned(LegalHold, make_legal_hold),
    "envelope_id": Owned(Envelope, make_envelope),
    "envelope_document_id": Owned(EnvelopeDocument, make_envelope_document),
    "recipient_id": Owned(EnvelopeRecipient, make_recipient),
    "template_id": Owned(EnvelopeTemplate, make_envelope_template),
}

# Path parameters that number a version within the automation in the same path, or name an
# event sent to a run, not ids: each firm's automations have version 1, so only the
# automation (or run) id can be foreign. An e-signature provider's name picks one of the
# calling firm's own connections.
VERSION_NUMBERS: dict[str, Any] = {
    "version": 1,
    "a": 1,
    "b": 1,
    "name": "custom.ping",
    "provider": "docusign",
    # A page of the envelope document in the same path.
    "page": 1,
}

# Bodies for request models the generic sampler below cannot fill plausibly.
BODIES: dict[str, dict[str, Any]] = {
    "ClientUpdate": {"name": "Hijacked", "status": "inactive"},
    "ContactUpdate": {"name": "Hijacked", "is_primary": True},
    "CredentialValue": {"value": "hijacked"},
    "PaymentCreate": {"amount": 100, "currency": "USD", "method": "cash"},
    "CreditNoteCreate": {"amount": 100},
    "RecurringPatch": {"auto_send": True},
    # A credential no firm has: another firm's is the same 404.
    "EsignatureConnectionUpdate": {
        "credential_id": str(uuid.uuid4()),
        "account_id": "tenancy",
        "base_url": "https://demo.docusign.net",
    },
}

CSV_UPLOAD = {"file": ("tenancy.csv", b"name,email\nAcme,acme@example.com\n", "text/csv")}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: APIRoute

    @property
    def parameters(self) -> list[str]:
        names = re.findall(r"{(\w+)(?::\w+)?}", self.path)
        return [name for name in names if name not in VERSION_NUMBERS]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


# Parameters of public routes that name a firm on purpose (SAML login, ACS and SP metadata
# under /v1/sso/{firm_slug}; an inbound webhook's secret URL /v1/inbound-webhooks/{token} and
# its deprecated alias /v1/hooks/{token}): anyone may call them for any firm, so they are not
# in the matrix. The management routes /v1/automations/{automation_id}/inbound-webhook and
# their alias .../hook are in it, each on its own.
PUBLIC_PARAMETERS = frozenset({"firm_slug", "token", "firm_id"})
# The signing page's API: the X-Signing-Token of a recipient's link is the credential, and
# every refusal of it is a 403 or 410 (another firm's link among them, tested in
# tests/integration/esignature/test_signing_links.py), never a 404.
PUBLIC_PREFIXES = ("/v1/signing/",)


def endpoints_with_ids() -> list[Endpoint]:
    app = create_app(Settings(_env_file=None), sessionmaker=async_sessionmaker())
    found = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path_format
        if not isinstance(route, APIRoute) or path is None or "{" not in path:
            continue
        if PUBLIC_PARAMETERS & set(re.findall(r"{(\w+)", path)):
            continue
        if path.startswith(PUBLIC_PREFIXES):
            continue
        for method in sorted(context.methods or ()):
            if method not in {"HEAD", "OPTIONS"}:
                found.append(Endpoint(method, path, route))
    return found


ENDPOINTS = endpoints_with_ids()


def sample(annotation: Any, where: str) -> Any:
    """A plausible value of ``annotation`` (enough to pass validation)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return sample(typing.get_args(annotation)[0], where)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return sample(options[0], where)
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    if origin in (list, set, tuple, frozenset):
        return []
    if origin is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return sample_model(annotation)
        if issubclass(annotation, enum.Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, bool):
            return True
        if issubclass(annotation, int | float):
            return 1
        if issubclass(annotation, datetime):
            return (datetime.now(UTC) + timedelta(days=30)).isoformat()
        if issubclass(annotation, uuid.UUID):
            return str(uuid.uuid4())
        if annotation.__name__ == "EmailStr":
            return "someone@example.com"
        if issubclass(annotation, str):
            return "tenancy"
    pytest.fail(f"cannot sample {annotation!r} for {where}; add a body to BODIES")


def sample_model(model: type[BaseModel]) -> dict[str, Any]:
    if model.__name__ in BODIES:
        return BODIES[model.__name__]
    body = {
        field.alias or name: sample(field.annotation, f"{model.__name__}.{name}")
        for name, field in model.model_fields.items()
        if field.is_required()
    }
    try:
        model.model_validate(body)
    except ValueError as exc:
        pytest.fail(f"generated body {body} is not a valid {model.__name__} ({exc}); add to BODIES")
    return body


def request_body(endpoint: Endpoint) -> dict[str, Any]:
    body_field = endpoint.route.body_field
    if body_field is None:
        return {}
    if isinstance(body_field.field_info, params.Form):
        return {"files": CSV_UPLOAD}
    annotation = body_field.field_info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"json": sample_model(annotation)}
    return {"json": sample(annotation, str(endpoint))}


async def snapshot(db: AsyncSession, actor: Actor, model: type[Base], id_: uuid.UUID) -> Any:
    await scope_to_firm(db, actor.firm.id)
    table = model.__table__
    row = (await db.execute(select(table).where(table.c.id == id_))).mappings().one_or_none()
    return dict(row) if row is not None else None


def test_the_matrix_sees_the_routes_it_must() -> None:
    """Guards against the enumeration silently finding nothing."""
    paths = {endpoint.path for endpoint in ENDPOINTS}
    assert {
        "/v1/clients/{client_id}",
        "/v1/clients/{client_id}/contacts/{contact_id}",
        "/v1/users/{user_id}",
    } <= paths


def test_every_path_parameter_has_a_factory() -> None:
    missing = {
        f"{param} (in {endpoint})"
        for endpoint in ENDPOINTS
        for param in endpoint.parameters
        if param not in FACTORIES
    }
    assert not missing, (
        f"No tenancy factory for path parameters {sorted(missing)}: add one to FACTORIES in "
        "tests/integration/platform/test_tenancy_matrix.py that creates such an object for a firm"
    )


def scenarios(endpoint: Endpoint) -> list[frozenset[str]]:
    """Which parameters carry firm A's ids: all of them, and with several parameters
    also each one alone while the others are firm B's own (a foreign child under one's
    own parent must be as invisible as a foreign parent)."""
    names = endpoint.parameters
    cases = [frozenset(names)]
    if len(names) > 1:
        cases += [frozenset({name}) for name in names]
    return cases


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_another_firms_ids_are_404(
    client: AsyncClient, db: AsyncSession, endpoint: Endpoint
) -> None:
    unknown = [p for p in endpoint.parameters if p not in FACTORIES]
    if unknown:
        pytest.fail(
            f"{endpoint} has path parameters {unknown} without a factory: add them to "
            "FACTORIES in tests/integration/platform/test_tenancy_matrix.py"
        )
    firm_a = await make_firm(db, "Alpha")
    firm_b = await make_firm(db, "Beta")
    for foreign in scenarios(endpoint):
        made: dict[str, Made] = {"a": {}, "b": {}}
        for name in endpoint.parameters:
            owner, side = (firm_a, "a") if name in foreign else (firm_b, "b")
            await scope_to_firm(db, owner.firm.id)
            made[side][name] = await FACTORIES[name].make(db, owner, made[side])
        await db.commit()
        before = {
            name: await snapshot(db, firm_a, FACTORIES[name].model, id_)
            for name, id_ in made["a"].items()
        }
        path = endpoint.path.format(**made["a"], **made["b"], **VERSION_NUMBERS)

        response = await client.request(
            endpoint.method, path, headers=firm_b.headers, **request_body(endpoint)
        )

        assert response.status_code == 404, (
            f"{endpoint} with firm A's {sorted(foreign)} answered firm B with "
            f"{response.status_code}: {response.text}"
        )
        after = {
            name: await snapshot(db, firm_a, FACTORIES[name].model, id_)
            for name, id_ in made["a"].items()
        }
        assert after == before, f"{endpoint} changed firm A's objects"
