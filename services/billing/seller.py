"""The seller's legal details an invoice carries (billing settings): checks of the IBAN,
BIC, VAT number and country a firm enters, and which details EU law makes mandatory
before an invoice may be issued.

Council Directive 2006/112/EC art. 226 requires on every invoice the supplier's full name
and address and VAT identification number (items 3 and 5), besides the invoice's own
content (date, sequential number, lines, rates and amounts), which finalize already
guarantees. Bank details are not required by the directive (a firm paid by card has none
to show), so they are printed when given but never block an invoice."""

import re

from pydantic_core import PydanticCustomError

from core.errors import Conflict
from models import BillingSettings

# ISO 3166-1 alpha-2 codes of the EU member states.
EU_COUNTRIES = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)
# VAT numbers start with the country's code, except Greece's, which start with EL.
_VAT_PREFIX = {"GR": "EL"}

_SEPARATORS = re.compile(r"[\s.\-]")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_VAT_ID = re.compile(r"[A-Z]{2}[A-Z0-9+*]{2,13}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _compact(value: str) -> str:
    return _SEPARATORS.sub("", value).upper()


def iban_checksum_ok(iban: str) -> bool:
    """ISO 13616 mod-97: the country code and check digits moved to the end, letters as
    numbers (A = 10 … Z = 35), the whole number leaves 1 when divided by 97."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def normalize_iban(value: str) -> str:
    """The IBAN in its electronic form (no spaces, upper case), or a validation error
    whose message tells the person what is wrong."""
    iban = _compact(value)
    if not _IBAN.fullmatch(iban):
        raise PydanticCustomError(
            "iban_format",
            "An IBAN starts with a two-letter country code and two check digits, followed "
            "by 11 to 30 letters and digits (for example DE89 3704 0044 0532 0130 00); "
            "copy it from a bank statement.",
        )
    if not iban_checksum_ok(iban):
        raise PydanticCustomError(
            "iban_checksum",
            "This IBAN's check digits do not match the rest of it, so it contains a typing "
            "mistake; copy it again from a bank statement.",
        )
    return iban


def normalize_bic(value: str) -> str:
    bic = _compact(value)
    if not _BIC.fullmatch(bic):
        raise PydanticCustomError(
            "bic_format",
            "A BIC (SWIFT code) is 8 or 11 letters and digits: 4 for the bank, 2 for the "
            "country, 2 for the location and optionally 3 for the branch (for example "
            "DEUTDEFF or DEUTDEFF500).",
        )
    return bic


def normalize_vat_id(value: str) -> str:
    vat_id = _compact(value)
    if not _VAT_ID.fullmatch(vat_id):
        raise PydanticCustomError(
            "vat_id_format",
            "A VAT identification number starts with the two-letter country prefix followed "
            "by 2 to 13 letters and digits (for example DE123456789).",
        )
    return vat_id


def normalize_country(value: str) -> str:
    country = value.strip().upper()
    if not _COUNTRY.fullmatch(country):
        raise PydanticCustomError(
            "country_format",
            "Give the country as its two-letter ISO 3166 code (for example DE, FR or US).",
        )
    return country


def vat_prefix(country: str) -> str:
    return _VAT_PREFIX.get(country, country)


# Mandatory when the seller is in the EU: (settings field, what a person is asked for).
_REQUIRED_IN_EU: tuple[tuple[str, str], ...] = (
    ("seller_legal_name", "the firm's full legal name"),
    ("seller_address_line1", "the street address"),
    ("seller_postal_code", "the postal code"),
    ("seller_city", "the city"),
)


def missing_for_eu(settings: BillingSettings) -> list[dict[str, str]]:
    """What an EU seller's settings lack before an invoice may be issued, as problem
    errors pointing at the billing settings fields; empty outside the EU."""
    if settings.seller_country not in EU_COUNTRIES:
        return []
    missing = [
        {"pointer": f"/{field}", "detail": f"Enter {wanted}."}
        for field, wanted in _REQUIRED_IN_EU
        if not getattr(settings, field)
    ]
    if not settings.seller_vat_id and not settings.seller_tax_number:
        missing.append(
            {
                "pointer": "/seller_vat_id",
                "detail": "Enter the firm's VAT identification number (or, where national "
                "law allows it instead, its tax number in seller_tax_number).",
            }
        )
    return missing


class SellerDetailsMissing(Conflict):
    title = "Seller details missing"
    slug = "seller-details-missing"


def require_invoice_details(settings: BillingSettings) -> None:
    """Refuse to issue an invoice (or credit note) an EU seller's settings leave without
    the content the law requires; a 409 naming each missing settings field."""
    missing = missing_for_eu(settings)
    if missing:
        raise SellerDetailsMissing(
            f"This invoice cannot be issued yet: invoices of a seller in "
            f"{settings.seller_country} must name the seller's legal name, address and VAT "
            "identification number. Fill in the billing settings fields listed in errors "
            "(PATCH /v1/billing/settings), then issue it again.",
            errors=missing,
        )
