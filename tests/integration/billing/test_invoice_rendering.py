"""Invoice HTML: the shipped default and a firm's own template, escaping, money formatted
by currency, and the sandbox: every way a template could escape, spin or allocate is
refused when it is saved, and a firm template failing on a real invoice falls back to
the default rather than failing."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.errors import Unprocessable
from core.principal import Principal
from services.billing import rendering
from services.billing.currencies import exponent, format_minor, is_currency
from services.billing.settings import get_settings
from services.billing.totals import TaxSnapshot
from tests.billing_factories import make_client, make_invoice
from tests.factories import make_firm


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (123_456, "USD", "1,234.56 USD"),
        (5, "EUR", "0.05 EUR"),
        (123_456, "JPY", "123,456 JPY"),
        (1_234_567, "KWD", "1,234.567 KWD"),
        (0, "BHD", "0.000 BHD"),
        (-250, "USD", "-2.50 USD"),
    ],
)
def test_money_by_currency_exponent(amount: int, currency: str, shown: str) -> None:
    assert format_minor(amount, currency) == shown


def test_currency_table() -> None:
    assert is_currency("USD") and is_currency("JPY") and not is_currency("XYZ")
    assert (exponent("JPY"), exponent("USD"), exponent("KWD")) == (0, 2, 3)


async def test_default_template_renders_and_escapes(db: AsyncSession) -> None:
    owner = await make_firm(db)
    client = await make_client(db, owner, name='<script>alert("x")</script> & Co')
    vat = TaxSnapshot(uuid.uuid4(), "VAT", Decimal("8.5"), inclusive=False)
    invoice = await make_invoice(
        db, owner, client_id=client.id, currency="JPY", lines=((3, 1_500),), taxes=(vat,)
    )
    await scope_to_firm(db, owner.firm.id)
    rendered = await rendering.render_invoice(db, Principal.system(owner.firm.id), invoice.id)
    assert rendered.fell_back is False
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html and "&amp; Co" in rendered.html
    assert "4,500 JPY" in rendered.html and "VAT 8.5%" in rendered.html
    assert f"Invoice {invoice.number}" in rendered.html


async def test_firm_template_and_fallback(db: AsyncSession) -> None:
    owner = await make_firm(db)
    invoice = await make_invoice(db, owner, currency="KWD", lines=((1, 12_345),))
    await scope_to_firm(db, owner.firm.id)
    system = Principal.system(owner.firm.id)
    await rendering.set_invoice_template(
        db,
        system,
        source=(
            "<h1>{{ invoice.number }}</h1>{% for line in lines %}"
            "<p class='{{ loop.cycle('odd', 'even') }}'>{{ line.description|upper }}"
            " {{ line.amount }}</p>{% endfor %}<b>{{ totals.balance }}</b>"
        ),
    )
    rendered = await rendering.render_invoice(db, system, invoice.id)
    assert rendered.fell_back is False
    assert rendered.html == (
        f"<h1>{invoice.number}</h1><p class='odd'>LINE 1 12.345 KWD</p><b>12.345 KWD</b>"
    )

    # Valid on the sample (which has notes), failing on this invoice (which has none).
    await rendering.set_invoice_template(db, system, source="{{ invoice.notes.upper() }}")
    fallback = await rendering.render_invoice(db, system, invoice.id)
    assert fallback.fell_back is True
    assert "12.345 KWD" in fallback.html

    await rendering.clear_invoice_template(db, system)
    assert (await get_settings(db, owner.firm.id)).invoice_template is None


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{% for x in lines %}", "Unexpected end of template"),
        ("{{ no_such_thing }}", "is undefined"),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{{ invoice.__class__ }}", "unsafe"),
        ("{{ lines.append }}", "unsafe"),
        ("{{ '{0:999999999}'.format(1) }}", "unsafe"),
        ("{{ '%0999999999d' % 1 }}", "not allowed"),
        ("{{ 'x' * 1000000 }}", "too long"),
        ("{{ 1000000 * 'x' }}", "too long"),
        ("{{ 'x'.center(999999999) }}", "unsafe"),
        ("{{ 2 ** 100000 }}", "powers"),
        ("{{ client.name|safe }}", "No filter named 'safe'"),
        ("{{ 'x'|format(1) }}", "No filter named 'format'"),
        ("{{ lipsum(100000) }}", "is undefined"),
        ("{% set ns = namespace(s='x') %}", "is undefined"),
        ("{{ range(100000)|list }}", "range() is limited"),
        (
            "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
            "too much work",
        ),
        (
            "{% macro d(n) %}{% if n %}{{ d(n - 1) }}{{ d(n - 1) }}{% endif %}{% endmacro %}"
            "{{ d(40) }}",
            "too much work",
        ),
        ("{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}", "recurses too deeply"),
        (
            "{% macro g(s, n) %}{% if n %}{{ g(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
            "{{ g('x', 60) }}",
            "too long",
        ),
        ("{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}", "output is longer"),
        ("{% include 'other.html' %}", "no loader"),
        ("x" * (rendering.MAX_TEMPLATE_CHARS + 1), "longer than"),
    ],
)
def test_dangerous_or_broken_templates_are_refused(source: str, problem: str) -> None:
    with pytest.raises(Unprocessable) as raised:
        rendering.validate_template(source)
    assert raised.value.errors is not None
    assert raised.value.errors[0]["pointer"] == "/template"
    assert problem in raised.value.detail


def test_the_default_template_passes_its_own_check() -> None:
    rendering.validate_template(rendering.default_template())
