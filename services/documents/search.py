"""Full-text search over the firm's documents: the current version of each document not in
the bin, matched on its title, tags and extracted text (the ``search`` vector that
``services.documents.text.index_version`` writes), best match first.

The words are read with ``websearch_to_tsquery`` in the firm's text-search configuration
(quotes for a phrase, ``or``, ``-`` to exclude; never a syntax error). Matches are ranked
by ``ts_rank_cd`` with the title's weight far above the tags' and the tags' above the
body's: a word in the title outranks the same word in the tags, and a word in the tags
outranks it in the body (unless the body repeats it twenty times over); the rank is divided
by 1 + log(length), so long documents do not win by length alone. Pages are keyset pages
over ``(rank desc, id)``.

Ranking reads every ranked match's vector, so its cost grows with the matches, not the
documents. The matches in the title or tags (all the query's words there) are always all
ranked; of the matches in the text only, the first ``BODY_CANDIDATES`` the index yields
are: a word in most of a firm's documents costs a bounded number of reads, at the price
that beyond that many text-only matches the best of them may not be among those ranked.

Highlights come from ``ts_headline``, which does not escape what it returns: it marks the
matches with two control characters that no stored text contains (``text.clean`` removes
them from bodies; they are stripped from titles here), the result is HTML-escaped, and only
then do the sentinels become ``<mark>`` and ``</mark>``, so the only markup in a highlight
is ours.

Statements read through the ``firm_document_search`` view (migration 0020), where the firm
condition is applied by the view's owner so that the ``(firm_id, search)`` GIN index stays
usable under row-level security; the query filters by firm_id as well.
"""

import html
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    Select,
    String,
    and_,
    cast,
    column,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, REAL, REGCONFIG, TSQUERY, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import DateTime, Uuid

from core.errors import BadRequest
from core.pagination import Page, cursor_problem, decode_position, encode_position
from core.principal import Principal
from models import DocumentStatus, Firm

T = TypeVar("T")

MAX_QUERY_LENGTH = 200
# A page of results: each hit's highlights cost about a parse of its text, so a search page
# is shorter than a list's 50 rows.
DEFAULT_LIMIT = 20
# ts_rank_cd's weights of D, C, B, A: the body (C) counts a twentieth of the title (A).
RANK_WEIGHTS = "{0.02, 0.05, 0.4, 1.0}"
# Cover density divided by 1 + log(the document's length in words): without it the longest
# documents, which repeat every word, would fill the first pages.
RANK_NORMALIZATION = 1
# ts_headline parses the whole text it is given (about the cost of to_tsvector): a body's
# passages are taken from its first 10,000 characters, so a page of 50 long documents costs
# tens of milliseconds, not seconds. A match further on shows no body passage.
HEADLINE_CHARS = 10_000
# Of the documents a query matches in their text only, how many are ranked: ranking reads
# each match's vector, so a word in most of a firm's documents would otherwise cost tens of
# thousands of reads per page. Matches in the title or tags are all ranked.
BODY_CANDIDATES = 2000
# A lexeme in tsquery's text form ('word', a quote doubled inside), to restrict it to the
# title and tags (weights A and B).
_LEXEME = literal(r"('(?:[^']|'')*')")
START, STOP = "\x01", "\x02"
_TITLE_OPTIONS = f'StartSel="{START}", StopSel="{STOP}", HighlightAll=true'
_BODY_OPTIONS = (
    f'StartSel="{START}", StopSel="{STOP}", MaxWords=30, MinWords=12, '
    'MaxFragments=2, FragmentDelimiter=" … "'
)

# The view's columns (migration 0020), as plain columns: a search only reads.
VIEW = table(
    "firm_document_search",
    column("id", Uuid()),
    column("firm_id", Uuid()),
    column("title", String()),
    column("document_type", String()),
    column("tags", ARRAY(String())),
    column("client_id", Uuid()),
    column("folder_id", Uuid()),
    column("status", String()),
    column("created_at", DateTime(timezone=True)),
    column("updated_at", DateTime(timezone=True)),
    column("version_id", Uuid()),
    column("version_number", Integer()),
    column("file_name", String()),
    column("content_type", String()),
    column("size", BigInteger()),
    column("text_status", String()),
    column("search", TSVECTOR()),
    column("body_text", String()),
).c

_DOCUMENT_COLUMNS = (
    "id",
    "title",
    "document_type",
    "tags",
    "client_id",
    "folder_id",
    "status",
    "created_at",
    "updated_at",
)
_VERSION_COLUMNS = ("version_id", "version_number", "file_name", "content_type", "size")
_VERSION_FIELDS = {
    "version_id": "id",
    "version_number": "number",
    "file_name": "file_name",
    "content_type": "content_type",
    "size": "size",
    "text_status": "text_status",
}


@dataclass(frozen=True)
class SearchFilters:
    client_id: uuid.UUID | None = None
    tag: str | None = None
    document_type: str | None = None
    status: DocumentStatus | None = None


@dataclass(frozen=True)
class SearchCursor:
    rank: float
    id: uuid.UUID


def encode_cursor(rank: float, id_: uuid.UUID) -> str:
    return encode_position({"r": rank, "i": str(id_)})


def decode_cursor(raw: str) -> SearchCursor:
    """Parse a cursor made by ``encode_cursor``; anything else is a ``BadRequest`` naming
    the ``cursor`` parameter."""
    data = decode_position(raw, frozenset({"r", "i"}))
    rank, id_ = data["r"], data["i"]
    if isinstance(rank, bool) or not isinstance(rank, int | float) or not isinstance(id_, str):
        raise cursor_problem("cursor does not hold a position")
    if not math.isfinite(rank):
        raise cursor_problem("cursor holds an impossible rank")
    try:
        return SearchCursor(rank=float(rank), id=uuid.UUID(id_))
    except ValueError as exc:
        raise cursor_problem("cursor holds a malformed id") from exc


def query_words(q: str) -> str:
    """The search words, or a ``BadRequest`` naming ``q`` when there are none."""
    words = q.strip()
    if not words:
        raise BadRequest(
            "Say what to search for: q holds no words",
            errors=[{"parameter": "q", "in": "query", "detail": "blank"}],
        )
    return words


def _without_sentinels(text: Any) -> Any:
    return func.translate(text, literal(START + STOP), literal(""))


def search_query(
    principal: Principal,
    q: str,
    filters: SearchFilters,
    *,
    limit: int,
    cursor: SearchCursor | None = None,
) -> Select[Any]:
    """The page's statement: ``limit + 1`` matches, best first, with their highlights."""
    config = cast(
        select(Firm.search_config).where(Firm.id == principal.firm_id).scalar_subquery(),
        REGCONFIG,
    )
    # A subquery, so Postgres evaluates the parsed query once (an InitPlan), not per row.
    tsquery = select(func.websearch_to_tsquery(config, q)).scalar_subquery()
    rank = func.ts_rank_cd(
        cast(literal(RANK_WEIGHTS), ARRAY(REAL)),
        VIEW.search,
        tsquery,
        literal_column(str(RANK_NORMALIZATION)),
    )
    conditions = [VIEW.firm_id == principal.firm_id, VIEW.search.op("@@")(tsquery)]
    if filters.client_id is not None:
        conditions.append(VIEW.client_id == filters.client_id)
    if filters.tag is not None:
        conditions.append(VIEW.tags.contains([filters.tag]))
    if filters.document_type is not None:
        conditions.append(VIEW.document_type == filters.document_type)
    if filters.status is not None:
        conditions.append(VIEW.status == filters.status.value)
    # Title and tag matches are always all ranked; of the other matches, only the first
    # BODY_CANDIDATES the index yields (see the module's docstring).
    in_head = VIEW.search.op("@@", is_comparison=True)(
        select(
            cast(
                func.regexp_replace(cast(tsquery, String), _LEXEME, r"\1:AB", literal("g")),
                TSQUERY,
            )
        ).scalar_subquery()
    )
    columns = (
        *(VIEW[name] for name in (*_DOCUMENT_COLUMNS, *_VERSION_COLUMNS, "text_status")),
        VIEW.body_text,
        rank.label("rank"),
    )
    matches = union_all(
        select(*columns).where(*conditions, in_head),
        select(*columns).where(*conditions, not_(in_head)).limit(BODY_CANDIDATES),
    ).subquery("matches")
    page = select(matches)
    if cursor is not None:
        after = cast(literal(cursor.rank, Float()), REAL)
        page = page.where(
            or_(matches.c.rank < after, and_(matches.c.rank == after, matches.c.id > cursor.id))
        )
    # Highlights only for the page's rows: the LIMIT is inside, the headlines outside.
    found = page.order_by(matches.c.rank.desc(), matches.c.id).limit(limit + 1).subquery("page")
    body = func.left(found.c.body_text, HEADLINE_CHARS)
    return select(
        *(found.c[name] for name in (*_DOCUMENT_COLUMNS, *_VERSION_COLUMNS, "text_status")),
        found.c.rank,
        func.ts_headline(
            config, _without_sentinels(found.c.title), tsquery, literal(_TITLE_OPTIONS)
        ).label("title_highlight"),
        func.ts_headline(config, _without_sentinels(body), tsquery, literal(_BODY_OPTIONS)).label(
            "body_highlight"
        ),
    ).order_by(found.c.rank.desc(), found.c.id)


def highlight(marked: str | None) -> str | None:
    """``ts_headline``'s text with its sentinels, as HTML: everything escaped, the matches
    in ``<mark>``; None when nothing in it matched."""
    if marked is None or START not in marked:
        return None
    return html.escape(marked).replace(START, "<mark>").replace(STOP, "</mark>")


def _hit(row: dict[str, Any]) -> dict[str, Any]:
    hit = {name: row[name] for name in _DOCUMENT_COLUMNS}
    hit["rank"] = row["rank"]
    hit["version"] = {field: row[name] for name, field in _VERSION_FIELDS.items()}
    hit["highlights"] = {
        "title": highlight(row["title_highlight"]) or html.escape(row["title"]),
        "body": highlight(row["body_highlight"]),
    }
    return hit


async def search_documents(
    session: AsyncSession,
    principal: Principal,
    *,
    q: str,
    filters: SearchFilters,
    limit: int,
    cursor: SearchCursor | None,
    into: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """A page of the firm's documents matching ``q``, best first; each hit (the document's
    columns, ``version``, ``rank`` and ``highlights``) made into ``T`` with ``into``."""
    stmt = search_query(principal, query_words(q), filters, limit=limit, cursor=cursor)
    result = await session.execute(stmt)
    keys = list(result.keys())
    rows = [dict(zip(keys, row, strict=True)) for row in result.all()]
    items = [into(_hit(row)) for row in rows[:limit]]
    if len(rows) <= limit:
        return Page(items=items, next_cursor=None)
    last = rows[limit - 1]
    return Page(items=items, next_cursor=encode_cursor(float(last["rank"]), last["id"]))
