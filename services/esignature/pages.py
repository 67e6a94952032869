"""An envelope document's pages: their count and sizes (read once, when the document joins
the envelope) and a page rendered as a PNG (the builder's and the signing page's preview).

Both read the pinned version's bytes, never the document's current ones: what a recipient
sees and signs is what was sent, whatever was uploaded since."""

import io

import pypdfium2
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Unprocessable
from models import EnvelopeDocument
from providers.storage import Storage
from services.documents.repository import BLOBS, VERSIONS
from services.repository import Firm

# A preview wider than this is no sharper on any screen the builder runs on, and the
# render's memory grows with the square of it.
MAX_WIDTH_PX = 1600
MIN_WIDTH_PX = 200


class UnreadablePdf(Unprocessable):
    title = "Unreadable PDF"
    slug = "unreadable-pdf"


def pdf_layout(data: bytes) -> tuple[int, list[list[float]]]:
    """The page count and each page's [width, height] in points, as displayed (a rotated
    page's sides swapped). An encrypted, damaged or empty PDF is an ``UnreadablePdf``."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadablePdf("The PDF is encrypted; send an unprotected copy for signature")
        sizes: list[list[float]] = []
        for page in reader.pages:
            box = page.mediabox
            width, height = float(box.width), float(box.height)
            if (page.rotation or 0) % 180:
                width, height = height, width
            sizes.append([round(width, 2), round(height, 2)])
    except UnreadablePdf:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # pypdf reports a damaged file by several exception types; the text stays ours.
        raise UnreadablePdf("The PDF could not be read; it may be damaged") from exc
    if not sizes:
        raise UnreadablePdf("The PDF has no pages")
    return len(sizes), sizes


def render_page_png(data: bytes, page: int, *, width_px: int) -> bytes:
    """Page ``page`` (1-based) rendered ``width_px`` wide (clamped to 200..1600), as PNG.
    CPU-bound and blocking: call it through ``asyncio.to_thread``."""
    width_px = max(MIN_WIDTH_PX, min(MAX_WIDTH_PX, width_px))
    document = pypdfium2.PdfDocument(data)
    try:
        if not 1 <= page <= len(document):
            raise UnreadablePdf(f"The document has no page {page}")
        pdf_page = document[page - 1]
        try:
            scale = width_px / pdf_page.get_width()
            bitmap = pdf_page.render(scale=scale, rotation=0)
            image = bitmap.to_pil()
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=False)
            return out.getvalue()
        finally:
            pdf_page.close()
    finally:
        document.close()


async def pinned_bytes(
    session: AsyncSession, storage: Storage, firm: Firm, envelope_document: EnvelopeDocument
) -> bytes:
    """The bytes of the version the envelope pinned, from storage."""
    version = await VERSIONS.get_or_404(session, firm, envelope_document.version_id)
    blob = await BLOBS.get_or_404(session, firm, version.blob_id)
    return b"".join([chunk async for chunk in storage.read(blob.storage_key)])
