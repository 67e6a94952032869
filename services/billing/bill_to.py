"""The client as an invoice names it (its bill-to), fixed when the invoice is issued: an
issued invoice is a legal document, so renaming a client or changing its VAT id later
never changes it.

Clients have no tax id or address column; both come from the client's custom fields
``vat_id`` (or ``tax_id``) and ``address`` (one line per line)."""

from typing import Any

from models import Client


def _custom_text(client: Client, *keys: str) -> str | None:
    for key in keys:
        value = (client.custom_fields or {}).get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def bill_to(client: Client) -> dict[str, Any]:
    """{name, email, phone, vat_id, address_lines}, JSON-ready."""
    address = _custom_text(client, "address") or ""
    return {
        "name": client.name,
        "email": client.email,
        "phone": client.phone,
        "vat_id": _custom_text(client, "vat_id", "tax_id"),
        "address_lines": [line.strip() for line in address.splitlines() if line.strip()],
    }
