"""Reading and checking a client CSV, without a database."""

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import BadRequest, PayloadTooLarge, Unprocessable
from models import ClientKind, ClientStatus, RowOutcome
from services.clients import ClientFields
from services.csv_import import CsvRow, assess_rows, read_csv, validate_row


def _csv(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def test_header_is_matched_by_name_case_insensitively_with_bom_and_unknown_columns() -> None:
    data = (
        "\ufeff" + "Name, EMAIL ,External Ref,Tags,Favourite Colour,\r\nAcme,a@x.io,R1,x;y,red,\r\n"
    )
    table = read_csv(data.encode(), max_rows=10)
    assert table.unknown_columns == ["Favourite Colour", "(unnamed column 6)"]
    assert table.rows == [
        CsvRow(
            line=2,
            values={"name": "Acme", "email": "a@x.io", "external_ref": "R1", "tags": "x;y"},
        )
    ]


def test_line_numbers_count_physical_lines_across_quoted_newlines_and_blank_lines() -> None:
    data = _csv("name,phone", '"Multi', 'line Ltd",123', "", "Plain,456", ",,")
    table = read_csv(data, max_rows=10)
    assert [(row.line, row.values["name"]) for row in table.rows] == [
        (2, "Multi\r\nline Ltd"),
        (5, "Plain"),
    ]


def test_short_rows_leave_missing_cells_empty_and_long_rows_count_extra_cells() -> None:
    table = read_csv(
        _csv("name,email,phone", "Short", "Long,a@x.io,1,extra,", "Trail,,,,"), max_rows=9
    )
    assert [(r.values, r.extra_cells) for r in table.rows] == [
        ({"name": "Short"}, 0),
        ({"name": "Long", "email": "a@x.io", "phone": "1"}, 1),
        ({"name": "Trail", "email": "", "phone": ""}, 0),
    ]


def test_wrong_encoding_is_rejected_with_the_line_of_the_first_bad_byte() -> None:
    data = "name\nAcme\nCaf\u00e9\n".encode("latin-1")
    with pytest.raises(BadRequest) as raised:
        read_csv(data, max_rows=10)
    assert raised.value.detail == (
        "The file is not valid UTF-8 (first bad byte on line 3); "
        "save it as 'CSV UTF-8' and upload it again."
    )


def test_utf16_is_rejected_as_not_utf8() -> None:
    with pytest.raises(BadRequest, match="not valid UTF-8 \\(first bad byte on line 1\\)"):
        read_csv("name\nAcme\n".encode("utf-16"), max_rows=10)


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (
            _csv("name,email", 'Acme,"a@x.io'),
            "The CSV is malformed at line 2: unexpected end of data.",
        ),
        (
            _csv("name,email", "ok,a@x.io", '"Acme"Ltd,b@x.io'),
            "The CSV is malformed at line 3: ',' expected after '\"'.",
        ),
    ],
)
def test_malformed_csv_is_rejected_with_its_line(data: bytes, detail: str) -> None:
    with pytest.raises(BadRequest) as raised:
        read_csv(data, max_rows=10)
    assert raised.value.detail == detail


@pytest.mark.parametrize("data", [b"", b"  \r\n\r\n", "\ufeff".encode()])
def test_empty_file_is_rejected(data: bytes) -> None:
    with pytest.raises(BadRequest, match="The file is empty"):
        read_csv(data, max_rows=10)


def test_header_without_rows_is_unprocessable() -> None:
    with pytest.raises(Unprocessable, match="header row but no data rows"):
        read_csv(_csv("name,email", "", ","), max_rows=10)


def test_missing_name_column_is_unprocessable_and_lists_the_columns_found() -> None:
    with pytest.raises(Unprocessable) as raised:
        read_csv(_csv("company,email", "Acme,a@x.io"), max_rows=10)
    assert raised.value.detail == (
        "The header has no 'name' column (columns found: 'company', 'email'); "
        "the first row must name the columns."
    )


def test_a_column_named_twice_is_unprocessable() -> None:
    with pytest.raises(
        Unprocessable, match="'email' appears twice in the header \\(columns 2 and 4\\)"
    ):
        read_csv(_csv("name,Email,E-mail ,email", "Acme,a,b,c"), max_rows=10)


def test_row_limit_is_inclusive_and_one_more_row_is_too_large() -> None:
    rows = [f"Client {i}" for i in range(5)]
    assert len(read_csv(_csv("name", *rows), max_rows=5).rows) == 5
    with pytest.raises(PayloadTooLarge) as raised:
        read_csv(_csv("name", *rows, "One too many"), max_rows=5)
    assert raised.value.detail == (
        "The file has more than 5 data rows, the most one import accepts; "
        "split it into smaller files."
    )


def test_validate_row_normalises_choices_tags_and_email() -> None:
    fields = validate_row(
        {
            "name": "Ada",
            "kind": "Person",
            "status": "ACTIVE",
            "email": "Ada@Example.COM",
            "tags": " vip ;;tax; vip",
            "phone": "",
            "external_ref": "",
        }
    )
    assert fields == ClientFields(
        name="Ada",
        kind=ClientKind.person,
        status=ClientStatus.active,
        email="ada@example.com",
        tags=["vip", "tax"],
    )


def test_validate_row_defaults_kind_and_status_when_blank() -> None:
    fields = validate_row({"name": "Acme", "kind": "", "status": ""})
    assert isinstance(fields, ClientFields)
    assert (fields.kind, fields.status) == (ClientKind.organization, ClientStatus.prospect)


def test_validate_row_names_every_problem() -> None:
    reason = validate_row({"name": "", "kind": "robot", "email": "nope"})
    assert isinstance(reason, str)
    assert "name: Enter a value; this may not be empty." in reason
    assert "kind: Choose 'organization' or 'person'." in reason
    assert "email: Enter a valid email address" in reason


def test_assess_rows_marks_invalid_rows_and_later_duplicates_by_email_or_reference() -> None:
    table = read_csv(
        _csv(
            "name,email,external_ref",
            "First,a@x.io,R1",  # 2 pending
            "Same email,A@X.IO,",  # 3 duplicate of 2 by email
            "Same ref,b@x.io,R1",  # 4 duplicate of 2 by reference
            ",c@x.io,R2",  # 5 invalid: no name, so it claims nothing
            "Claims c,c@x.io,",  # 6 pending
            "Misaligned,d@x.io,R3,surplus",  # 7 invalid
            "Other,d@x.io,R3",  # 8 pending: line 7 claimed nothing
        ),
        max_rows=10,
    )
    assessed = [(a.line, a.outcome, a.reason) for a in assess_rows(table.rows)]
    assert assessed == [
        (2, RowOutcome.pending, None),
        (3, RowOutcome.skipped, "duplicate of line 2 (same email)"),
        (4, RowOutcome.skipped, "duplicate of line 2 (same external_ref)"),
        (5, RowOutcome.invalid, "name: Enter a value; this may not be empty."),
        (6, RowOutcome.pending, None),
        (
            7,
            RowOutcome.invalid,
            "the row has 1 more non-empty cell(s) than the header has columns; "
            "check for an unquoted comma",
        ),
        (8, RowOutcome.pending, None),
    ]


def test_a_semicolon_file_as_excel_writes_it_in_much_of_europe() -> None:
    data = _csv(
        "Name;E-Mail;Tags;External Ref",
        'Müller GmbH;m@x.de;"a;b";R1',
        "Dupont SARL;d@x.fr;;R2",
    )
    table = read_csv(data, max_rows=10)
    assert table.delimiter == ";"
    assert table.unknown_columns == ["E-Mail"]
    assert [row.values for row in table.rows] == [
        {"name": "Müller GmbH", "tags": "a;b", "external_ref": "R1"},
        {"name": "Dupont SARL", "tags": "", "external_ref": "R2"},
    ]


def test_a_tab_separated_file() -> None:
    table = read_csv(_csv("name\temail\tphone", "Acme, Inc.\ta@x.io\t1; 2"), max_rows=10)
    assert table.delimiter == "\t"
    assert [row.values for row in table.rows] == [
        {"name": "Acme, Inc.", "email": "a@x.io", "phone": "1; 2"}
    ]


def test_a_comma_file_with_quoted_commas_and_semicolons_in_cells() -> None:
    data = _csv('name,email,"tags; comma, list"', '"Smith, Jones & Co",s@x.io,"a;b"')
    table = read_csv(data, max_rows=10)
    assert table.delimiter == ","
    assert table.unknown_columns == ["tags; comma, list"]
    assert [row.values for row in table.rows] == [{"name": "Smith, Jones & Co", "email": "s@x.io"}]


def test_the_delimiter_that_splits_the_header_most_wins_and_one_column_means_comma() -> None:
    assert read_csv(_csv("Name;Email;Notes, misc", "A;a@x.io;n"), max_rows=9).delimiter == ";"
    one_column = read_csv(_csv("name", "Acme; Ltd", "Beta, Inc"), max_rows=9)
    assert one_column.delimiter == ","
    assert [row.values for row in one_column.rows] == [{"name": "Acme; Ltd"}, {"name": "Beta"}]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_a_byte_order_mark_and_any_line_ending_are_read(newline: str) -> None:
    data = (
        "\ufeff" + newline.join(["name;email", "Acme;a@x.io", "Beta;b@x.io"]) + newline
    ).encode()
    table = read_csv(data, max_rows=10)
    assert [(row.line, row.values) for row in table.rows] == [
        (2, {"name": "Acme", "email": "a@x.io"}),
        (3, {"name": "Beta", "email": "b@x.io"}),
    ]


def test_a_misaligned_row_names_the_files_delimiter() -> None:
    table = read_csv(_csv("name;email", "Acme;a@x.io;surplus"), max_rows=9)
    [assessed] = assess_rows(table.rows, delimiter=table.delimiter)
    assert assessed.reason == (
        "the row has 1 more non-empty cell(s) than the header has columns; "
        "check for an unquoted semicolon"
    )


cell = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20
)


@given(st.lists(st.tuples(cell, cell), min_size=1, max_size=8))
def test_any_cells_written_by_a_csv_writer_read_back_stripped(rows: list[tuple[str, str]]) -> None:
    rows = [(f"n{i}{name}", tags) for i, (name, tags) in enumerate(rows)]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["name", "tags"])
    writer.writerows(rows)
    table = read_csv(buffer.getvalue().encode(), max_rows=100)
    assert [r.values for r in table.rows] == [
        {"name": name.strip(), "tags": tags.strip()} for name, tags in rows
    ]
