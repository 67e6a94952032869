"""Payments received, refunds, client credit and (with the invoice they credit) credit
notes."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.common import Page, page_of
from api.schemas.payments import (
    ApplyCredit,
    ClientCreditRead,
    CreditBalance,
    CreditNoteCreate,
    CreditNoteLineRead,
    CreditNoteRead,
    PaymentCreate,
    PaymentRead,
    RefundCreate,
    RefundRead,
)
from core.errors import Conflict
from core.permissions import Permission
from core.principal import Principal
from models import PaymentMethod
from services import firms
from services.billing import credits, payments, refunds
from services.billing.invoice_lines import lines_of
from services.billing.payments import PaymentFilters

router = APIRouter()

Reader = Annotated[Principal, Requires(Permission.billing_read)]
Writer = Annotated[Principal, Requires(Permission.billing_write)]


@router.post(
    "/invoices/{invoice_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentRead,
    responses=errors(Conflict),
)
async def record_payment(
    invoice_id: uuid.UUID,
    body: PaymentCreate,
    principal: Writer,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Record money received by bank transfer, cash, check or otherwise. Accepts an
    ``Idempotency-Key``."""

    async def record() -> PaymentRead:
        payment = await payments.record_payment(
            session,
            principal,
            invoice_id=invoice_id,
            amount=body.amount,
            currency=body.currency,
            method=PaymentMethod(body.method),
            received_on=body.received_on or await firms.firm_today(session, principal),
            reference=body.reference,
        )
        return PaymentRead.model_validate(payment)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=record
    )


@router.post(
    "/invoices/{invoice_id}/apply-credit",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentRead,
    responses=errors(Conflict),
)
async def apply_credit(
    invoice_id: uuid.UUID,
    body: ApplyCredit,
    principal: Writer,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Pay the invoice from the client's credit in its currency. Accepts an
    ``Idempotency-Key``."""

    async def apply() -> PaymentRead:
        payment = await payments.apply_credit(
            session, principal, invoice_id=invoice_id, amount=body.amount
        )
        return PaymentRead.model_validate(payment)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=apply
    )


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    status_code=status.HTTP_201_CREATED,
    response_model=CreditNoteRead,
    responses=errors(Conflict),
)
async def issue_credit_note(
    invoice_id: uuid.UUID,
    body: CreditNoteCreate,
    principal: Writer,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Issue a numbered credit note for the invoice: it reduces what the invoice owes, and
    what the invoice cannot absorb becomes client credit. Accepts an ``Idempotency-Key``."""

    async def issue() -> CreditNoteRead:
        note = await credits.issue_credit_note(
            session,
            principal,
            invoice_id=invoice_id,
            lines=body.lines,
            amount=body.amount,
            notes=body.notes,
        )
        read = CreditNoteRead.model_validate(note)
        read.lines = [
            CreditNoteLineRead.model_validate(line) for line in await lines_of(session, note)
        ]
        read.to_client_credit = await credits.credit_note_to_client_credit(session, note)
        return read

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=issue
    )


@router.get("/payments")
async def list_payments(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    client_id: uuid.UUID | None = None,
    invoice_id: uuid.UUID | None = None,
) -> Page[PaymentRead]:
    """Payments and refunds, newest first, keyset-paginated."""
    filters = PaymentFilters(client_id=client_id, invoice_id=invoice_id)
    result = await payments.list_payments(session, principal, filters=filters, page=page)
    return page_of([PaymentRead.model_validate(p) for p in result.items], result)


@router.get("/payments/{payment_id}")
async def get_payment(payment_id: uuid.UUID, principal: Reader, session: SessionDep) -> PaymentRead:
    return PaymentRead.model_validate(await payments.get_payment(session, principal, payment_id))


@router.post(
    "/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundRead,
    responses=errors(Conflict),
)
async def refund_payment(
    payment_id: uuid.UUID,
    body: RefundCreate,
    principal: Writer,
    session: SessionDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """Record money paid back on a payment. Accepts an ``Idempotency-Key``."""

    async def refund() -> RefundRead:
        result = await refunds.record_refund(
            session, principal, payment_id=payment_id, amount=body.amount, reason=body.reason
        )
        read = PaymentRead.model_validate(result)
        shortfall = await refunds.credit_shortfall(session, result)
        return RefundRead(**read.model_dump(), credit_shortfall=shortfall)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=refund
    )


@router.get("/clients/{client_id}/credit")
async def client_credit(
    client_id: uuid.UUID, principal: Reader, session: SessionDep
) -> ClientCreditRead:
    """The client's credit per currency."""
    balances = await credits.balances(session, principal, client_id)
    return ClientCreditRead(
        client_id=client_id,
        balances=[CreditBalance(currency=c, amount=a) for c, a in balances.items()],
    )
