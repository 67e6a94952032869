"""A version's text: extracted after upload by ``DocumentTextWorkflow``, and the search
vector built from it and from the document's title and tags.

``queue_extraction`` starts the workflow through the outbox, in the transaction that made
the version. ``index_version`` writes the version's ``search`` vector in the firm's
text-search configuration, weighting the title (A) over the tags (B) over the body (C);
the documents service calls it when a version is made and when the title or tags change,
and the extraction calls it once the body is known.

Extraction reads PDF (pypdf), DOCX (python-docx) and plain text (its charset guessed); a
PDF of scanned images only is ``no_text`` (no OCR), any other type ``unsupported``, and a
file that cannot be read (damaged, encrypted) ``failed``. It is CPU-bound and synchronous:
the activity runs ``extract_text`` in a thread. At most ``MAX_BODY_CHARS`` characters are
kept; the rest of a longer text is neither stored nor searchable.
"""

import codecs
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    String,
    cast,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from models import Document, DocumentBlob, DocumentVersion, Firm, TextStatus
from services.documents.repository import BLOBS, DOCUMENTS, VERSIONS
from services.outbox import writer as outbox
from workflows.documents.text import contracts as text_contracts

log = logging.getLogger("firmflow.documents.text")

# About a megabyte of text: a 400-page book. Past it the text is cut (``truncated``).
MAX_BODY_CHARS = 1_000_000
# A plain-text file is read no further than the bytes that can decode to the kept text.
MAX_PLAIN_BYTES = 4 * MAX_BODY_CHARS
# When a body's vector would pass Postgres's 1 MB tsvector limit (a text of mostly distinct
# tokens: tables of figures), the body is indexed from its beginning only.
_FALLBACK_BODY_CHARS = (100_000, 0)
_PROGRAM_LIMIT_EXCEEDED = "54000"

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PLAIN_TYPES = frozenset({"text/plain", "text/csv", "text/markdown"})

# Byte-order marks, longest first (UTF-32's LE mark begins with UTF-16's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Postgres text holds no NUL; other C0 controls but tab and newlines say nothing either.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANKS = re.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True)
class Extracted:
    status: TextStatus
    body: str | None = None
    truncated: bool = False
    # Why nothing was extracted, for the log and the workflow's result.
    detail: str | None = None


@dataclass(frozen=True)
class TextSource:
    """Where a version's bytes are and what they are."""

    storage_key: str
    content_type: str


class _Collector:
    """Text gathered piece by piece until the cap."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def add(self, piece: str) -> bool:
        """Add a piece; False once the cap is reached (stop reading)."""
        piece = clean(piece)
        room = MAX_BODY_CHARS - self.size
        if len(piece) >= room:
            self.parts.append(piece[:room])
            self.size = MAX_BODY_CHARS
            self.truncated = len(piece) > room
            return False
        self.parts.append(piece)
        self.size += len(piece)
        return True

    def result(self) -> Extracted:
        body = "\n".join(p for p in self.parts if p.strip()).strip()
        if not body:
            return Extracted(TextStatus.no_text, detail="the file holds no text")
        return Extracted(TextStatus.extracted, body=body, truncated=self.truncated)


def clean(text: str) -> str:
    """Text Postgres stores and a search reads: no NUL or control characters, no lone
    surrogates (some PDFs map glyphs to them), runs of blanks as one space."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _BLANKS.sub(" ", _CONTROL.sub(" ", text))


def decode_text(data: bytes) -> str:
    """Plain text of an unknown charset: a byte-order mark says it; else UTF-16 when every
    other byte is NUL (valid UTF-8 too, but no text's); else UTF-8 if the bytes are valid
    UTF-8 (a multi-byte character cut at the read limit aside); else Windows-1252, which
    decodes every byte (the five it leaves undefined become U+FFFD)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    sample = data[:4096]
    if len(sample) >= 4:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > len(sample) // 4 and even == 0:
            return data.decode("utf-16-le", "replace")
        if even > len(sample) // 4 and odd == 0:
            return data.decode("utf-16-be", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8")
    return data.decode("cp1252", "replace")


def _pdf(source: IO[bytes]) -> Extracted:
    from pypdf import PdfReader

    reader = PdfReader(source)
    # An owner password alone (printing or copying restricted) still opens with an empty
    # user password; a real user password is beyond us.
    if reader.is_encrypted and not reader.decrypt(""):
        return Extracted(TextStatus.failed, detail="the PDF is encrypted")
    text = _Collector()
    for page in reader.pages:
        if not text.add(page.extract_text()):
            break
    return text.result()


def _docx(source: IO[bytes]) -> Extracted:
    import docx

    document = docx.Document(source)
    text = _Collector()
    for paragraph in document.paragraphs:
        if not text.add(paragraph.text):
            return text.result()
    for table in document.tables:
        for row in table.rows:
            if not text.add(" ".join(cell.text for cell in row.cells)):
                return text.result()
    return text.result()


def _plain(source: IO[bytes]) -> Extracted:
    data = source.read(MAX_PLAIN_BYTES + 1)
    text = _Collector()
    text.add(decode_text(data[:MAX_PLAIN_BYTES]))
    extracted = text.result()
    if len(data) > MAX_PLAIN_BYTES and extracted.body is not None:
        return Extracted(extracted.status, body=extracted.body, truncated=True)
    return extracted


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


_READERS: dict[str, Callable[[IO[bytes]], Extracted]] = {
    PDF: _pdf,
    DOCX: _docx,
    **dict.fromkeys(PLAIN_TYPES, _plain),
}


def extractable(content_type: str) -> bool:
    """Whether text is read from files of this type at all."""
    return _media_type(content_type) in _READERS


def read_limit(content_type: str) -> int | None:
    """How many bytes of the file extraction reads (None: all of them)."""
    return MAX_PLAIN_BYTES + 1 if _media_type(content_type) in PLAIN_TYPES else None


def unsupported(content_type: str) -> Extracted:
    return Extracted(
        TextStatus.unsupported, detail=f"no text is read from {_media_type(content_type)}"
    )


def extract_text(content_type: str, source: IO[bytes]) -> Extracted:
    """The text of a file of the sniffed ``content_type``; synchronous and CPU-bound."""
    reader = _READERS.get(_media_type(content_type))
    if reader is None:
        return unsupported(content_type)
    try:
        return reader(source)
    # The parsers raise a wide range of errors on malformed input (their own, ValueError,
    # KeyError, zipfile.BadZipFile, struct.error, RecursionError …): each means the file
    # could not be read.
    except Exception as exc:
        log.info("text extraction failed on a %s file", content_type, exc_info=True)
        return Extracted(TextStatus.failed, detail=f"the file is damaged: {type(exc).__name__}")


def _vector(
    config: ColumnElement[Any], body: SQLColumnExpression[Any] | None
) -> ColumnElement[Any]:
    def weighted(source: SQLColumnExpression[Any], weight: str) -> ColumnElement[Any]:
        # Written inline: setweight takes a "char", which a text parameter is not.
        return func.setweight(func.to_tsvector(config, source), literal_column(f"'{weight}'"))

    tags = func.array_to_string(Document.tags, literal(" "))
    vector = weighted(Document.title, "A").op("||")(weighted(tags, "B"))
    if body is None:
        return vector
    return vector.op("||")(weighted(func.coalesce(body, literal("")), "C"))


async def _write_vector(
    session: AsyncSession, version: DocumentVersion, body_chars: int | None
) -> tuple[str, str]:
    body: SQLColumnExpression[Any] | None = DocumentVersion.body_text
    if body_chars == 0:
        body = None
    elif body_chars is not None:
        body = func.left(DocumentVersion.body_text, body_chars)
    config = cast(cast(Firm.search_config, String), REGCONFIG)
    stmt = (
        update(DocumentVersion)
        .where(
            VERSIONS.owned_by(version.firm_id),
            DocumentVersion.id == version.id,
            DOCUMENTS.owned_by(version.firm_id),
            Document.id == DocumentVersion.document_id,
            Firm.id == DocumentVersion.firm_id,
        )
        .values(search_config=Firm.search_config, search=_vector(config, body))
        .returning(DocumentVersion.search_config, cast(DocumentVersion.search, String))
        .execution_options(synchronize_session=False)
    )
    async with session.begin_nested():
        row = (await session.execute(stmt)).one()
    return row[0], row[1]


async def index_version(session: AsyncSession, version: DocumentVersion) -> None:
    """Write ``version.search`` from its document's current title and tags and its body
    text, in the firm's text-search configuration (kept in ``version.search_config``)."""
    await session.flush()
    limits: tuple[int | None, ...] = (None, *_FALLBACK_BODY_CHARS)
    for limit in limits:
        try:
            config, vector = await _write_vector(session, version, limit)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != _PROGRAM_LIMIT_EXCEEDED or limit == 0:
                raise
            log.info("version %s: its text passes the tsvector limit, indexing less", version.id)
            continue
        # What the statement wrote, so the session does not write it back or reload it.
        set_committed_value(version, "search_config", config)
        set_committed_value(version, "search", vector)
        return


async def queue_extraction(
    session: AsyncSession, firm_id: uuid.UUID, version_id: uuid.UUID
) -> None:
    """Start ``DocumentTextWorkflow`` for the version once this transaction commits."""
    document_id = await session.scalar(
        select(DocumentVersion.document_id).where(
            VERSIONS.owned_by(firm_id), DocumentVersion.id == version_id
        )
    )
    if document_id is None:
        raise VERSIONS.not_found()
    await outbox.enqueue_message(
        session,
        firm_id,
        outbox.start_workflow(
            text_contracts.WORKFLOW_NAME,
            text_contracts.workflow_id(version_id),
            text_contracts.DocumentTextInput(
                firm_id=firm_id, document_id=document_id, version_id=version_id
            ),
        ),
    )


async def text_source(
    session: AsyncSession, firm_id: uuid.UUID, version_id: uuid.UUID
) -> TextSource | None:
    """Where the version's bytes are, or None when the version is gone."""
    row = (
        await session.execute(
            select(DocumentBlob.storage_key, DocumentVersion.content_type)
            .join(DocumentBlob, DocumentBlob.id == DocumentVersion.blob_id)
            .where(
                VERSIONS.owned_by(firm_id),
                BLOBS.owned_by(firm_id),
                DocumentVersion.id == version_id,
            )
        )
    ).one_or_none()
    return None if row is None else TextSource(storage_key=row[0], content_type=row[1])


async def record_text(
    session: AsyncSession, firm_id: uuid.UUID, version_id: uuid.UUID, extracted: Extracted
) -> bool:
    """Store what extraction found and index it; False when the version is gone. Writing
    the same result again changes nothing, so a retried activity is harmless."""
    version = await VERSIONS.get(session, firm_id, version_id, lock=True)
    if version is None:
        return False
    version.text_status = extracted.status.value
    version.body_text = extracted.body
    await index_version(session, version)
    return True
