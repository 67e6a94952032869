"""Drawn signatures and initials: a PNG the signing page sends as base64, checked and
re-encoded so that what is stored (and later stamped into the sealed PDF) is pixels only.

A browser's canvas export is a few kilobytes; the bounds refuse anything else before it
costs memory: at most ``MAX_PNG_BYTES`` decoded, at most ``MAX_WIDTH`` by ``MAX_HEIGHT``
pixels (read from the header, before any pixel is decoded). Re-encoding drops every
ancillary chunk (text, EXIF, ICC profile, timestamps): nothing the signer's software put
in the file besides the drawing reaches the seal."""

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

from core.errors import Unprocessable

MAX_PNG_BYTES = 200 * 1024
MAX_WIDTH = 2000
MAX_HEIGHT = 1000
MIN_SIDE = 10


class BadSignatureImage(Unprocessable):
    title = "Unusable signature image"
    slug = "bad-signature-image"


def clean_png(encoded: str, *, pointer: str) -> bytes:
    """The drawing in ``encoded`` (base64 of a PNG) re-encoded as a fresh RGBA PNG; a
    ``BadSignatureImage`` naming ``pointer`` for anything that is not a bounded PNG."""

    def refuse(detail: str) -> BadSignatureImage:
        return BadSignatureImage(detail, errors=[{"pointer": pointer, "detail": detail}])

    # base64 of MAX_PNG_BYTES is 4/3 as long; anything longer is refused undecoded.
    if len(encoded) > (MAX_PNG_BYTES * 4) // 3 + 4:
        raise refuse("The drawing is larger than 200 KB")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise refuse("The drawing is not base64") from None
    if len(data) > MAX_PNG_BYTES:
        raise refuse("The drawing is larger than 200 KB")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if not (MIN_SIDE <= width <= MAX_WIDTH and MIN_SIDE <= height <= MAX_HEIGHT):
                raise refuse(
                    f"The drawing must be between {MIN_SIDE} and {MAX_WIDTH} pixels wide "
                    f"and {MIN_SIDE} and {MAX_HEIGHT} high"
                )
            pixels = image.convert("RGBA")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        # Pillow reports a damaged or non-PNG file by several exception types.
        raise refuse("The drawing is not a PNG image") from None
    out = io.BytesIO()
    pixels.save(out, format="PNG", optimize=True)
    return out.getvalue()
