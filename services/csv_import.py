"""Reading a client CSV: decoding, the header, the rows, and the checks each row must pass.

Pure functions, no database: the upload endpoint calls ``read_csv`` to reject a bad file
before anything is stored, and the import workflow's staging step calls it again on the
stored bytes and ``assess_rows`` to decide every row's fate before any client is created.

The delimiter is the one of ``,``, ``;`` (what Excel writes where the decimal separator is
a comma) and tab that splits the header row into the most cells, quotes respected; a
header of one column is read as comma-separated. A UTF-8 byte order mark and any line
ending (``\r\n``, ``\n``, ``\r``) are accepted.

Columns are matched by name, case-insensitively, ignoring surrounding spaces and treating
spaces and dashes as underscores (``External Ref`` is ``external_ref``). Columns that match
no client field are reported back as ``unknown_columns`` and ignored: an import never
invents custom fields from a spreadsheet's stray columns; rename a column to import it.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.errors import BadRequest, PayloadTooLarge, Unprocessable
from models import RowOutcome
from services.clients import ClientFields, validate_client_fields

REQUIRED_COLUMNS = ("name",)
KNOWN_COLUMNS = ("name", "kind", "email", "phone", "status", "tags", "external_ref")
TAG_SEPARATOR = ";"
# Cells of these columns are matched case-insensitively against their allowed values.
_CHOICE_COLUMNS = ("kind", "status")
REASON_MAX = 500
# In order of preference when two split the header into as many cells.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class CsvRow:
    line: int
    # Known column name -> the cell as written (stripped).
    values: dict[str, str]
    # Cells past the header's last column that hold something: the row is misaligned.
    extra_cells: int = 0


@dataclass(frozen=True)
class CsvTable:
    unknown_columns: list[str]
    rows: list[CsvRow]
    delimiter: str = ","


@dataclass(frozen=True)
class RowAssessment:
    line: int
    data: dict[str, str]
    outcome: RowOutcome
    reason: str | None


def _canonical(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def _decode(data: bytes) -> str:
    if not data.strip():
        raise BadRequest("The file is empty; upload a CSV with a header row and data rows.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadRequest(
            f"The file is not valid UTF-8 (first bad byte on line {line}); "
            "save it as 'CSV UTF-8' and upload it again."
        ) from None
    # The csv module reads NUL as text, but Postgres cannot store it in any cell or report.
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise Unprocessable(
            f"The file contains a NUL character (U+0000) on line {line}; remove it, or "
            "save the file as 'CSV UTF-8', and upload it again."
        )
    return text


def _delimiter(text: str) -> str:
    """The delimiter that splits the first non-blank line into the most cells. Not
    csv.Sniffer: on one line it takes ',' whenever one appears, so a semicolon header with
    a comma in a column name would be misread."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    cells: dict[str, int] = {}
    for delimiter in DELIMITERS:
        try:
            cells[delimiter] = len(next(csv.reader([header], delimiter=delimiter)))
        except csv.Error:
            # An unclosed quote: the full read reports it with its line.
            cells[delimiter] = 0
    return max(DELIMITERS, key=lambda d: cells[d])


def _header(cells: list[str]) -> tuple[list[str | None], list[str]]:
    """Map each header cell to a known column (or None) and list the unknown ones."""
    mapping: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(cells, start=1):
        name = _canonical(cell)
        if name in KNOWN_COLUMNS:
            if name in seen:
                raise Unprocessable(
                    f"The column '{name}' appears twice in the header "
                    f"(columns {seen[name]} and {position})."
                )
            seen[name] = position
            mapping.append(name)
        else:
            mapping.append(None)
            unknown.append(cell.strip() or f"(unnamed column {position})")
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        found = ", ".join(repr(c.strip()) for c in cells) or "none"
        raise Unprocessable(
            f"The header has no '{missing[0]}' column (columns found: {found}); "
            "the first row must name the columns."
        )
    return mapping, unknown


def read_csv(data: bytes, *, max_rows: int) -> CsvTable:
    """Decode and parse a whole file, or raise a precise 400/413/422 problem."""
    text = _decode(data)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[CsvRow] = []
    mapping: list[str | None] | None = None
    unknown: list[str] = []
    next_line = 1
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if mapping is None:
                mapping, unknown = _header(cells)
                continue
            if len(rows) == max_rows:
                raise PayloadTooLarge(
                    f"The file has more than {max_rows:,} data rows, the most one import "
                    "accepts; split it into smaller files."
                )
            values = {
                column: cell.strip()
                for column, cell in zip(mapping, cells, strict=False)
                if column is not None
            }
            extra = sum(1 for cell in cells[len(mapping) :] if cell.strip())
            rows.append(CsvRow(line=line, values=values, extra_cells=extra))
    except csv.Error as exc:
        # Reported where the broken row starts: an unclosed quote fails only at the end.
        raise BadRequest(f"The CSV is malformed at line {next_line}: {exc}.") from None
    if mapping is None:
        raise BadRequest("The file is empty; upload a CSV with a header row and data rows.")
    if not rows:
        raise Unprocessable("The file has a header row but no data rows.")
    return CsvTable(unknown_columns=unknown, rows=rows, delimiter=delimiter)


def split_tags(value: str) -> list[str]:
    return [tag.strip() for tag in value.split(TAG_SEPARATOR) if tag.strip()]


def client_input(values: dict[str, str]) -> dict[str, Any]:
    """A row's cells as the raw fields the client rules expect: tags split, kind and
    status lower-cased, and an empty kind or status left out so its default applies."""
    data: dict[str, Any] = {}
    for column, value in values.items():
        if column == "tags":
            data["tags"] = split_tags(value)
        elif column in _CHOICE_COLUMNS:
            if value:
                data[column] = value.lower()
        else:
            data[column] = value
    return data


def validate_row(values: dict[str, str]) -> ClientFields | str:
    """The normalised client for a row, or the reason it cannot be imported; the rules
    are the same as for a client created through the API."""
    try:
        return validate_client_fields(client_input(values))
    except Unprocessable as exc:
        return exc.detail


def _limit(reason: str) -> str:
    return reason if len(reason) <= REASON_MAX else reason[: REASON_MAX - 1] + "…"


def assess_rows(rows: Iterable[CsvRow], *, delimiter: str = ",") -> list[RowAssessment]:
    """Decide each row's fate from the file alone: invalid, a duplicate of an earlier row
    (same email or external reference), or pending (to be created unless the firm already
    has such a client, which only the database can tell)."""
    first_email: dict[str, int] = {}
    first_ref: dict[str, int] = {}
    out: list[RowAssessment] = []
    for row in rows:
        if row.extra_cells:
            misaligned = (
                f"the row has {row.extra_cells} more non-empty cell(s) than the header has "
                f"columns; check for an unquoted {DELIMITERS[delimiter]}"
            )
            out.append(RowAssessment(row.line, row.values, RowOutcome.invalid, misaligned))
            continue
        fields = validate_row(row.values)
        if isinstance(fields, str):
            out.append(RowAssessment(row.line, row.values, RowOutcome.invalid, _limit(fields)))
            continue
        reason: str | None = None
        if fields.email is not None and fields.email in first_email:
            reason = f"duplicate of line {first_email[fields.email]} (same email)"
        elif fields.external_ref is not None and fields.external_ref in first_ref:
            reason = f"duplicate of line {first_ref[fields.external_ref]} (same external_ref)"
        if reason is not None:
            out.append(RowAssessment(row.line, row.values, RowOutcome.skipped, reason))
            continue
        if fields.email is not None:
            first_email[fields.email] = row.line
        if fields.external_ref is not None:
            first_ref[fields.external_ref] = row.line
        out.append(RowAssessment(row.line, row.values, RowOutcome.pending, None))
    return out
