"""Validation messages a person reads: pydantic's errors as sentences that say what to do.

Pydantic words its errors for programmers ("Field required", "Value error, …", "String
should match pattern '^\\+?…'"). Every validation problem the API sends passes through
``plain_message`` (core.errors.field_problems and api.errors), so the wording is decided
here once, by error type, with the numbers from the error's context. A message a validator
writes itself (a ValueError, a PydanticCustomError) is kept, made a sentence.

A pattern is never shown: ``string_pattern_mismatch`` gets a generic sentence, and a field
whose format deserves an explanation says it with ``pattern_message`` beside its pattern.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

_DATE = "Enter a date as YYYY-MM-DD."
_DATETIME = "Enter a date and time such as 2026-01-31T09:00:00Z."
_WHOLE = "Enter a whole number."
_NUMBER = "Enter a number."
_DECIMAL = "Enter a decimal number such as 12.50."
_BOOLEAN = "Enter true or false."
_UUID = "Enter an id in UUID form, as the API returned it."
_OBJECT = "Send an object (a JSON object with named members) here."

_BY_TYPE: dict[str, str] = {
    "missing": "This field is required; add it.",
    "extra_forbidden": "This field is not accepted here; remove it.",
    "string_too_long": "Shorten this to at most {max_length} characters.",
    "string_too_short": "Enter at least {min_length} characters.",
    "string_pattern_mismatch": "Enter this in the format the field's description gives.",
    "string_type": "Enter text here.",
    "string_unicode": "Enter text (valid UTF-8) here.",
    "too_long": "Send at most {max_length} items here.",
    "too_short": "Send at least {min_length} items here.",
    "list_type": "Send a list here.",
    "set_type": "Send a list here.",
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "int_parsing": _WHOLE,
    "int_type": _WHOLE,
    "int_from_float": _WHOLE,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "finite_number": "Enter a finite number.",
    "decimal_parsing": _DECIMAL,
    "decimal_type": _DECIMAL,
    "decimal_max_digits": "Use at most {max_digits} digits.",
    "decimal_max_places": "Use at most {decimal_places} digits after the decimal point.",
    "decimal_whole_digits": "Use at most {whole_digits} digits before the decimal point.",
    "bool_parsing": _BOOLEAN,
    "bool_type": _BOOLEAN,
    "greater_than": "Enter a number greater than {gt}.",
    "greater_than_equal": "Enter a number of at least {ge}.",
    "less_than": "Enter a number less than {lt}.",
    "less_than_equal": "Enter a number of at most {le}.",
    "multiple_of": "Enter a multiple of {multiple_of}.",
    "enum": "Choose {expected}.",
    "literal_error": "Choose {expected}.",
    "uuid_parsing": _UUID,
    "uuid_type": _UUID,
    "uuid_version": _UUID,
    "date_parsing": _DATE,
    "date_type": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": "Enter a date as YYYY-MM-DD, without a time.",
    "date_past": "Enter a date in the past.",
    "date_future": "Enter a date in the future.",
    "datetime_parsing": _DATETIME,
    "datetime_type": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_past": "Enter a time in the past.",
    "datetime_future": "Enter a time in the future.",
    "time_parsing": "Enter a time such as 09:30.",
    "time_type": "Enter a time such as 09:30.",
    "timezone_aware": "Give the time with its UTC offset, such as 2026-01-31T09:00:00Z.",
    "timezone_naive": "Give the time without a UTC offset.",
    "url_parsing": "Enter a full URL such as https://example.com/path.",
    "url_type": "Enter a full URL such as https://example.com/path.",
    "url_scheme": "Enter a URL that starts with {expected_schemes}.",
    "url_too_long": "Shorten this URL to at most {max_length} characters.",
    "json_invalid": "The body is not valid JSON; correct its syntax.",
    "json_type": "Send valid JSON here.",
    "union_tag_invalid": "Set {discriminator} to {expected_tags}.",
    "union_tag_not_found": "Add {discriminator}, which says what kind of object this is.",
}
CURRENCY_MESSAGE = "Enter a three-letter ISO 4217 currency code in capitals, such as EUR."
# Validators here word a ValueError as what the field must do ("must be an IANA time zone",
# "may not be null"); such a predicate gets its subject.
_PREDICATES = frozenset({"may", "must", "should", "is", "has", "can", "cannot"})


def sentence(text: str) -> str:
    """``text`` as a sentence: its subject when it starts with a predicate, a capital, a
    full stop."""
    text = text.strip()
    if text.split(" ", 1)[0] in _PREDICATES:
        text = "This field " + text
    if not text.endswith((".", "?", "!")):
        text += "."
    return text[:1].upper() + text[1:]


def plain_message(err: Mapping[str, Any]) -> str:
    """The sentence for one of pydantic's error entries (``ValidationError.errors()``)."""
    kind = err.get("type", "")
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return sentence(str(ctx["error"]))
    if kind == "value_error" and "reason" in ctx:
        # EmailStr's error; its reason (from email-validator) is a sentence already.
        return f"Enter a valid email address: {ctx['reason']}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "Enter a value; this may not be empty."
    template = _BY_TYPE.get(kind)
    if template is not None:
        try:
            return template.format(**ctx)
        except (KeyError, IndexError):
            return sentence(str(err.get("msg", "")))
    return sentence(str(err.get("msg", "This value is not valid; check it.")))


def pattern_message(message: str) -> WrapValidator:
    """Annotated metadata after a ``StringConstraints(pattern=…)``: a value that does not
    match reads ``message`` (a sentence saying what the format is) instead of the generic
    one; the pattern stays declared in the JSON schema."""

    def explain(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if all(err["type"] == "string_pattern_mismatch" for err in exc.errors()):
                raise PydanticCustomError("invalid_format", message) from None
            raise

    return WrapValidator(explain)
