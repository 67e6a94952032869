"""Stamping draws each field where the recipient saw it: on upright and rotated pages, on a
media box that does not start at 0,0, and never fetches a URL."""

import io

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import RectangleObject

from services.esignature.pages import pdf_layout, render_page_png
from services.esignature.stamping import Stamp, stamp_pdf

BLACK = Image.new("RGB", (8, 8), (0, 0, 0))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _blank(rotation: int, *, offset: float = 0.0) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(200, 300)
    if offset:
        page.mediabox = RectangleObject([offset, offset, offset + 200, offset + 300])
    if rotation:
        page.rotate(rotation)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _dark(image: Image.Image, x: float, y: float) -> bool:
    width, height = image.size
    pixel = image.convert("L").getpixel((int(width * x), int(height * y)))
    assert isinstance(pixel, int)
    return pixel < 64


@pytest.mark.parametrize(("rotation", "offset"), [(0, 0.0), (90, 0.0), (180, 0.0), (270, 50.0)])
def test_a_field_lands_where_the_preview_showed_it(rotation: int, offset: float) -> None:
    data = _blank(rotation, offset=offset)
    # A black box in the displayed page's top-left quarter, as the builder placed it.
    box = Stamp(page=1, x=0.1, y=0.1, width=0.2, height=0.1, image_png=_png(BLACK))

    stamped = stamp_pdf(data, [box])

    assert pdf_layout(stamped) == pdf_layout(data)
    image = Image.open(io.BytesIO(render_page_png(stamped, 1, width_px=300)))
    # The image keeps its aspect ratio, left-aligned in the box.
    assert _dark(image, 0.13, 0.15)
    for x, y in ((0.8, 0.15), (0.2, 0.85), (0.8, 0.85), (0.5, 0.5)):
        assert not _dark(image, x, y), (x, y)


def test_without_stamps_the_bytes_are_unchanged_and_urls_are_never_fetched() -> None:
    data = _blank(0)
    assert stamp_pdf(data, []) == data
    assert stamp_pdf(data, [Stamp(page=7, x=0, y=0, width=0.5, height=0.5, text="x")]) == data
    # Text is escaped, not markup: an <img> naming a URL is printed, not fetched.
    stamped = stamp_pdf(
        data,
        [
            Stamp(
                page=1, x=0.1, y=0.1, width=0.8, height=0.1, text='<img src="http://127.0.0.1:9/x">'
            )
        ],
    )
    assert stamped != data
