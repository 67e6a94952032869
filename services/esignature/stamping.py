"""Stamping: what the recipients filled in, drawn onto the pages of the pinned PDF.

For a document with fields, one HTML page per page that has fields is laid out by
WeasyPrint, each the size of that page in points (named CSS pages, so one layout serves
the whole document), with an absolutely positioned box per field from its fractions of the
page: a typed signature or initials in the Z003 script face, a drawn one as its PNG (an
inline ``data:`` image), text as typed, a check mark for a ticked checkbox, the date for a
date field. Each overlay page is merged onto its page with pypdf.

Fractions are of the page as displayed, the way ``pages.pdf_layout`` measured it (the
media box, its sides swapped for a page rotated by 90 or 270 degrees), from its top-left
corner. The overlay is drawn upright in those displayed coordinates, then rotated and moved
into the page's own space (its /Rotate and the media box's origin), so a field lands where
the recipient saw it on a rotated page or one whose media box does not start at 0,0. A
crop box smaller than the media box is not taken into account (the preview and the layout
both measure the media box).

Nothing is fetched: the only URLs the HTML holds are the ``data:`` images made here, and
the fetcher refuses every other. The work is CPU-bound: ``stamp_pdf`` blocks (call it
through ``asyncio.to_thread``)."""

import base64
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from models import EnvelopeField, EnvelopeRecipient, FieldKind

SCRIPT_FONT = "Z003"
CHECK_MARK = "\u2713"
MAX_TEXT_PT = 14.0


@dataclass(frozen=True)
class Stamp:
    """One filled field: where (1-based page, fractions from the top-left corner) and what
    (``text`` in ``font``, or a PNG)."""

    page: int
    x: float
    y: float
    width: float
    height: float
    text: str | None = None
    image_png: bytes | None = None
    script: bool = False


class DataOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """Inline ``data:`` URLs only."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        if not url.lower().startswith("data:"):
            raise ValueError("stamping fetches nothing but inline data: URLs")
        return super().fetch(url, headers)


def _signature(
    recipient: EnvelopeRecipient, *, initials: bool
) -> tuple[str | None, bytes | None, bool]:
    image = recipient.initials_image if initials else recipient.signature_image
    typed = recipient.initials_text if initials else recipient.signature_text
    if initials and image is None and typed is None:
        # No initials given separately: the signature stands for them.
        return _signature(recipient, initials=False)
    if image is not None:
        return None, image, False
    return typed, None, typed is not None


def _mark(
    field: EnvelopeField, recipient: EnvelopeRecipient
) -> tuple[str | None, bytes | None, bool]:
    """(text, image, in the script face) of a filled field; (None, None, False) leaves
    it blank."""
    if field.kind in (FieldKind.signature, FieldKind.initials):
        return _signature(recipient, initials=field.kind == FieldKind.initials)
    if field.kind == FieldKind.checkbox:
        return (CHECK_MARK if field.value == "true" else None), None, False
    if field.kind == FieldKind.date_signed and not field.value:
        signed = recipient.signed_at
        return (signed.strftime("%Y-%m-%d") if signed else None), None, False
    return field.value or None, None, False


def stamps_for(
    fields: Iterable[EnvelopeField], recipients: dict[Any, EnvelopeRecipient]
) -> list[Stamp]:
    """The stamps of a document's fields, filled by ``recipients`` (by id); a field of a
    recipient who did not sign, or left empty, stamps nothing."""
    stamps = []
    for field in fields:
        recipient = recipients.get(field.recipient_id)
        if recipient is None or recipient.signed_at is None:
            continue
        text, image, script = _mark(field, recipient)
        if text is None and image is None:
            continue
        stamps.append(
            Stamp(
                page=field.page,
                x=field.x,
                y=field.y,
                width=field.width,
                height=field.height,
                text=text,
                image_png=image,
                script=script,
            )
        )
    return stamps


def _displayed(page: PageObject) -> tuple[float, float, int]:
    box = page.mediabox
    width, height = float(box.width), float(box.height)
    rotation = (page.rotation or 0) % 360
    if rotation % 180:
        width, height = height, width
    return width, height, rotation


def _box_html(stamp: Stamp, width: float, height: float) -> str:
    w, h = stamp.width * width, stamp.height * height
    style = (
        f"left:{stamp.x * width:.2f}pt;top:{stamp.y * height:.2f}pt;"
        f"width:{w:.2f}pt;height:{h:.2f}pt"
    )
    if stamp.image_png is not None:
        source = "data:image/png;base64," + base64.b64encode(stamp.image_png).decode()
        return f'<div class="f" style="{style}"><img src="{source}" alt=""></div>'
    text = stamp.text or ""
    # Fits the box's height and, roughly (about half an em per character), its width; typed
    # text no larger than a form's, a script signature as large as its box allows.
    fitted = min(h * (0.8 if stamp.script else 0.65), w / max(1, len(text)) * 1.7)
    size = max(4.0, fitted if stamp.script else min(fitted, MAX_TEXT_PT))
    face = f"font-family:'{SCRIPT_FONT}';" if stamp.script else ""
    return (
        f'<div class="f t" style="{style};{face}font-size:{size:.2f}pt;'
        f'line-height:{h:.2f}pt">{escape(text)}</div>'
    )


_CSS = """
html, body { margin: 0; padding: 0; }
.p { position: relative; overflow: hidden; break-after: page; }
.p:last-child { break-after: auto; }
.f { position: absolute; overflow: hidden; }
.t { white-space: nowrap; color: #0b1f5c; font-family: "DejaVu Sans", sans-serif; }
.f img { width: 100%; height: 100%; object-fit: contain; object-position: left center; }
"""


def _overlay_html(pages: dict[int, tuple[float, float]], stamps: Sequence[Stamp]) -> str:
    rules, bodies = [], []
    for number, (width, height) in pages.items():
        rules.append(f"@page p{number} {{ size: {width:.2f}pt {height:.2f}pt; margin: 0 }}")
        boxes = "".join(_box_html(stamp, width, height) for stamp in stamps if stamp.page == number)
        bodies.append(
            f'<div class="p" style="page:p{number};width:{width:.2f}pt;'
            f'height:{height:.2f}pt">{boxes}</div>'
        )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{_CSS}{''.join(rules)}"
        f"</style></head><body>{''.join(bodies)}</body></html>"
    )


def _into_page(page: PageObject, rotation: int) -> Transformation:
    """From the upright overlay's coordinates to the page's own: undo the display
    rotation (the page turns clockwise by /Rotate, so the overlay turns back
    counter-clockwise) and move to the media box's origin."""
    box = page.mediabox
    left, bottom = float(box.left), float(box.bottom)
    width, height = float(box.width), float(box.height)
    offsets = {
        0: (left, bottom),
        90: (left + width, bottom),
        180: (left + width, bottom + height),
        270: (left, bottom + height),
    }
    dx, dy = offsets[rotation - rotation % 90]
    return Transformation().rotate(rotation - rotation % 90).translate(dx, dy)


def stamp_pdf(data: bytes, stamps: Sequence[Stamp]) -> bytes:
    """``data`` with ``stamps`` drawn on its pages (blocking). Stamps on pages the document
    does not have are ignored; without stamps the bytes come back unchanged."""
    reader = PdfReader(io.BytesIO(data))
    wanted = sorted({stamp.page for stamp in stamps if 1 <= stamp.page <= len(reader.pages)})
    if not wanted:
        return data
    layout = {number: _displayed(reader.pages[number - 1]) for number in wanted}
    html = _overlay_html({number: (w, h) for number, (w, h, _) in layout.items()}, stamps)
    overlay = PdfReader(io.BytesIO(HTML(string=html, url_fetcher=DataOnlyFetcher()).write_pdf()))
    writer = PdfWriter(clone_from=reader)
    for index, number in enumerate(wanted):
        page = writer.pages[number - 1]
        page.merge_transformed_page(
            overlay.pages[index], _into_page(page, layout[number][2]), over=True
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
