"""What a file is, from its first bytes (content sniffing), never from its name or the
Content-Type its uploader sent: a ``tax-return.pdf`` that starts with ``MZ`` is a Windows
program.

``detect(head)`` answers a MIME type from the head of the stream (``HEAD_BYTES``): explicit
checks first for what must never be stored (executables), for what a signature alone cannot
tell apart (the ZIP-based office formats, the OLE2 compound files of legacy Office) and for
text, which has no signature; puremagic's signature table for everything else. ``check``
then holds the type against the firm's allow-list (``Firm.allowed_upload_types``; empty: the
``DEFAULT_ALLOWED`` list) and refuses with a 415 problem.

Executables (PE, ELF, Mach-O, Java classes, scripts with a ``#!`` line) are refused whatever
the allow-list says. HTML, XML and SVG may be stored when allowed, but are never served as
themselves (``core.content_disposition.served_type``)."""

import re

import puremagic

from core.errors import UnsupportedMediaType

# Enough for every signature puremagic knows and for the first entries of a ZIP: office
# writers put [Content_Types].xml and the main part's directory first.
HEAD_BYTES = 64 * 1024

OCTET_STREAM = "application/octet-stream"
EXECUTABLE = "application/x-executable"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

DEFAULT_ALLOWED = frozenset(
    {
        "application/pdf",
        DOCX,
        XLSX,
        PPTX,
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.ms-outlook",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/rtf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/tiff",
        "image/heic",
        "image/bmp",
        "text/plain",
        "text/html",
        "application/xml",
        "message/rfc822",
    }
)

_EXECUTABLE_MAGIC = (
    b"MZ",  # PE: Windows programs and DLLs (and DOS ones)
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O, 32 and 64 bits, both byte orders
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary, and Java class files
    b"#!",  # a script its first line says how to run
    b"\x00asm",  # WebAssembly
)
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_OFFICE = ((b"word/", DOCX), (b"xl/", XLSX), (b"ppt/", PPTX))
# The stream names of a compound file's directory, UTF-16LE.
_OLE_KINDS = (
    ("WordDocument", "application/msword"),
    ("Workbook", "application/vnd.ms-excel"),
    ("Book", "application/vnd.ms-excel"),
    ("PowerPoint Document", "application/vnd.ms-powerpoint"),
    ("__substg1.0_", "application/vnd.ms-outlook"),
)
_ODF = re.compile(rb"mimetypeapplication/(vnd\.oasis\.opendocument\.[a-z.-]+)")
_MARKUP = re.compile(
    rb"\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype html|html|head|body|script|svg)\b",
    re.I | re.S,
)
_EMAIL_HEADER = re.compile(
    rb"(?:(?:Received|Return-Path|From|Date|Message-ID|MIME-Version|Subject|To|Delivered-To):[^\r\n]*\r?\n)+",
    re.I,
)
# Text: no NUL, and what is left after the common control characters decodes as UTF-8.
_TEXT_CONTROLS = bytes(byte for byte in range(32) if byte not in b"\t\n\r\f") + b"\x7f"
# puremagic answers several names for some types; one each, as the allow-list spells them.
_CANONICAL = {
    "image/x-ms-bmp": "image/bmp",
    "text/rtf": "application/rtf",
    "text/xml": "application/xml",
}


class UploadTypeRefused(UnsupportedMediaType):
    title = "File type not allowed"
    slug = "upload-type-refused"


class ExecutableRefused(UnsupportedMediaType):
    title = "Executable files are not accepted"
    slug = "executable-refused"


def detect(head: bytes) -> str:
    """The MIME type the bytes ``head`` (the file's first bytes) start."""
    if head.startswith(_EXECUTABLE_MAGIC):
        return EXECUTABLE
    if head.startswith(_ZIP):
        return _zip_kind(head)
    if head.startswith(_OLE2):
        return next(
            (kind for name, kind in _OLE_KINDS if name.encode("utf-16-le") in head),
            "application/x-ole-storage",
        )
    if _MARKUP.match(head[:4096].lstrip(b"\xef\xbb\xbf")):
        svg = b"<svg" in head[:4096].lower() and b"<html" not in head[:4096].lower()
        return "image/svg+xml" if svg else "text/html"
    found = _signature(head)
    if found is not None:
        return found
    if _EMAIL_HEADER.match(head):
        return "message/rfc822"
    return "text/plain" if _is_text(head) else OCTET_STREAM


def _zip_kind(head: bytes) -> str:
    odf = _ODF.search(head[:200])
    if odf is not None:
        return "application/" + odf.group(1).decode()
    for marker, kind in _ZIP_OFFICE:
        # A local file header's name follows its 30 fixed bytes; the marker starts one.
        if re.search(rb"PK\x03\x04.{26}" + re.escape(marker), head, re.S):
            return kind
    return "application/zip"


def _signature(head: bytes) -> str | None:
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    typed = [match for match in matches if match.mime_type]
    if not typed:
        return None
    best: str = max(typed, key=lambda match: match.confidence).mime_type
    return _CANONICAL.get(best, best)


def _is_text(head: bytes) -> bool:
    """No signature and no control characters but whitespace: UTF-8 or a single-byte
    encoding's text (CSV, plain text, source). Binary formats hold NULs and controls early."""
    return len(head.translate(None, _TEXT_CONTROLS)) == len(head)


def check(content_type: str, allowed: list[str] | frozenset[str]) -> None:
    """Refuse (415) an executable always, and any type outside ``allowed`` (the firm's
    list; empty means ``DEFAULT_ALLOWED``)."""
    if content_type == EXECUTABLE:
        raise ExecutableRefused(
            "This file is a program or script (detected from its content, whatever its "
            "name says); firmflow never stores those"
        )
    permitted = frozenset(allowed) or DEFAULT_ALLOWED
    if content_type not in permitted:
        raise UploadTypeRefused(
            f"Files of type {content_type} (detected from their content) are not accepted "
            "here; the firm's document settings list the accepted types"
        )
