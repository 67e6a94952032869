"""ISO 4217 currencies and their minor-unit exponents: what an invoice may be billed in,
and how its integer minor units are shown (JPY has none, KWD three, most two)."""

from decimal import Decimal

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN "
    "ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES "
    "KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
    "MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR "
    "SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD "
    "TZS UAH USD USN UYU UZS VED VES WST XCD YER ZAR ZMW ZWG"
)

EXPONENTS: dict[str, int] = {
    code: exponent
    for exponent, codes in ((0, _ZERO), (2, _TWO), (3, _THREE), (4, _FOUR))
    for code in codes.split()
}


def is_currency(code: str) -> bool:
    return code in EXPONENTS


def exponent(code: str) -> int:
    return EXPONENTS.get(code, 2)


def format_minor(amount: int, code: str) -> str:
    """``123456, "USD"`` -> ``"1,234.56 USD"``: grouped, with the currency's own number of
    decimals; the code rather than a symbol, which is unambiguous in every locale."""
    places = exponent(code)
    value = Decimal(amount).scaleb(-places)
    return f"{value:,.{places}f} {code}"
