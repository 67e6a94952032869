"""The keyset cursor: it round-trips every position, and anything else is a 400 naming
the cursor parameter, never another exception."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from core.errors import BadRequest
from core.pagination import (
    MAX_CURSOR_LENGTH,
    Cursor,
    PageParams,
    decode_cursor,
    encode_cursor,
    keyset,
    to_page,
)
from models import Client

aware = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]))


@given(created_at=aware, id_=st.uuids())
def test_round_trip(created_at: datetime, id_: uuid.UUID) -> None:
    raw = encode_cursor(created_at, id_)
    assert len(raw) <= MAX_CURSOR_LENGTH
    assert "=" not in raw and "+" not in raw and "/" not in raw
    assert decode_cursor(raw) == Cursor(created_at=created_at, id=id_)


@given(st.text(max_size=300))
def test_arbitrary_text_is_a_bad_request_or_a_position(raw: str) -> None:
    try:
        decode_cursor(raw)
    except BadRequest as exc:
        assert exc.errors is not None
        assert exc.errors[0]["parameter"] == "cursor"


def b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# A fixed id, not uuid4(): it is part of the parametrized test ids, which every xdist worker
# must collect alike.
ID = "2bfc2421-2627-41c7-96a7-7f846f4f0614"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "impossible length"),
        ("a" * (MAX_CURSOR_LENGTH + 1), "impossible length"),
        ("***", "not base64url"),
        ("YWJj" + "=", "not base64url"),
        (b64([1, 2]), "does not hold a position"),
        (b64({"t": "2024-01-01T00:00:00+00:00"}), "does not hold a position"),
        (b64({"t": "2024-01-01T00:00:00+00:00", "i": ID, "x": 1}), "does not hold a position"),
        (b64({"t": 1, "i": ID}), "does not hold a position"),
        (b64({"t": "yesterday", "i": ID}), "malformed"),
        (b64({"t": "2024-01-01T00:00:00+00:00", "i": "nope"}), "malformed"),
        (b64({"t": "2024-01-01T00:00:00", "i": ID}), "no time zone"),
        (base64.urlsafe_b64encode(b"\xff\xfe").decode(), "not base64url"),
    ],
)
def test_malformed_cursors_name_the_parameter(raw: str, reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_cursor(raw)
    assert caught.value.status == 400
    assert caught.value.errors is not None
    error = caught.value.errors[0]
    assert error["parameter"] == "cursor" and error["in"] == "query"
    assert reason in error["detail"]


@dataclass(frozen=True)
class Row:
    created_at: datetime
    id: uuid.UUID


ROWS = [
    Row(datetime(2024, 1, 1, tzinfo=UTC) - timedelta(minutes=i), uuid.uuid4()) for i in range(4)
]


def test_to_page_with_a_following_page() -> None:
    page = to_page(ROWS, PageParams(limit=3))
    assert page.items == ROWS[:3]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor) == Cursor(ROWS[2].created_at, ROWS[2].id)


@pytest.mark.parametrize("count", [0, 2, 3])
def test_to_page_without_a_following_page(count: int) -> None:
    page = to_page(ROWS[:count], PageParams(limit=3))
    assert page.items == ROWS[:count]
    assert page.next_cursor is None


def test_keyset_orders_newest_first_and_starts_after_the_cursor() -> None:
    position = Cursor(datetime(2024, 1, 1, tzinfo=UTC), uuid.uuid4())
    compiled = keyset(
        select(Client), Client.created_at, Client.id, PageParams(10, position)
    ).compile()
    sql = " ".join(str(compiled).split())
    assert "WHERE (clients.created_at, clients.id) < (:param_1, :param_2)" in sql
    assert sql.endswith("ORDER BY clients.created_at DESC, clients.id DESC LIMIT :param_3")
    assert compiled.params == {
        "param_1": position.created_at,
        "param_2": position.id,
        "param_3": 11,
    }

    first = keyset(select(Client), Client.created_at, Client.id, PageParams(10))
    assert "WHERE" not in str(first.compile())
