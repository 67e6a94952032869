"""Invoice HTML: the firm's own template (billing settings) or the shipped default,
rendered in a locked-down Jinja2 sandbox.

A firm's template is code its staff write and the firm's clients read, so beyond
``ImmutableSandboxedEnvironment`` with autoescape:

- the context is plain data (dicts, lists, strings, numbers) built here, never ORM rows;
- only a few string and dict methods and a whitelist of filters are reachable, and no
  ``format`` (its width specifiers allocate at will) or ``safe`` (it would let a client's
  name inject HTML into the invoice);
- every loop iteration, call and intercepted operator spends from a per-render budget,
  and strings built by ``~``, ``+`` and ``*`` have a maximum length, so no template can
  spin or allocate without bound; the output has a maximum length too.

A template is checked when it is saved by compiling it and rendering a sample invoice
(a 422 names the problem). At view time a firm template that fails on a real invoice
falls back to the shipped default, so viewing an invoice never fails."""

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache, wraps
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext, markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Unprocessable
from core.principal import Principal
from models import BillingSettings, Client, Firm, Invoice, InvoiceKind, InvoiceLine
from services import audit
from services.billing.bill_to import bill_to
from services.billing.currencies import format_minor
from services.billing.invoice_lines import lines_of
from services.billing.invoice_status import standing
from services.billing.invoices import get_invoice
from services.billing.settings import get_settings, record_change, summarize
from services.clients import CLIENTS

log = logging.getLogger(__name__)

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 2_000_000
MAX_STRING_CHARS = 100_000
MAX_STEPS = 200_000
MAX_INT_ARGUMENT = 10_000

# Methods a template may call, by the type of the object; nothing else callable is reachable.
SAFE_METHODS: tuple[tuple[type, frozenset[str]], ...] = (
    (
        str,
        frozenset(
            {"capitalize", "endswith", "lower", "lstrip", "rstrip", "startswith", "strip"}
            | {"title", "upper", "isdigit", "isalpha", "split"}
        ),
    ),
    (dict, frozenset({"get", "items", "keys", "values"})),
    (LoopContext, frozenset({"cycle", "changed"})),
)
SAFE_FILTERS = frozenset(
    {"abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "int"}
    | {"join", "last", "length", "list", "lower", "map", "reject", "rejectattr", "round"}
    | {"select", "selectattr", "sort", "string", "striptags", "sum", "title", "trim"}
    | {"truncate", "upper", "float", "unique", "min", "max"}
)
SAFE_GLOBALS = frozenset({"range", "dict", "joiner"})

_budget: ContextVar["_Budget | None"] = ContextVar("invoice_template_budget", default=None)


class _Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise SecurityError("the template does too much work (too many loops or calls)")


def _spend(steps: int = 1) -> None:
    budget = _budget.get()
    if budget is not None:
        budget.spend(steps)


def _check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_STRING_CHARS:
        raise SecurityError("the template builds a value that is too long")
    return value


def _check_arguments(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and abs(arg) > MAX_INT_ARGUMENT:
            raise SecurityError(f"range() is limited to numbers up to {MAX_INT_ARGUMENT}")


def _budgeted(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        _spend()
        yield item


def _concat(values: list[Any]) -> str:
    return str(_check_size(markup_join(values)))


def _guard_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _spend()
        return _check_size(function(*args, **kwargs))

    return guarded


def _range(*args: int) -> range:
    _check_arguments(args)
    return range(*args)


class _InvoiceSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=StrictUndefined)
        self.filters = {
            name: _guard_filter(function)
            for name, function in self.filters.items()
            if name in SAFE_FILTERS
        }
        self.filters["_budgeted"] = _budgeted
        self.filters["_concat"] = _concat
        self.globals = {name: value for name, value in self.globals.items() if name in SAFE_GLOBALS}
        self.globals["range"] = _range

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if not callable(value):
            return True
        return any(isinstance(obj, kind) and attr in names for kind, names in SAFE_METHODS)

    def wrap_str_format(self, value: Any) -> None:
        return None

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _spend()
        if operator == "**" and (abs(right) > 64 or abs(left) > MAX_INT_ARGUMENT):
            raise SecurityError("powers are limited to small numbers")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("string formatting with % is not allowed; use ~")
        if operator == "*" and isinstance(left, int) and isinstance(right, str | list | tuple):
            left, right = right, left
        if (
            operator == "*"
            and isinstance(left, str | list | tuple)
            and isinstance(right, int)
            and len(left) * right > MAX_STRING_CHARS
        ):
            raise SecurityError("the template builds a value that is too long")
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend()
        return _check_size(super().call(__context, __obj, *args, **kwargs))


class TemplateProblem(Exception):
    """A template that does not compile or render; the message is safe to show the firm
    (it names their template's mistake, never our internals)."""


@lru_cache(maxsize=1)
def _environment() -> _InvoiceSandbox:
    return _InvoiceSandbox()


def _guard_ast(tree: nodes.Template) -> nodes.Template:
    """Route every loop through the budget and every ``~`` through the length check."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, "_budgeted", [], [], None, None, lineno=loop.lineno)
    for concat in list(tree.find_all(nodes.Concat)):
        items = nodes.List(list(concat.nodes), lineno=concat.lineno)
        concat.nodes = [nodes.Filter(items, "_concat", [], [], None, None, lineno=concat.lineno)]
    return tree


@lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    """Compiled once per distinct source; the budget lives in a context variable, so one
    compiled template serves every render."""
    env = _environment()
    return env.from_string(_guard_ast(env.parse(source)))


def _render(source: str, context: dict[str, Any]) -> str:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(f"the template is longer than {MAX_TEMPLATE_CHARS} characters")
    token = _budget.set(_Budget(MAX_STEPS))
    try:
        template = _compiled(source)
        output: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateProblem(f"the output is longer than {MAX_OUTPUT_CHARS} characters")
            output.append(chunk)
        return "".join(output)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise TemplateProblem(f"{exc.message or type(exc).__name__}{where}") from exc
    except RecursionError as exc:
        raise TemplateProblem("the template recurses too deeply") from exc
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        raise TemplateProblem(f"the template failed on the sample invoice: {exc}") from exc
    finally:
        _budget.reset(token)


def default_template() -> str:
    return resources.files("services.billing").joinpath("templates/invoice.html.j2").read_text()


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _quantity(value: Decimal) -> str:
    normalized = Decimal(value).normalize()
    return f"{normalized:f}"


def tax_label(name: str, percent: str) -> str:
    """A rate's label: its name and percent ("USt 19%"), or its name alone when the name
    already says the percent, so "USt 19%" never reads "USt 19% 19%"."""
    spelled = "|".join(re.escape(form) for form in {percent, percent.replace(".", ",")})
    if re.search(rf"(?<![\d.,])(?:{spelled})\s*%", name):
        return name
    return f"{name} {percent}%"


def _tax(tax: dict[str, Any]) -> dict[str, Any]:
    # Fixed-point: normalize() alone spells 20 as "2E+1".
    percent = f"{Decimal(str(tax['percent'])).normalize():f}"
    name = str(tax["name"])
    inclusive = bool(tax["inclusive"])
    return {
        "name": name,
        "percent": percent,
        "inclusive": inclusive,
        "label": tax_label(name, percent),
    }


def _grouped(value: str | None) -> str | None:
    """An IBAN as printed: groups of four."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4)) if value else None


def _seller(firm: Firm, settings: BillingSettings) -> dict[str, Any]:
    place = " ".join(part for part in (settings.seller_postal_code, settings.seller_city) if part)
    address = [settings.seller_address_line1, settings.seller_address_line2, place]
    return {
        "legal_name": settings.seller_legal_name or firm.name,
        "address_lines": [line for line in address if line],
        "country": settings.seller_country,
        "vat_id": settings.seller_vat_id,
        "tax_number": settings.seller_tax_number,
        "iban": _grouped(settings.seller_iban),
        "bic": settings.seller_bic,
    }


def build_context(
    invoice: Invoice,
    lines: list[InvoiceLine],
    client: Client,
    firm: Firm,
    settings: BillingSettings,
) -> dict[str, Any]:
    """What a template sees. Money comes both formatted (``total``) and in minor units
    (``total_minor``); dates are ISO 8601 strings. ``seller`` is the firm as billing
    settings name it; ``client`` is the invoice's bill-to, fixed when it was issued (a
    draft, or an invoice issued before bill-to existed, shows the client as it is now)."""
    currency = invoice.currency

    def money(amount: int) -> str:
        return format_minor(amount, currency)

    amounts = {
        "subtotal": invoice.subtotal,
        "discount": invoice.discount_total,
        "tax": invoice.tax_total,
        "tax_exclusive": invoice.tax_exclusive_total,
        "late_fee": invoice.late_fee,
        "total": invoice.total,
        "amount_paid": invoice.amount_paid,
        "amount_credited": invoice.amount_credited,
        "balance": invoice.balance,
    }
    shown = standing(invoice)
    return {
        "firm": {"name": firm.name, "time_zone": firm.time_zone},
        "seller": _seller(firm, settings),
        "client": invoice.bill_to or bill_to(client),
        "invoice": {
            "id": str(invoice.id),
            "title": "Credit note" if invoice.kind == InvoiceKind.credit_note else "Invoice",
            "kind": invoice.kind,
            "number": invoice.number,
            "status": invoice.status,
            "mark": shown.mark,
            "balance_label": shown.balance_label,
            "currency": currency,
            "issue_date": _day(invoice.issue_date),
            "due_date": _day(invoice.due_date),
            "payment_terms_days": invoice.payment_terms_days,
            "notes": invoice.notes,
            "discount_kind": invoice.discount_kind,
            "discount_value": f"{Decimal(invoice.discount_value).normalize():f}",
        },
        "lines": [
            {
                "position": line.position + 1,
                "description": line.description,
                "quantity": _quantity(line.quantity),
                "unit_price": money(line.unit_price),
                "unit_price_minor": line.unit_price,
                "amount": money(line.amount),
                "amount_minor": line.amount,
                "discount": money(line.discount_amount),
                "tax": money(line.tax_amount),
                "taxes": [_tax(tax) for tax in line.taxes],
            }
            for line in lines
        ],
        "taxes": [
            {
                **_tax(tax),
                "taxable": money(int(tax["taxable"])),
                "amount": money(int(tax["amount"])),
            }
            for tax in invoice.tax_breakdown
        ],
        "totals": {name: money(amount) for name, amount in amounts.items()},
        "totals_minor": amounts,
    }


def sample_context() -> dict[str, Any]:
    """A made-up invoice with every field filled in, to check a template on save."""
    firm = Firm(name="Sample Firm LLP", time_zone="UTC")
    settings = BillingSettings(
        seller_legal_name="Sample Firm LLP",
        seller_address_line1="1 Sample Street",
        seller_address_line2="Floor 2",
        seller_postal_code="10115",
        seller_city="Berlin",
        seller_country="DE",
        seller_vat_id="DE123456789",
        seller_tax_number="12/345/67890",
        seller_iban="DE89370400440532013000",
        seller_bic="COBADEFFXXX",
    )
    client = Client(
        name="Sample Client <Ltd>",
        email="billing@example.com",
        phone="+1 555 0100",
        custom_fields={"vat_id": "FR12345678901", "address": "2 Rue Exemple\n75001 Paris"},
    )
    rate = {"tax_rate_id": str(uuid.uuid4()), "name": "VAT", "percent": "20", "inclusive": False}
    invoice = Invoice(
        id=uuid.uuid4(),
        kind=InvoiceKind.invoice,
        number="INV-2026-0001",
        status="open",
        currency="USD",
        issue_date=date(2026, 1, 15),
        due_date=date(2026, 2, 14),
        payment_terms_days=30,
        notes="Thank you for your business.",
        discount_kind="percent",
        discount_value=Decimal(10),
        subtotal=30_000,
        discount_total=3_000,
        tax_total=5_400,
        tax_exclusive_total=5_400,
        late_fee=1_000,
        total=33_400,
        amount_paid=10_000,
        amount_credited=0,
        balance=23_400,
        tax_breakdown=[{**rate, "taxable": 27_000, "amount": 5_400}],
    )
    lines = [
        InvoiceLine(
            position=0,
            description="Monthly bookkeeping",
            quantity=Decimal(1),
            unit_price=20_000,
            taxes=[rate],
            amount=20_000,
            discount_amount=2_000,
            tax_amount=3_600,
        ),
        InvoiceLine(
            position=1,
            description="Payroll run",
            quantity=Decimal("2.5"),
            unit_price=4_000,
            taxes=[rate],
            amount=10_000,
            discount_amount=1_000,
            tax_amount=1_800,
        ),
    ]
    return build_context(invoice, lines, client, firm, settings)


def validate_template(source: str) -> None:
    """Compile ``source`` and render the sample invoice with it, or raise a 422."""
    try:
        _render(source, sample_context())
    except TemplateProblem as exc:
        raise Unprocessable(
            f"The invoice template cannot be used: {exc}",
            errors=[{"pointer": "/template", "detail": str(exc)}],
        ) from exc


@dataclass(frozen=True)
class RenderedInvoice:
    html: str
    # "firm", "default", or "default-fallback" when the firm's template failed on this
    # invoice and the default was used.
    template: str

    @property
    def fell_back(self) -> bool:
        return self.template == "default-fallback"


async def render_invoice(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID
) -> RenderedInvoice:
    invoice = await get_invoice(session, principal, invoice_id)
    lines = await lines_of(session, invoice)
    client = (
        await session.scalars(CLIENTS.select(invoice.firm_id).where(Client.id == invoice.client_id))
    ).one()
    firm = (await session.scalars(select(Firm).where(Firm.id == invoice.firm_id))).one()
    settings = await get_settings(session, principal.firm_id)
    context = build_context(invoice, lines, client, firm, settings)
    if settings.invoice_template is not None:
        try:
            return RenderedInvoice(_render(settings.invoice_template, context), template="firm")
        except TemplateProblem as exc:
            log.warning(
                "invoice template failed; rendered the default",
                extra={"invoice_id": str(invoice.id), "problem": str(exc)},
            )
    fallback = "default-fallback" if settings.invoice_template is not None else "default"
    return RenderedInvoice(_render(default_template(), context), template=fallback)


async def set_invoice_template(
    session: AsyncSession, principal: Principal, *, source: str
) -> BillingSettings:
    """Store the firm's own template once it compiles and renders the sample invoice."""
    validate_template(source)
    settings = await get_settings(session, principal.firm_id, lock=True)
    before = summarize(settings)
    changed = settings.invoice_template != source
    settings.invoice_template = source
    if changed:
        await session.flush()
        await session.refresh(settings)
        await audit.record(
            session,
            principal,
            action="billing_settings.invoice_template_set",
            record_type="billing_settings",
            record_id=settings.id,
            before={"custom_template": before["custom_template"]},
            after={"custom_template": True, "template_chars": len(source)},
        )
    return settings


async def clear_invoice_template(session: AsyncSession, principal: Principal) -> BillingSettings:
    """Go back to the shipped default template."""
    settings = await get_settings(session, principal.firm_id, lock=True)
    before = summarize(settings)
    settings.invoice_template = None
    return await record_change(session, principal, settings, before)
