"""Optional members that refuse null: a PATCH member may be left out but never sent as
null. Spelled ``Annotated[X | None, NeverNull] = None`` with a validator that refuses None;
the OpenAPI document then offers no null for it.

Not ``X | SkipJsonSchema[None]``: that makes the member a union, whose validation errors
are reported per branch, so a bad value's pointer would name a branch
(``/currency/constrained-str``) rather than the member (``/currency``)."""

from typing import Any

from pydantic import Field


def without_null(schema: dict[str, Any]) -> None:
    """Drop the null branch from a member's JSON schema."""
    branches = schema.pop("anyOf", None)
    if not isinstance(branches, list):
        return
    kept = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
    if len(kept) == 1 and isinstance(kept[0], dict):
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept


NeverNull: Any = Field(json_schema_extra=without_null)
