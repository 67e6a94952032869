"""``Content-Disposition: attachment`` for any file name a person typed (RFC 6266 with the
RFC 5987 ``filename*``), and the Content-Type a stored file is served with.

A file name is the uploader's free text: quotes, backslashes, CR/LF, control characters,
path separators and any Unicode. None of it may break the header (a CR/LF would start a new
one), none of it may make a browser write outside its download folder, and the file must
never render in firmflow's origin. So the header is always ``attachment``; ``filename`` is an
ASCII stand-in with everything doubtful replaced by ``_`` (for the few clients that ignore
``filename*``), and ``filename*`` the cleaned name percent-encoded as UTF-8."""

import unicodedata
from urllib.parse import quote

# RFC 5987 attr-char: what ``filename*`` may carry unencoded.
_ATTR_CHARS = "!#$&+-.^_`|~"
_FALLBACK = "download"
# Some clients truncate or refuse longer header values; names are 255 characters at most.
_MAX_NAME = 255

# Types a browser would render or run (HTML, SVG, XML with stylesheets): served as opaque
# bytes. Together with attachment, nosniff and ``Content-Security-Policy: sandbox`` they
# never run as a page of ours, even in a browser that ignores one of the three.
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "application/xml",
        "text/xml",
        "text/javascript",
        "application/javascript",
    }
)


def clean_file_name(name: str) -> str:
    """The name without what a file system or a header must not get: control characters
    (CR/LF among them) and path separators become ``_``, a leading dot (hidden file) goes,
    and an empty result is ``download``."""
    normalized = unicodedata.normalize("NFC", name)
    kept = "".join(
        "_" if ch in "/\\" or unicodedata.category(ch).startswith("C") else ch for ch in normalized
    )
    kept = kept.strip().lstrip(".").strip()
    return kept[:_MAX_NAME] or _FALLBACK


def _ascii_stand_in(name: str) -> str:
    stand_in = "".join(ch if " " <= ch <= "~" and ch not in '"\\%;' else "_" for ch in name)
    return stand_in or _FALLBACK


def attachment(name: str) -> str:
    """The Content-Disposition header value that downloads ``name``."""
    cleaned = clean_file_name(name)
    encoded = quote(cleaned, safe=_ATTR_CHARS, encoding="utf-8")
    return f"attachment; filename=\"{_ascii_stand_in(cleaned)}\"; filename*=UTF-8''{encoded}"


def served_type(content_type: str) -> str:
    """The Content-Type a stored file is answered with: what was detected, unless a browser
    would treat it as active content."""
    base = content_type.split(";", 1)[0].strip().lower()
    return "application/octet-stream" if base in ACTIVE_TYPES else content_type
