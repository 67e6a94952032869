"""Signing: the recipient's fields filled, their signature (and initials) taken, and the
recipient marked signed, in one transaction that holds their row locked, so a second
submit waits for the first and then finds them signed (409), never signing twice.

What is checked, each refusal a 422 pointing at the member: every submitted field is one
of this recipient's (``/fields/<i>/field_id``), given once; a text is at most
``MAX_TEXT`` characters; a checkbox is ``"true"`` or ``"false"``; a required text is not
blank and a required checkbox is ticked (``/fields/<i>/value``, or ``/fields`` naming a
required field left out); signature, initials and signing date are not the signer's to
type into a field: the date is the server's (today in the firm's time zone, ISO 8601) and
the signature and initials are the recipient's own. A signer signs (typed: 1..200
characters; drawn: a PNG, services/esignature/signature_images.py), with initials too when
they have initials fields; an approver approves with neither."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.errors import Unprocessable
from models import EnvelopeField, EnvelopeRecipient, FieldKind, RecipientRole
from services.esignature import progress
from services.esignature.repository import FIELDS
from services.esignature.signature_images import clean_png
from services.esignature.signing import (
    SOURCE,
    RecipientDone,
    SigningView,
    Visitor,
    open_signing,
    require_access,
    require_open,
    require_pending,
    require_turn,
    view_of,
)

MAX_TEXT = 500
MAX_SIGNATURE_TEXT = 200
MAX_INITIALS_TEXT = 20
# The base64 of a 200 KB PNG, with room for padding.
MAX_BASE64 = 280_000
_SERVER_FILLED = frozenset({FieldKind.signature, FieldKind.initials, FieldKind.date_signed})


class TypedMark(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["typed"]
    text: str = Field(min_length=1, max_length=MAX_SIGNATURE_TEXT)


class DrawnMark(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["drawn"]
    image_png_base64: str = Field(min_length=1, max_length=MAX_BASE64)


Mark = Annotated[TypedMark | DrawnMark, Field(discriminator="kind")]


class FieldEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field_id: uuid.UUID
    value: str | None = Field(default=None, max_length=MAX_TEXT)


class SignFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signature: Mark | None = None
    initials: Mark | None = None
    fields: list[FieldEntry] = Field(default_factory=list, max_length=500)


def _problem(pointer: str, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "detail": detail}


def _entry_problems(
    entries: list[FieldEntry], own: dict[uuid.UUID, EnvelopeField]
) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    seen: set[uuid.UUID] = set()
    for index, entry in enumerate(entries):
        field = own.get(entry.field_id)
        if field is None or entry.field_id in seen:
            reason = "is not one of your fields" if field is None else "is given twice"
            problems.append(_problem(f"/fields/{index}/field_id", f"This field {reason}"))
            continue
        seen.add(entry.field_id)
        pointer, value = f"/fields/{index}/value", entry.value
        if field.kind in _SERVER_FILLED:
            if value is not None:
                problems.append(_problem(pointer, "This field is filled in for you"))
        elif field.kind == FieldKind.checkbox:
            if value not in (None, "true", "false"):
                problems.append(_problem(pointer, "A checkbox is 'true' or 'false'"))
            elif field.required and value != "true":
                problems.append(_problem(pointer, "This box must be ticked"))
        elif field.required and not (value or "").strip():
            problems.append(_problem(pointer, "This field is required"))
    for field in own.values():
        if field.required and field.kind not in _SERVER_FILLED and field.id not in seen:
            name = f"'{field.label}'" if field.label else str(field.id)
            problems.append(_problem("/fields", f"The required field {name} is missing"))
    return problems


def _mark_problems(
    recipient: EnvelopeRecipient, fields: SignFields, has_initials: bool
) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    if recipient.role == RecipientRole.approver:
        for name, mark in (("signature", fields.signature), ("initials", fields.initials)):
            if mark is not None:
                problems.append(_problem(f"/{name}", "An approver approves without signing"))
        return problems
    if fields.signature is None:
        problems.append(_problem("/signature", "Sign by typing your name or drawing"))
    if has_initials and fields.initials is None:
        problems.append(_problem("/initials", "Add your initials"))
    if not has_initials and fields.initials is not None:
        problems.append(_problem("/initials", "This envelope asks you for no initials"))
    for name, mark, limit in (
        ("signature", fields.signature, MAX_SIGNATURE_TEXT),
        ("initials", fields.initials, MAX_INITIALS_TEXT),
    ):
        if isinstance(mark, TypedMark) and not 1 <= len(mark.text.strip()) <= limit:
            problems.append(_problem(f"/{name}/text", f"Type 1 to {limit} characters"))
    return problems


def _take_mark(recipient: EnvelopeRecipient, mark: Mark | None, *, initials: bool) -> None:
    """Store a checked signature (or initials) on the recipient: text, or clean pixels."""
    name = "initials" if initials else "signature"
    text = mark.text.strip() if isinstance(mark, TypedMark) else None
    image = (
        clean_png(mark.image_png_base64, pointer=f"/{name}/image_png_base64")
        if isinstance(mark, DrawnMark)
        else None
    )
    if initials:
        recipient.initials_text, recipient.initials_image = text, image
    else:
        recipient.signature_kind = mark.kind if mark is not None else None
        recipient.signature_text, recipient.signature_image = text, image


async def sign(
    session: AsyncSession,
    settings: Settings,
    recipient_id: uuid.UUID,
    token: str | None,
    visitor: Visitor,
    *,
    fields: SignFields,
) -> SigningView:
    """Fill the recipient's fields, take their signature and mark them signed."""
    signing = await open_signing(session, settings, recipient_id, token, lock=True)
    require_open(signing)
    require_pending(signing)
    await require_turn(session, signing)
    require_access(signing)
    recipient = signing.recipient
    own = {
        field.id: field
        for field in await session.scalars(
            FIELDS.select(signing.firm.id).where(EnvelopeField.recipient_id == recipient.id)
        )
    }
    has_initials = any(field.kind == FieldKind.initials for field in own.values())
    problems = _entry_problems(fields.fields, own) + _mark_problems(recipient, fields, has_initials)
    if problems:
        raise Unprocessable(" ".join(p["detail"] + "." for p in problems), errors=problems)
    _take_mark(recipient, fields.signature, initials=False)
    _take_mark(recipient, fields.initials, initials=True)
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(signing.firm.time_zone)).date().isoformat()
    values = {entry.field_id: entry.value for entry in fields.fields}
    for field in own.values():
        if field.kind == FieldKind.date_signed:
            field.value, field.filled_at = today, now
        elif field.kind not in _SERVER_FILLED and values.get(field.id) is not None:
            field.value, field.filled_at = values[field.id], now
    await session.flush()
    signed = await progress.recipient_changed(
        session,
        signing.envelope,
        recipient,
        "signed",
        source=SOURCE,
        at=now,
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent,
        detail={"signature_kind": recipient.signature_kind} if recipient.signature_kind else None,
    )
    if not signed:
        raise RecipientDone("You have already answered this envelope")
    return await view_of(session, signing)
