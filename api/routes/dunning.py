"""Dunning: the firm's policy (read, replace, preview a template), pausing and resuming
reminders per invoice and per client, and an invoice's dunning as its workflow and its
reminders show it."""

import asyncio
import logging
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from api.deps import Requires, SessionDep, SettingsDep, TemporalDep
from api.openapi import errors
from core.errors import Conflict, NotFound
from core.permissions import Permission
from core.principal import Principal
from models import DunningPolicy
from services.billing import dunning, dunning_policy
from services.billing.dunning_policy import PolicyDoc, PolicyStep, PreviewRequest
from workflows.billing.dunning import contracts as dunning_contracts
from workflows.billing.dunning.contracts import NextStep

router = APIRouter()
log = logging.getLogger("firmflow.dunning")

Reader = Annotated[Principal, Requires(Permission.billing_read)]
Writer = Annotated[Principal, Requires(Permission.billing_write)]
Manager = Annotated[Principal, Requires(Permission.billing_manage)]

# The live part of GET …/dunning is best effort: a slow Temporal must not hold the page.
QUERY_TIMEOUT_SECONDS = 2.0


class PolicyRead(BaseModel):
    version: int
    enabled: bool
    steps: list[PolicyStep]
    late_fee_fixed: int
    late_fee_percent: Decimal
    late_fee_step: str | None
    endless_every_days: int | None

    @classmethod
    def of(cls, policy: DunningPolicy) -> "PolicyRead":
        doc = dunning_policy.as_doc(policy)
        return cls(version=policy.version, **doc.model_dump())


class PreviewRead(BaseModel):
    subject: str
    body: str


class InvoicePause(BaseModel):
    invoice_id: uuid.UUID
    dunning_paused: bool


class ClientPause(BaseModel):
    client_id: uuid.UUID
    dunning_paused: bool


class ReminderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step_key: str
    outcome: str
    message_id: str | None
    recipient: str | None
    created_at: datetime


class InvoiceDunning(BaseModel):
    invoice_id: uuid.UUID
    dunning_paused: bool
    in_collections: bool
    # The workflow's answer to next_step; null when it does not answer (not started, or
    # Temporal unreachable).
    live: NextStep | None
    # The latest 100 steps handled, oldest first.
    reminders: list[ReminderRead]


@router.get("/billing/dunning-policy")
async def get_policy(principal: Reader, session: SessionDep) -> PolicyRead:
    """The firm's policy; the shipped default until it is first changed."""
    return PolicyRead.of(await dunning_policy.get_policy(session, principal))


@router.put("/billing/dunning-policy")
async def replace_policy(body: PolicyDoc, principal: Manager, session: SessionDep) -> PolicyRead:
    """Replace the whole policy. Its version grows and every running dunning workflow
    re-plans; steps already sent are never sent again."""
    doc = dunning_policy.check_policy(body)
    return PolicyRead.of(await dunning_policy.update_policy(session, principal, doc=doc))


@router.post("/billing/dunning-policy/preview", responses=errors(NotFound))
async def preview_template(
    body: PreviewRequest, principal: Reader, session: SessionDep, settings: SettingsDep
) -> PreviewRead:
    """Render a step's email (saved, or the subject and body being edited) for one of
    the firm's invoices or for sample data. A template that does not render is a 422."""
    rendered = await dunning_policy.preview(
        session,
        principal,
        request=body,
        pay_link_base=settings.public_url,
    )
    return PreviewRead(**rendered)


@router.post("/invoices/{invoice_id}/dunning/pause", responses=errors(Conflict))
async def pause_invoice(
    invoice_id: uuid.UUID, principal: Writer, session: SessionDep
) -> InvoicePause:
    invoice = await dunning.set_invoice_paused(session, principal, invoice_id, paused=True)
    return InvoicePause(invoice_id=invoice.id, dunning_paused=invoice.dunning_paused)


@router.post("/invoices/{invoice_id}/dunning/resume", responses=errors(Conflict))
async def resume_invoice(
    invoice_id: uuid.UUID, principal: Writer, session: SessionDep
) -> InvoicePause:
    invoice = await dunning.set_invoice_paused(session, principal, invoice_id, paused=False)
    return InvoicePause(invoice_id=invoice.id, dunning_paused=invoice.dunning_paused)


@router.post("/clients/{client_id}/dunning/pause")
async def pause_client(client_id: uuid.UUID, principal: Writer, session: SessionDep) -> ClientPause:
    """Pause the reminders of every invoice of the client."""
    client = await dunning.set_client_paused(session, principal, client_id, paused=True)
    return ClientPause(client_id=client.id, dunning_paused=client.dunning_paused)


@router.post("/clients/{client_id}/dunning/resume")
async def resume_client(
    client_id: uuid.UUID, principal: Writer, session: SessionDep
) -> ClientPause:
    client = await dunning.set_client_paused(session, principal, client_id, paused=False)
    return ClientPause(client_id=client.id, dunning_paused=client.dunning_paused)


async def _live(temporal: TemporalDep, invoice_id: uuid.UUID) -> NextStep | None:
    try:
        async with asyncio.timeout(QUERY_TIMEOUT_SECONDS):
            client = await temporal()
            handle = client.get_workflow_handle(dunning_contracts.workflow_id(invoice_id))
            answer: NextStep = await handle.query(
                dunning_contracts.NEXT_STEP_QUERY, result_type=NextStep
            )
            return answer
    except (TimeoutError, RPCError, WorkflowQueryFailedError, RuntimeError, OSError) as exc:
        log.info("dunning query for invoice %s unanswered: %s", invoice_id, type(exc).__name__)
        return None


@router.get("/invoices/{invoice_id}/dunning")
async def get_invoice_dunning(
    invoice_id: uuid.UUID, principal: Reader, session: SessionDep, temporal: TemporalDep
) -> InvoiceDunning:
    """What the invoice's dunning workflow plans next, and the steps handled so far."""
    invoice, rows = await dunning.reminders_of(session, principal, invoice_id)
    return InvoiceDunning(
        invoice_id=invoice.id,
        dunning_paused=invoice.dunning_paused,
        in_collections=invoice.in_collections,
        live=await _live(temporal, invoice.id),
        reminders=[ReminderRead.model_validate(row) for row in rows],
    )
