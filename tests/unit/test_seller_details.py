"""The seller-detail checks (IBAN mod-97, BIC, VAT id, country) and the tax label that
names a rate's percent once."""

import pytest
from pydantic_core import PydanticCustomError

from models import BillingSettings
from services.billing.rendering import tax_label
from services.billing.seller import (
    iban_checksum_ok,
    missing_for_eu,
    normalize_bic,
    normalize_iban,
    normalize_vat_id,
)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
        "NL91ABNA0417164300",
        "fr14 2004 1010 0505 0001 3m02 606",
        "MT84MALT011000012345MTLCAST001S",
    ],
)
def test_valid_ibans_are_kept_in_electronic_form(iban: str) -> None:
    normal = normalize_iban(iban)
    assert normal == iban.replace(" ", "").upper() and iban_checksum_ok(normal)


@pytest.mark.parametrize(
    ("iban", "kind"),
    [
        ("DE89 3704 0044 0532 0130 01", "iban_checksum"),
        ("DE98 3704 0044 0532 0130 00", "iban_checksum"),
        ("GB82 WEST 1234 5698 7654 23", "iban_checksum"),
        ("DE89", "iban_format"),
        ("8937 0400 4405 3201 3000", "iban_format"),
        ("DE89 3704 0044 0532 0130 00 " + "1" * 20, "iban_format"),
    ],
)
def test_invalid_ibans_say_what_is_wrong(iban: str, kind: str) -> None:
    with pytest.raises(PydanticCustomError) as raised:
        normalize_iban(iban)
    assert raised.value.type == kind
    assert raised.value.message().endswith(".")


def test_bic_and_vat_id() -> None:
    assert normalize_bic("deut de ff") == "DEUTDEFF"
    assert normalize_bic("DEUTDEFF500") == "DEUTDEFF500"
    for bad in ("DEUTDEF", "DEUTDEFF50", "1EUTDEFF", "DEUT1EFF"):
        with pytest.raises(PydanticCustomError):
            normalize_bic(bad)
    assert normalize_vat_id("de 123.456.789") == "DE123456789"
    with pytest.raises(PydanticCustomError):
        normalize_vat_id("123456789")


@pytest.mark.parametrize(
    ("name", "percent", "label"),
    [
        ("USt 19%", "19", "USt 19%"),
        ("USt 19 %", "19", "USt 19 %"),
        ("USt", "19", "USt 19%"),
        ("VAT", "8.5", "VAT 8.5%"),
        ("MwSt 7,5%", "7.5", "MwSt 7,5%"),
        ("TVA 5.5%", "5.5", "TVA 5.5%"),
        # Another number in the name is not this rate's percent.
        ("Rate 119%", "19", "Rate 119% 19%"),
        ("VAT 2019", "19", "VAT 2019 19%"),
    ],
)
def test_tax_label_names_the_percent_once(name: str, percent: str, label: str) -> None:
    assert tax_label(name, percent) == label


def test_only_eu_sellers_must_fill_in_their_details() -> None:
    assert missing_for_eu(BillingSettings(seller_country="US")) == []
    assert missing_for_eu(BillingSettings(seller_country=None)) == []
    missing = missing_for_eu(BillingSettings(seller_country="DE", seller_city="Berlin"))
    assert [error["pointer"] for error in missing] == [
        "/seller_legal_name",
        "/seller_address_line1",
        "/seller_postal_code",
        "/seller_vat_id",
    ]
    assert all(error["detail"].endswith(".") for error in missing)
