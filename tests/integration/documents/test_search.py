"""GET /v1/document-search: ranking (title over tags over body), highlights that escape the
documents' own text, the filters, keyset pages, and the boundaries of what is searched
(another firm's documents, the bin, older versions)."""

import uuid
from datetime import UTC, datetime
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import Document, DocumentStatus, TextStatus
from services.documents import text
from services.documents.search import START, STOP, encode_cursor, highlight
from tests.document_factories import document_with_blob, version_with_blob
from tests.factories import Actor, add_user, make_firm, new_client, principal_of
from tests.problems import assert_problem

SEARCH = "/v1/document-search"


async def add(
    db: AsyncSession, actor: Actor, title: str, *, body: str | None = None, **fields: Any
) -> Document:
    """A document of ``actor``'s firm whose current version's text is ``body``."""
    await scope_to_firm(db, actor.firm.id)
    document = await document_with_blob(db, principal_of(actor), title=title, **fields)
    assert document.current_version_id is not None
    if body is not None:
        extracted = text.Extracted(TextStatus.extracted, body=body)
        assert await text.record_text(db, actor.firm.id, document.current_version_id, extracted)
    await db.commit()
    return document


async def search(api: AsyncClient, actor: Actor, **params: Any) -> dict[str, Any]:
    response = await api.get(SEARCH, params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def ids(found: dict[str, Any]) -> list[str]:
    return [hit["id"] for hit in found["items"]]


async def test_a_title_match_outranks_a_tag_match_which_outranks_a_body_match(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    in_body = await add(db, owner, "Notes", body="The quarterly figures are attached.")
    in_title = await add(db, owner, "Quarterly statement")
    in_tags = await add(db, owner, "Statement", tags=["quarterly"])
    await add(db, owner, "Unrelated", body="Annual figures only.")

    found = await search(api, owner, q="quarterly")

    assert ids(found) == [str(in_title.id), str(in_tags.id), str(in_body.id)]
    ranks = [hit["rank"] for hit in found["items"]]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[1] > ranks[2] > 0
    assert found["next_cursor"] is None
    hit = found["items"][0]
    assert hit["version"]["id"] == str(in_title.current_version_id)
    assert hit["version"]["number"] == 1


async def test_the_firms_language_stems_the_words(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    # The firm's configuration defaults to english: "returns" and "returned" are "return".
    document = await add(db, owner, "Filing", body="Both returns were returned on time.")

    found = await search(api, owner, q="return")

    assert ids(found) == [str(document.id)]
    assert found["items"][0]["highlights"]["body"].count("<mark>") == 2


async def test_highlights_escape_the_documents_text_and_mark_only_the_matches(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    title = '<script>alert("x")</script> Tax & <b>fees</b>'
    body = "Intro <img src=x onerror=alert(1)> then the tax <i>table</i> & totals \x01."
    await add(db, owner, title, body=body)

    found = await search(api, owner, q="tax")

    highlights = found["items"][0]["highlights"]
    assert highlights["title"] == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>Tax</mark> &amp; "
        "&lt;b&gt;fees&lt;/b&gt;"
    )
    assert "<mark>tax</mark>" in highlights["body"]
    for fragment in highlights.values():
        # Without our own marks, nothing is markup: every < of the text is escaped.
        plain = fragment.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in plain and ">" not in plain
        assert "\x01" not in fragment and "\x02" not in fragment
    assert "&lt;img src=x onerror=alert(1)&gt;" in highlights["body"]
    # The document's own title comes back as it is; only highlights are HTML.
    assert found["items"][0]["title"] == title


async def test_a_body_that_does_not_match_has_no_body_highlight(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    await add(db, owner, "Engagement letter", body="Terms of the engagement.")
    await add(db, owner, "Scan", body=None)

    found = await search(api, owner, q="letter")

    assert [hit["highlights"] for hit in found["items"]] == [
        {"title": "Engagement <mark>letter</mark>", "body": None}
    ]
    assert found["items"][0]["version"]["text_status"] == "extracted"


async def test_the_words_follow_web_search_syntax(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    both = await add(db, owner, "Payroll summary", body="salary and bonus")
    salary = await add(db, owner, "Payroll detail", body="salary only")

    assert set(ids(await search(api, owner, q="payroll"))) == {str(both.id), str(salary.id)}
    assert ids(await search(api, owner, q="payroll -bonus")) == [str(salary.id)]
    assert ids(await search(api, owner, q='"salary and bonus"')) == [str(both.id)]
    # Stop words alone match nothing (and are not an error).
    assert ids(await search(api, owner, q="the and of")) == []
    # Operators that would be a syntax error in to_tsquery are read as words.
    assert ids(await search(api, owner, q="payroll & (!")) != []


async def test_filters_by_client_tag_type_and_status(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    client_id = await new_client(api, owner)
    of_client = await add(db, owner, "Audit plan", client_id=client_id)
    tagged = await add(db, owner, "Audit memo", tags=["urgent"])
    typed = await add(db, owner, "Audit report", document_type="tax_return")
    published = await add(db, owner, "Audit letter")
    published.status = DocumentStatus.published.value
    await db.commit()

    every = {str(d.id) for d in (of_client, tagged, typed, published)}
    assert set(ids(await search(api, owner, q="audit"))) == every
    assert ids(await search(api, owner, q="audit", client_id=client_id)) == [str(of_client.id)]
    assert ids(await search(api, owner, q="audit", tag="urgent")) == [str(tagged.id)]
    assert ids(await search(api, owner, q="audit", document_type="tax_return")) == [str(typed.id)]
    assert ids(await search(api, owner, q="audit", status="published")) == [str(published.id)]
    assert ids(await search(api, owner, q="audit", tag="none-such")) == []


async def test_keyset_pages_cover_every_match_once_in_rank_order(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    # Ties (the same title) and distinct ranks (the word repeated in the body) together.
    made = [await add(db, owner, "Ledger") for _ in range(4)]
    made += [await add(db, owner, "Book", body=" ".join(["ledger"] * n)) for n in range(1, 5)]

    seen: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "ledger", "limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        found = await search(api, owner, **params)
        pages += 1
        seen += found["items"]
        cursor = found["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert sorted(hit["id"] for hit in seen) == sorted(str(d.id) for d in made)
    order = [(-hit["rank"], hit["id"]) for hit in seen]
    assert order == sorted(order)


async def test_only_current_versions_of_documents_outside_the_bin_are_found(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    renewed = await add(db, owner, "Contract", body="original wording")
    await scope_to_firm(db, owner.firm.id)
    version = await version_with_blob(db, principal_of(owner), renewed)
    await text.record_text(
        db, owner.firm.id, version.id, text.Extracted(TextStatus.extracted, body="revised wording")
    )
    binned = await add(db, owner, "Old contract", body="original wording")
    binned.deleted_at = datetime.now(UTC)
    await db.commit()

    assert ids(await search(api, owner, q="original")) == []
    assert ids(await search(api, owner, q="revised")) == [str(renewed.id)]
    found = await search(api, owner, q="contract")
    assert ids(found) == [str(renewed.id)]
    assert found["items"][0]["version"]["number"] == 2


async def test_another_firms_documents_never_appear(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    other = await make_firm(db, "Other")
    theirs = await add(db, other, "Confidential merger", body="merger terms")
    ours = await add(db, owner, "Merger checklist")

    assert ids(await search(api, owner, q="merger")) == [str(ours.id)]
    assert ids(await search(api, other, q="merger")) == [str(theirs.id)]
    # Another firm's client as a filter finds nothing, rather than their documents.
    their_client = await new_client(api, other)
    await add(db, other, "Merger memo", client_id=their_client)
    assert ids(await search(api, owner, q="merger", client_id=their_client)) == []


async def test_renaming_reindexes_the_current_version(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    document = await add(db, owner, "Draft", body="body words")

    response = await api.patch(
        f"/v1/documents/{document.id}",
        json={"title": "Shareholder agreement", "tags": ["signed"]},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text

    assert ids(await search(api, owner, q="shareholder")) == [str(document.id)]
    assert ids(await search(api, owner, q="signed")) == [str(document.id)]
    assert ids(await search(api, owner, q="draft")) == []
    # The body indexed at extraction is kept when the title changes.
    assert ids(await search(api, owner, q="words")) == [str(document.id)]


async def test_a_blank_query_or_a_forged_cursor_is_a_problem(
    api: AsyncClient, owner: Actor
) -> None:
    blank = assert_problem(await api.get(SEARCH, params={"q": "   "}, headers=owner.headers), 400)
    assert blank["errors"] == [{"parameter": "q", "in": "query", "detail": "blank"}]
    assert_problem(await api.get(SEARCH, headers=owner.headers), 422)
    assert_problem(await api.get(SEARCH, params={"q": "x" * 201}, headers=owner.headers), 422)

    forged = [
        "not-a-cursor!",
        "eyJ0IjoxfQ",  # {"t":1}
        "eyJyIjoiMSIsImkiOiJ4In0",  # {"r":"1","i":"x"}
        "eyJyIjoxLCJpIjoieCJ9",  # {"r":1,"i":"x"}
        "eyJyIjp0cnVlLCJpIjoiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwIn0",  # r: true
    ]
    for cursor in forged:
        response = await api.get(
            SEARCH, params={"q": "tax", "cursor": cursor}, headers=owner.headers
        )
        body = assert_problem(response, 400)
        assert body["errors"][0]["parameter"] == "cursor", cursor


async def test_search_needs_documents_read(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    client_user = await add_user(db, owner, Role.client)
    response = await api.get(SEARCH, params={"q": "tax"}, headers=client_user.headers)
    assert_problem(response, 403)
    assert_problem(await api.get(SEARCH, params={"q": "tax"}), 401)


def test_highlight_turns_only_the_sentinels_into_marks() -> None:
    marked = f"a <mark> {START}b&c{STOP} </mark>"
    assert highlight(marked) == "a &lt;mark&gt; <mark>b&amp;c</mark> &lt;/mark&gt;"
    assert highlight("no match here") is None
    assert highlight(None) is None


async def test_a_cursor_names_a_position_in_any_search(
    api: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    await add(db, owner, "Budget")
    # A well-formed cursor of a rank no hit reaches simply starts past every hit.
    cursor = encode_cursor(0.0, uuid.UUID(int=0))
    assert ids(await search(api, owner, q="budget", cursor=cursor)) == []
    cursor = encode_cursor(1e9, uuid.UUID(int=0))
    assert len(ids(await search(api, owner, q="budget", cursor=cursor))) == 1
