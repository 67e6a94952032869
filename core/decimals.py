"""The JSON Schema of a decimal request member, which pydantic leaves looser than its
validation: pydantic says "a number or any string", while the field refuses more than
``places`` decimals and values above its maximum. The schema offers what is always
accepted: a whole number in range, or a decimal string with at most ``places`` decimals."""

from typing import Any

from pydantic import WithJsonSchema


def decimal_schema(*, maximum: int, places: int, description: str | None = None) -> Any:
    """For ``Annotated[Decimal, Field(ge=0, le=maximum, decimal_places=places), here]``.
    ``maximum`` is a power of ten, so its digits bound the string form exactly."""
    digits = len(str(maximum)) - 1
    if maximum != 10**digits:
        raise ValueError("maximum must be a power of ten")
    fraction = rf"(\.\d{{1,{places}}})?" if places else ""
    top = rf"(\.0{{1,{places}}})?" if places else ""
    schema: dict[str, Any] = {
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": maximum},
            {"type": "string", "pattern": rf"^(\d{{1,{digits}}}{fraction}|{maximum}{top})$"},
        ]
    }
    if description:
        schema["description"] = description
    return WithJsonSchema(schema, mode="validation")
