"""Stripe's inbound webhooks at ``/v1/webhooks/stripe/{firm_id}``: verify the signature,
validate the fields firmflow uses, store the event once, and hand it to the outbox.

Signature (https://docs.stripe.com/webhooks#verify-manually): the ``Stripe-Signature``
header is ``t=<unix seconds>,v1=<hex>[,v1=<hex>…]``; each ``v1`` is the hex HMAC-SHA256 of
``"<t>." + raw body`` keyed with the endpoint's whole ``whsec_…`` secret. Any ``v1`` may
match any of the firm's unexpired secrets (Stripe signs with both while a secret rolls).
``t`` must be within 300 s of our clock in either direction: Stripe's own libraries only
refuse old ones, but a future timestamp is no more legitimate and would stretch the replay
window. Every refusal is the same generic 400; the reason goes to the log only.

The firm is named by the path, so everything runs in a tenant session for that firm: an
unknown firm simply has no secrets. Only the handled event types are validated and stored
(unique on the firm and Stripe's event id); any other type is answered 200 and not stored.
An invoice named in the metadata must be one of the firm's; a charge or dispute naming
none is stored all the same and matched through its payment intent when it is applied, so
an event that arrives before its payment is accepted, not refused.
"""

import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from sqlalchemy import Select, Uuid, bindparam, exists, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.crypto import Cipher
from core.db import scope_to_firm
from core.errors import BadRequest, field_problems
from models import Invoice, StripeEvent, StripeEventStatus
from services.billing.repository import INVOICES
from services.billing.stripe_account import active_webhook_secrets
from services.outbox import writer as outbox
from workflows.billing.stripe_event import contracts as stripe_event
from workflows.billing.stripe_event.contracts import StripeEventInput

log = logging.getLogger("firmflow.stripe")

PROVIDER = "stripe"
TOLERANCE_SECONDS = 300
# Stripe lists one v1 per active secret; more than a few is not a rotation.
_MAX_SIGNATURES = 8
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

CHECKOUT_COMPLETED = "checkout.session.completed"
PAYMENT_SUCCEEDED = "payment_intent.succeeded"
PAYMENT_FAILED = "payment_intent.payment_failed"
CHARGE_REFUNDED = "charge.refunded"
DISPUTE_CREATED = "charge.dispute.created"
DISPUTE_UPDATED = "charge.dispute.updated"
DISPUTE_CLOSED = "charge.dispute.closed"


class StripeSignatureRefused(BadRequest):
    title = "Stripe signature refused"
    slug = "stripe-signature"


class InvalidStripeEvent(BadRequest):
    title = "Invalid Stripe event"
    slug = "invalid-stripe-event"


_REFUSED = "The Stripe-Signature header does not verify for this endpoint"


def _refuse(reason: str) -> StripeSignatureRefused:
    log.info("stripe webhook refused: %s", reason)
    return StripeSignatureRefused(_REFUSED)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature of a delivery, as Stripe computes it."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """A ``Stripe-Signature`` header as Stripe sends it (one ``v1`` per secret)."""
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)])


@dataclass(frozen=True)
class ParsedSignature:
    timestamp: int
    signatures: list[str]


def parse_signature(header: str | None) -> ParsedSignature:
    if not header:
        raise _refuse("no Stripe-Signature header")
    timestamp: str | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and timestamp is None:
            timestamp = value
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp) or not signatures:
        raise _refuse("Stripe-Signature lacks t or v1")
    return ParsedSignature(timestamp=int(timestamp), signatures=signatures[:_MAX_SIGNATURES])


def check_fresh(parsed: ParsedSignature, *, now: datetime) -> None:
    if abs(now.timestamp() - parsed.timestamp) > TOLERANCE_SECONDS:
        raise _refuse("timestamp outside the tolerance")


def verify(secrets: Sequence[str], parsed: ParsedSignature, body: bytes) -> None:
    matched = False
    for secret in secrets:
        expected = sign(secret, parsed.timestamp, body).encode()
        # No early exit: the time taken does not tell which secret or signature matched.
        for candidate in parsed.signatures:
            matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise _refuse("no signature matches a current secret")


# --- The fields firmflow reads, per handled event type ---------------------------------

StripeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,255}$")]
Amount = Annotated[int, Field(strict=True, ge=0)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]


class _Fields(BaseModel):
    # Stripe objects carry many more fields; only these are read, and only these stored.
    model_config = ConfigDict(extra="ignore")


class Metadata(_Fields):
    invoice_id: uuid.UUID | None = None


class InvoiceMetadata(Metadata):
    invoice_id: uuid.UUID


class _StripeObject(_Fields):
    id: StripeId
    currency: Currency
    metadata: Metadata = Metadata()


class CheckoutSessionObject(_StripeObject):
    payment_intent: StripeId | None = None
    amount_total: Amount
    payment_status: Annotated[str, StringConstraints(max_length=40)]
    metadata: InvoiceMetadata


class PaymentIntentObject(_StripeObject):
    amount_received: Amount
    metadata: InvoiceMetadata
    customer: StripeId | None = None
    payment_method: StripeId | None = None
    setup_future_usage: Annotated[str, StringConstraints(max_length=40)] | None = None


class PaymentError(_Fields):
    code: Annotated[str, StringConstraints(max_length=100)] | None = None
    decline_code: Annotated[str, StringConstraints(max_length=100)] | None = None


class FailedPaymentIntentObject(_StripeObject):
    amount: Amount
    metadata: InvoiceMetadata
    last_payment_error: PaymentError | None = None


class ChargeObject(_StripeObject):
    # No invoice in the metadata: the charge is matched through its payment intent.
    amount: Amount
    amount_refunded: Amount
    payment_intent: StripeId
    # When the charge was made (epoch seconds): the day its payment was received. Events
    # stored before firmflow read it have none (their own ``created`` stands in).
    created: Amount | None = None

    @model_validator(mode="after")
    def _refund_within_amount(self) -> "ChargeObject":
        if self.amount_refunded > self.amount:
            raise ValueError("amount_refunded exceeds amount")
        return self


class DisputeObject(_StripeObject):
    # Its metadata is the dispute's own: it is matched through its payment intent (firmflow
    # only ever charges through payment intents).
    amount: Amount
    charge: StripeId
    payment_intent: StripeId
    reason: Annotated[str, StringConstraints(max_length=100)]
    status: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "needs_response"
    created: Amount | None = None


HANDLED: dict[str, type[_StripeObject]] = {
    CHECKOUT_COMPLETED: CheckoutSessionObject,
    PAYMENT_SUCCEEDED: PaymentIntentObject,
    PAYMENT_FAILED: FailedPaymentIntentObject,
    CHARGE_REFUNDED: ChargeObject,
    DISPUTE_CREATED: DisputeObject,
    DISPUTE_UPDATED: DisputeObject,
    DISPUTE_CLOSED: DisputeObject,
}


class EventData(BaseModel):
    object: dict[str, Any]


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StripeId
    type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    created: Amount
    livemode: Annotated[bool, Field(strict=True)]
    data: EventData


def _invalid(exc: ValidationError, prefix: str) -> InvalidStripeEvent:
    return InvalidStripeEvent(
        "The event lacks fields firmflow needs, or they have the wrong type",
        errors=field_problems(exc, prefix),
    )


def _unknown_invoice(pointer: str) -> InvalidStripeEvent:
    return InvalidStripeEvent(
        "The event names no invoice of this firm",
        errors=[{"pointer": pointer, "detail": "no such invoice in this firm"}],
    )


def parse_event(body: bytes) -> EventEnvelope:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidStripeEvent("The body is not valid JSON") from exc
    try:
        return EventEnvelope.model_validate(payload)
    except ValidationError as exc:
        raise _invalid(exc, "") from None


def _currency_problem(currency: str) -> InvalidStripeEvent:
    return InvalidStripeEvent(
        "The event's currency is not the invoice's",
        errors=[{"pointer": "/data/object/currency", "detail": f"the invoice is in {currency}"}],
    )


@dataclass(frozen=True)
class _Stored:
    # The currency of the invoice the metadata names; None when it names none of this
    # firm's (or names none at all).
    invoice_currency: str | None
    # False: Stripe sent this event before, or the invoice check failed (nothing stored).
    new: bool


def _store_statement() -> Select[str | None, uuid.UUID | None, uuid.UUID | None]:
    """One statement for the whole store (built once; the values are bound parameters):
    the invoice the metadata names (one of this firm's, in the event's currency), the event
    stored once with only the validated fields (not Stripe's whole object), and the outbox
    start of its processing, each written only when what comes before it holds. A charge or
    dispute naming no invoice is stored all the same (matched through its payment intent
    when it is applied). Selects (the invoice's currency, the event's id, the message's
    id), each None when not there or not written."""
    invoice_id = bindparam("invoice_id", type_=Uuid())
    invoice = (
        select(Invoice.currency)
        .where(INVOICES.firm_column == bindparam("firm_id", type_=Uuid()), Invoice.id == invoice_id)
        .cte("invoice")
    )
    holds = or_(invoice_id.is_(None), exists().where(invoice.c.currency == bindparam("currency")))
    columns = ["id", "firm_id", "event_id", "type", "stripe_created", "livemode", "data", "status"]
    table = StripeEvent.__table__.c
    values = select(*(bindparam(f"event_{name}", type_=table[name].type) for name in columns))
    event = (
        insert(StripeEvent)
        .from_select(columns, values.where(holds))
        .on_conflict_do_nothing(index_elements=["firm_id", "event_id"])
        .returning(StripeEvent.id)
        .cte("event")
    )
    message = outbox.following(event)
    return select(
        select(invoice.c.currency).scalar_subquery(),
        select(event.c.id).scalar_subquery(),
        select(message.c.id).scalar_subquery(),
    )


_STORE = _store_statement()


async def _store(
    session: AsyncSession, firm_id: uuid.UUID, envelope: EventEnvelope, obj: _StripeObject
) -> _Stored:
    invoice_id = obj.metadata.invoice_id
    start = outbox.start_workflow(
        stripe_event.WORKFLOW_NAME,
        stripe_event.workflow_id(firm_id, envelope.id),
        StripeEventInput(firm_id=firm_id, event_id=envelope.id),
    )
    row = (
        await session.execute(
            _STORE,
            {
                "firm_id": firm_id,
                "invoice_id": invoice_id,
                "currency": obj.currency.upper(),
                "event_id": uuid.uuid4(),
                "event_firm_id": firm_id,
                "event_event_id": envelope.id,
                "event_type": envelope.type,
                "event_stripe_created": envelope.created,
                "event_livemode": envelope.livemode,
                "event_data": {
                    "invoice_id": str(invoice_id) if invoice_id is not None else None,
                    "object": obj.model_dump(mode="json"),
                },
                "event_status": StripeEventStatus.pending,
                **outbox.following_values(firm_id, start),
            },
        )
    ).one()
    outbox.remember(session, row[2])
    return _Stored(invoice_currency=row[0], new=row[1] is not None)


@dataclass(frozen=True)
class Receipt:
    event_id: str
    # False: not a type firmflow handles (answered 200, not stored).
    handled: bool
    # False: Stripe sent this event before (already stored; nothing else happens).
    new: bool


async def receive(
    session: AsyncSession,
    cipher: Cipher,
    firm_ref: str,
    *,
    body: bytes,
    signature: str | None,
    now: datetime,
) -> Receipt:
    """Verify, validate and store one delivery to the firm's endpoint; the caller commits
    (which also starts the event's processing through the outbox)."""
    try:
        firm_id = uuid.UUID(firm_ref)
    except ValueError:
        raise _refuse("the path names no firm") from None
    parsed = parse_signature(signature)
    check_fresh(parsed, now=now)
    await scope_to_firm(session, firm_id)
    secrets = await active_webhook_secrets(session, firm_id, cipher, now=now)
    if not secrets:
        raise _refuse("the firm has no current signing secret")
    verify(secrets, parsed, body)

    envelope = parse_event(body)
    model = HANDLED.get(envelope.type)
    if model is None:
        return Receipt(event_id=envelope.id, handled=False, new=False)
    try:
        obj = model.model_validate(envelope.data.object)
    except ValidationError as exc:
        raise _invalid(exc, "/data/object") from None
    stored = await _store(session, firm_id, envelope, obj)
    if obj.metadata.invoice_id is not None:
        if stored.invoice_currency is None:
            raise _unknown_invoice("/data/object/metadata/invoice_id")
        if stored.invoice_currency != obj.currency.upper():
            raise _currency_problem(stored.invoice_currency)
    return Receipt(event_id=envelope.id, handled=True, new=stored.new)
