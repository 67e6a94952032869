"""The firm's dunning policy: which reminders go out relative to an invoice's due date, the
late fee, the final notice and the escalation, and the templates of the emails.

One row per firm (``DunningPolicy``), created from ``DEFAULT_POLICY`` the first time it is
read. ``steps`` holds the validated ``PolicyStep`` list in the order they happen. A change
bumps ``version`` and signals every open invoice's dunning workflow to re-plan.

Reminder subjects and bodies are firm-written templates rendered by pure.expressions
(the sandboxed, size-limited Jinja2 environment of automations): ``{{ … }}`` placeholders
only, no statements. The names a template may use are those of ``template_context``."""

import enum
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.decimals import decimal_schema
from core.errors import Unprocessable, field_problems
from core.principal import Principal
from core.validation_messages import pattern_message
from models import Client, DunningPolicy, Firm, Invoice, InvoiceKind, InvoiceStatus
from pure import expressions
from services import audit
from services.billing.currencies import format_minor
from services.billing.repository import DUNNING_POLICIES, INVOICES
from services.outbox import writer as outbox
from workflows.billing.dunning import contracts as dunning

INVOICE_STEP = "invoice"
ENDLESS_PREFIX = "endless-"
MAX_STEPS = 20
MAX_SUBJECT = 200
MAX_BODY = 10_000
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class StepKind(enum.StrEnum):
    reminder = "reminder"
    final_notice = "final_notice"
    # No email: a staff task, and the invoice is marked in collections.
    escalation = "escalation"


class PolicyStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[
        str,
        StringConstraints(pattern=_KEY.pattern),
        pattern_message(
            "Use 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit."
        ),
    ]
    kind: StepKind = StepKind.reminder
    # Days from the due date (negative: before it).
    offset_days: int = Field(ge=-90, le=365)
    subject: Annotated[str, StringConstraints(max_length=MAX_SUBJECT)] | None = None
    body: Annotated[str, StringConstraints(max_length=MAX_BODY)] | None = None


class PolicyDoc(BaseModel):
    """The policy as the API reads and writes it (everything but id and version)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    steps: list[PolicyStep] = Field(max_length=MAX_STEPS)
    late_fee_fixed: int = Field(default=0, ge=0, le=10**12)
    late_fee_percent: Annotated[Decimal, decimal_schema(maximum=100, places=4)] = Field(
        default=Decimal(0), ge=0, le=100, decimal_places=4
    )
    late_fee_step: str | None = None
    endless_every_days: int | None = Field(default=None, ge=1, le=365)


_DUE_SOON_BODY = (
    "Dear {{ client.name }},\n\n"
    "invoice {{ invoice.number }} of {{ invoice.total }} is due on {{ invoice.due_date }}.\n"
    "Balance: {{ invoice.balance }}\n\nPay online: {{ pay_link }}\n\n{{ firm.name }}\n"
)
_OVERDUE_BODY = (
    "Dear {{ client.name }},\n\n"
    "invoice {{ invoice.number }} was due on {{ invoice.due_date }} and is "
    "{{ days_overdue }} days overdue.\n"
    "Balance: {{ invoice.balance }}{{ ' (including a late fee of ' ~ invoice.late_fee ~ ')' "
    "if invoice.has_late_fee else '' }}\n\n"
    "Pay online: {{ pay_link }}\n\n{{ firm.name }}\n"
)


def _reminder(key: str, offset: int, subject: str, body: str = _OVERDUE_BODY) -> PolicyStep:
    return PolicyStep(key=key, offset_days=offset, subject=subject, body=body)


DEFAULT_POLICY = PolicyDoc(
    steps=[
        _reminder("due-soon", -3, "Invoice {{ invoice.number }} is due soon", _DUE_SOON_BODY),
        _reminder("due-today", 0, "Invoice {{ invoice.number }} is due today", _DUE_SOON_BODY),
        _reminder("overdue-3", 3, "Reminder: invoice {{ invoice.number }} is overdue"),
        _reminder("overdue-7", 7, "Second reminder: invoice {{ invoice.number }} is overdue"),
        _reminder("overdue-14", 14, "Third reminder: invoice {{ invoice.number }} is overdue"),
        PolicyStep(
            key="final-notice",
            kind=StepKind.final_notice,
            offset_days=21,
            subject="Final notice: invoice {{ invoice.number }}",
            body=_OVERDUE_BODY,
        ),
        PolicyStep(key="escalation", kind=StepKind.escalation, offset_days=30),
    ]
)

# The email that carries the invoice itself (step "invoice"), sent when dunning starts, with
# the invoice's PDF attached (services/billing/invoice_pdf.py). Its link opens the rendered
# invoice, its PDF and its Pay button (services/billing/pay_links.py).
INVOICE_SUBJECT = "Invoice {{ invoice.number }} from {{ firm.name }}"
INVOICE_BODY = (
    "Dear {{ client.name }},\n\n"
    "attached is invoice {{ invoice.number }} of {{ invoice.total }} as a PDF, issued on "
    "{{ invoice.issue_date }} and due on {{ invoice.due_date }}.\n\n"
    "View the invoice, download it again and pay it online: {{ pay_link }}\n\n"
    "{{ firm.name }}\n"
)


def _problem(pointer: str, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "detail": detail}


def _template_problems(step: PolicyStep, index: int) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    for field in ("subject", "body"):
        text: str | None = getattr(step, field)
        pointer = f"/steps/{index}/{field}"
        if step.kind == StepKind.escalation:
            if text is not None:
                problems.append(_problem(pointer, "an escalation sends no email"))
            continue
        if not text or not text.strip():
            problems.append(_problem(pointer, "required for a step that sends an email"))
            continue
        try:
            render_template(text, sample_context())
        except expressions.ExpressionError as exc:
            problems.append(_problem(pointer, exc.message))
    return problems


def _step_problems(doc: PolicyDoc) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, step in enumerate(doc.steps):
        if step.key in seen:
            problems.append(_problem(f"/steps/{index}/key", "duplicate step key"))
        if step.key == INVOICE_STEP or step.key.startswith(ENDLESS_PREFIX):
            problems.append(_problem(f"/steps/{index}/key", "reserved step key"))
        seen.add(step.key)
        if index > 0 and step.offset_days <= doc.steps[index - 1].offset_days:
            problems.append(
                _problem(f"/steps/{index}/offset_days", "must be later than the step before")
            )
        if step.kind == StepKind.escalation and index != len(doc.steps) - 1:
            problems.append(_problem(f"/steps/{index}/kind", "the escalation must be the last"))
        problems.extend(_template_problems(step, index))
    return problems


def _late_fee_problems(doc: PolicyDoc) -> list[dict[str, str]]:
    has_fee = doc.late_fee_fixed > 0 or doc.late_fee_percent > 0
    if doc.late_fee_step is None:
        return (
            [_problem("/late_fee_step", "a late fee needs the step it applies at")]
            if has_fee
            else []
        )
    if not has_fee:
        return [_problem("/late_fee_step", "set late_fee_fixed or late_fee_percent too")]
    step = next((s for s in doc.steps if s.key == doc.late_fee_step), None)
    if step is None:
        return [_problem("/late_fee_step", "no step with this key")]
    if step.kind == StepKind.escalation:
        return [_problem("/late_fee_step", "must be a step that sends an email")]
    return []


def validate_policy(data: Any) -> PolicyDoc:
    """The policy ``data`` describes, or ``Unprocessable`` with a JSON pointer per problem."""
    try:
        doc = PolicyDoc.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable("The dunning policy is invalid", errors=field_problems(exc)) from None
    return check_policy(doc)


def check_policy(doc: PolicyDoc) -> PolicyDoc:
    """The rules across fields (keys, order, templates, late fee), each problem with its
    JSON pointer; ``doc`` itself when there is none."""
    problems = _step_problems(doc) + _late_fee_problems(doc)
    if doc.endless_every_days is not None and not any(
        s.kind != StepKind.escalation for s in doc.steps
    ):
        problems.append(
            _problem("/endless_every_days", "endless reminders repeat a reminder step's email")
        )
    if problems:
        raise Unprocessable("The dunning policy is invalid", errors=problems)
    return doc


def late_fee_amount(doc: PolicyDoc, balance: int) -> int:
    """The fee: the fixed part plus the percentage of the balance, rounded half-even."""
    percent = (Decimal(balance) * doc.late_fee_percent / 100).quantize(Decimal(1))
    return doc.late_fee_fixed + int(percent)


def endless_template_step(doc: PolicyDoc) -> PolicyStep | None:
    """Endless reminders repeat the email of the last step that sends one."""
    return next((s for s in reversed(doc.steps) if s.kind != StepKind.escalation), None)


def template_context(
    *,
    invoice: Invoice,
    client: Client,
    firm: Firm,
    today: date,
    pay_link: str,
) -> dict[str, Any]:
    """What a reminder template may read; ``today`` is the send date in the firm's time
    zone, amounts are formatted in the invoice's currency."""
    currency = invoice.currency
    overdue = (today - invoice.due_date).days if invoice.due_date else 0
    return {
        "invoice": {
            "id": str(invoice.id),
            "number": invoice.number or "",
            "currency": currency,
            "total": format_minor(invoice.total, currency),
            "balance": format_minor(invoice.balance, currency),
            "amount_paid": format_minor(invoice.amount_paid, currency),
            "late_fee": format_minor(invoice.late_fee, currency),
            "has_late_fee": invoice.late_fee > 0,
            "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else "",
            "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
        },
        "days_overdue": max(overdue, 0),
        "days_until_due": max(-overdue, 0),
        "client": {"name": client.name, "email": client.email or ""},
        "firm": {"name": firm.name},
        "pay_link": pay_link,
    }


def sample_context() -> dict[str, Any]:
    """Made-up values with every name of ``template_context``, to check and preview."""
    return {
        "invoice": {
            "id": "00000000-0000-0000-0000-000000000000",
            "number": "INV-2026-0042",
            "currency": "EUR",
            "total": "1,190.00 EUR",
            "balance": "1,215.00 EUR",
            "amount_paid": "0.00 EUR",
            "late_fee": "25.00 EUR",
            "has_late_fee": True,
            "issue_date": "2026-03-01",
            "due_date": "2026-03-31",
        },
        "days_overdue": 7,
        "days_until_due": 0,
        "client": {"name": "Example Client Ltd", "email": "billing@client.example"},
        "firm": {"name": "Your Firm"},
        "pay_link": "https://pay.example/invoice",
    }


def render_template(template: str, context: Mapping[str, Any]) -> str:
    """The rendered text; raises ``expressions.ExpressionError`` (syntax, unknown name,
    sandbox escape, size) with a message fit for the firm."""
    rendered = expressions.render(template, context)
    return rendered if isinstance(rendered, str) else str(rendered)


def as_doc(policy: DunningPolicy) -> PolicyDoc:
    return PolicyDoc(
        enabled=policy.enabled,
        steps=[PolicyStep.model_validate(step) for step in policy.steps],
        late_fee_fixed=policy.late_fee_fixed,
        late_fee_percent=policy.late_fee_percent,
        late_fee_step=policy.late_fee_step,
        endless_every_days=policy.endless_every_days,
    )


def _columns(doc: PolicyDoc) -> dict[str, Any]:
    return {
        "enabled": doc.enabled,
        "steps": [step.model_dump(mode="json", exclude_none=True) for step in doc.steps],
        "late_fee_fixed": doc.late_fee_fixed,
        "late_fee_percent": doc.late_fee_percent,
        "late_fee_step": doc.late_fee_step,
        "endless_every_days": doc.endless_every_days,
    }


async def load_policy(
    session: AsyncSession, firm_id: uuid.UUID, *, lock: bool = False
) -> DunningPolicy:
    """The firm's policy row, created from the shipped default if it has none yet (two
    first reads at once both end with the one row)."""
    await session.execute(
        insert(DunningPolicy)
        .values(id=uuid.uuid4(), firm_id=firm_id, version=1, **_columns(DEFAULT_POLICY))
        .on_conflict_do_nothing(index_elements=["firm_id"])
    )
    query = DUNNING_POLICIES.select(firm_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query.execution_options(populate_existing=True))).one()


async def get_policy(session: AsyncSession, principal: Principal) -> DunningPolicy:
    return await load_policy(session, principal.firm_id)


def summarize(policy: DunningPolicy) -> dict[str, Any]:
    return {"version": policy.version, **as_doc(policy).model_dump(mode="json")}


async def _signal_open_invoices(session: AsyncSession, firm_id: uuid.UUID, version: int) -> None:
    """Every invoice that may have a running dunning workflow hears of the new version;
    the dispatcher drops the signals to workflows that are not running."""
    invoice_ids = await session.scalars(
        select(Invoice.id).where(
            INVOICES.owned_by(firm_id),
            Invoice.kind == InvoiceKind.invoice,
            Invoice.status.in_([InvoiceStatus.open, InvoiceStatus.partially_paid]),
        )
    )
    await outbox.enqueue_many(
        session,
        firm_id,
        [
            outbox.signal_workflow(
                dunning.workflow_id(invoice_id),
                dunning.POLICY_CHANGED_SIGNAL,
                dedupe_key=(
                    f"signal:{dunning.workflow_id(invoice_id)}:{dunning.POLICY_CHANGED_SIGNAL}:{version}"
                ),
            )
            for invoice_id in invoice_ids
        ],
    )


async def update_policy(
    session: AsyncSession, principal: Principal, *, doc: PolicyDoc
) -> DunningPolicy:
    """Replace the policy (``doc`` comes from ``validate_policy``), bump its version and
    tell the running workflows; already sent steps are never sent again."""
    policy = await load_policy(session, principal.firm_id, lock=True)
    before = summarize(policy)
    for name, value in _columns(doc).items():
        setattr(policy, name, value)
    policy.version += 1
    await session.flush()
    await audit.record(
        session,
        principal,
        action="dunning_policy.updated",
        record_type="dunning_policy",
        record_id=policy.id,
        before=before,
        after=summarize(policy),
    )
    await _signal_open_invoices(session, principal.firm_id, policy.version)
    return policy


class PreviewRequest(BaseModel):
    """A step of the saved policy (``step_key``; ``invoice`` is the invoice email) or the
    templates being edited (``subject`` and ``body``), for an invoice or sample data."""

    model_config = ConfigDict(extra="forbid")

    step_key: str | None = Field(default=None, max_length=60)
    subject: Annotated[str, StringConstraints(max_length=MAX_SUBJECT)] | None = None
    body: Annotated[str, StringConstraints(max_length=MAX_BODY)] | None = None
    invoice_id: uuid.UUID | None = None


async def _templates_for(
    session: AsyncSession, principal: Principal, request: PreviewRequest
) -> tuple[str, str]:
    if request.subject is not None or request.body is not None:
        return request.subject or "", request.body or ""
    if request.step_key is None:
        raise Unprocessable(
            "Name a step of the policy, or send the subject and body to preview",
            errors=[_problem("/step_key", "required without subject and body")],
        )
    if request.step_key == INVOICE_STEP:
        return INVOICE_SUBJECT, INVOICE_BODY
    doc = as_doc(await load_policy(session, principal.firm_id))
    step = (
        endless_template_step(doc)
        if request.step_key.startswith(ENDLESS_PREFIX)
        else next((s for s in doc.steps if s.key == request.step_key), None)
    )
    if step is None or step.subject is None or step.body is None:
        raise Unprocessable(
            "The policy has no step with this key that sends an email",
            errors=[_problem("/step_key", "no such email step in the policy")],
        )
    return step.subject, step.body


async def preview(
    session: AsyncSession, principal: Principal, *, request: PreviewRequest, pay_link_base: str
) -> dict[str, str]:
    """The rendered subject and body; a template error is a 422 pointing at its field."""
    subject, body = await _templates_for(session, principal, request)
    context = sample_context()
    if request.invoice_id is not None:
        invoice = await INVOICES.get_or_404(
            session, principal, request.invoice_id, pointer="/invoice_id"
        )
        firm = await session.get_one(Firm, principal.firm_id)
        context = template_context(
            invoice=invoice,
            client=await session.get_one(Client, invoice.client_id),
            firm=firm,
            today=datetime.now(ZoneInfo(firm.time_zone)).date(),
            pay_link=f"{pay_link_base.rstrip('/')}/pay/{invoice.id}",
        )
    rendered: dict[str, str] = {}
    problems: list[dict[str, str]] = []
    for field, template in (("subject", subject), ("body", body)):
        try:
            rendered[field] = render_template(template, context)
        except expressions.ExpressionError as exc:
            problems.append(_problem(f"/{field}", exc.message))
    if problems:
        raise Unprocessable("The template does not render", errors=problems)
    rendered["subject"] = " ".join(rendered["subject"].split())
    return rendered
