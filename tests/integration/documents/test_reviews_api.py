"""Document review through the API: submit, vote, reject back to draft with the comments
kept, submit again, quorum, withdraw, publish; every refusal (who may not vote, a second
vote, a closed review, publishing before approval, reviewers who could not vote, another
firm's ids) and the review in the approvals inbox."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent, Document, OutboxMessage
from services.documents import review_process
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, pointers
from tests.review_factories import draft_document
from workflows.documents.review import contracts as review


def reviews_of(document: Document) -> str:
    return f"/v1/documents/{document.id}/reviews"


async def submit(
    http: AsyncClient, actor: Actor, document: Document, **body: Any
) -> dict[str, Any]:
    response = await http.post(reviews_of(document), json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def vote(
    http: AsyncClient,
    actor: Actor,
    document: Document,
    review_id: str,
    decision: str = "approve",
    comment: str | None = None,
) -> Any:
    return await http.post(
        f"{reviews_of(document)}/{review_id}/decision",
        json={"decision": decision, "comment": comment},
        headers=actor.headers,
    )


async def status_of(db: AsyncSession, document: Document) -> str:
    await scope_to_firm(db, document.firm_id)
    row = await db.scalar(select(Document.status).where(Document.id == document.id))
    assert row is not None
    return row


async def test_quorum_of_two_approves_after_the_second_vote_and_publish_emits_the_event(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    a, b = [await add_user(db, owner, Role.staff) for _ in range(2)]
    document = await draft_document(db, owner)
    submitted = await submit(
        client,
        owner,
        document,
        reviewer_user_ids=[str(a.user.id), str(b.user.id)],
        quorum=2,
        auto_publish=False,
        message="Please check the fees",
    )
    assert submitted["status"] == "pending" and submitted["round"] == 1
    assert submitted["version_id"] == str(document.current_version_id)
    assert await status_of(db, document) == "in_review"
    started = await db.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key
            == f"start:{review.workflow_id(document.current_version_id or uuid.uuid4())}"
        )
    )
    assert started is not None and started.payload["workflow"] == review.WORKFLOW_NAME

    first = await vote(client, a, document, submitted["id"], comment="fine")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "pending" and first.json()["approvals"] == 1
    again = await vote(client, a, document, submitted["id"])
    assert_problem(again, 409)
    early = await client.post(f"/v1/documents/{document.id}/publish", headers=owner.headers)
    assert_problem(early, 409)

    second = await vote(client, b, document, submitted["id"])
    assert second.json()["status"] == "approved"
    assert await status_of(db, document) == "approved"
    late = await vote(client, owner, document, submitted["id"])
    assert_problem(late, 409)

    published = await client.post(f"/v1/documents/{document.id}/publish", headers=owner.headers)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    event = await db.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"document.published:{document.current_version_id}"
        )
    )
    assert event is not None
    assert event.payload["event"] == "document.published"
    assert event.payload["document_id"] == str(document.id)
    actions = set(
        await db.scalars(select(AuditEvent.action).where(AuditEvent.firm_id == owner.firm.id))
    )
    assert {
        "document.submitted",
        "approval.voted",
        "approval.approved",
        "document.review_approved",
        "document.published",
    } <= actions
    again_published = await client.post(
        f"/v1/documents/{document.id}/publish", headers=owner.headers
    )
    assert_problem(again_published, 409)


async def test_a_rejection_sends_it_back_to_draft_with_the_comments_and_it_can_be_resubmitted(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    a, b = [await add_user(db, owner, Role.staff) for _ in range(2)]
    document = await draft_document(db, owner, reviewer_roles=["staff"], review_quorum=2)
    first = await submit(client, owner, document)
    assert first["reviewer_roles"] == ["staff"] and first["quorum"] == 2
    approved = await vote(client, a, document, first["id"])
    assert approved.status_code == 200
    rejected = await vote(client, b, document, first["id"], "reject", "Wrong client address")
    assert rejected.json()["status"] == "rejected"
    assert await status_of(db, document) == "draft"
    closed = await vote(client, owner, document, first["id"])
    assert_problem(closed, 409)

    second = await submit(client, owner, document, reviewer_user_ids=[str(a.user.id)], quorum=1)
    assert second["round"] == 2 and second["version_id"] == first["version_id"]
    listed = await client.get(reviews_of(document), headers=owner.headers)
    assert listed.status_code == 200
    rounds = listed.json()
    assert [r["round"] for r in rounds] == [1, 2]
    assert [v["comment"] for v in rounds[0]["votes"]] == [None, "Wrong client address"]
    assert rounds[0]["status"] == "rejected" and rounds[1]["status"] == "pending"
    # Round 2 names only a: b is not one of its reviewers.
    not_a_reviewer = await vote(client, b, document, second["id"])
    assert_problem(not_a_reviewer, 403)
    assert (await vote(client, a, document, second["id"])).json()["status"] == "approved"


async def test_who_may_not_vote(client: AsyncClient, db: AsyncSession, owner: Actor) -> None:
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    submitter = await add_user(db, owner, Role.admin)
    document = await draft_document(db, owner)
    submitted = await submit(client, submitter, document, reviewer_roles=["staff", "admin"])
    # The submitter's role is a reviewer role, but they do not review their own submission.
    assert_problem(await vote(client, submitter, document, submitted["id"]), 403)
    # Builders lack documents:review, on this route and on the approvals inbox's.
    assert_problem(await vote(client, builder, document, submitted["id"]), 403)
    inbox = await client.post(
        f"/v1/approvals/{submitted['id']}", json={"decision": "approve"}, headers=builder.headers
    )
    assert_problem(inbox, 403)
    # The owner's role is not among the reviewer roles.
    assert_problem(await vote(client, owner, document, submitted["id"]), 403)
    # The approvals inbox lists it for staff, with its document, and takes the vote.
    mine = await client.get(
        "/v1/approvals", params={"mine": "true", "status": "pending"}, headers=staff.headers
    )
    assert mine.status_code == 200, mine.text
    [item] = [i for i in mine.json()["items"] if i["id"] == submitted["id"]]
    assert item["subject"] == "document_review" and item["run_id"] is None
    assert item["document_id"] == str(document.id)
    assert item["document_version_id"] == submitted["version_id"]
    decided = await client.post(
        f"/v1/approvals/{submitted['id']}", json={"decision": "approve"}, headers=staff.headers
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    assert decided.json()["document_id"] == str(document.id)
    assert await status_of(db, document) == "approved"


async def test_reviewers_who_could_not_vote_are_refused(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    customer = await add_user(db, owner, Role.client)
    gone = await add_user(db, owner, Role.staff)
    gone.user.is_active = False
    await db.commit()
    document = await draft_document(db, owner)
    url = reviews_of(document)

    async def refused(body: dict[str, Any]) -> set[str]:
        response = await client.post(url, json=body, headers=owner.headers)
        return pointers(assert_problem(response, 422))

    assert await refused({}) == {"/reviewer_user_ids"}
    assert await refused({"reviewer_user_ids": [str(customer.user.id)]}) == {"/reviewer_user_ids/0"}
    assert await refused({"reviewer_user_ids": [str(gone.user.id)]}) == {"/reviewer_user_ids/0"}
    assert await refused({"reviewer_user_ids": [str(uuid.uuid4())]}) == {"/reviewer_user_ids/0"}
    assert await refused({"reviewer_roles": ["client"]}) == {"/reviewer_roles/0"}
    assert await refused({"reviewer_roles": ["builder"]}) == {"/reviewer_roles/0"}
    # Only the owner would be left to review (the submitter never is).
    assert await refused({"reviewer_roles": ["owner"]}) == {"/reviewer_user_ids"}
    staff = await add_user(db, owner, Role.staff)
    assert await refused({"reviewer_user_ids": [str(staff.user.id)], "quorum": 2}) == {"/quorum"}
    assert await status_of(db, document) == "draft"


async def test_the_documents_own_reviewers_are_checked_and_apply_when_a_submission_names_none(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    customer = await add_user(db, owner, Role.client)
    staff = await add_user(db, owner, Role.staff)
    document = await draft_document(db, owner)
    url = f"/v1/documents/{document.id}"

    async def refused(body: dict[str, Any]) -> set[str]:
        response = await client.patch(url, json=body, headers=owner.headers)
        return pointers(assert_problem(response, 422))

    assert await refused({"reviewer_user_ids": [str(customer.user.id)]}) == {"/reviewer_user_ids/0"}
    assert await refused({"reviewer_roles": ["builder"]}) == {"/reviewer_roles/0"}
    assert await refused({"reviewer_user_ids": [str(staff.user.id)], "review_quorum": 2}) == {
        "/review_quorum"
    }
    assert await refused({"reviewer_roles": None}) == {"/reviewer_roles"}
    patched = await client.patch(
        url, json={"reviewer_user_ids": [str(staff.user.id)]}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["reviewer_user_ids"] == [str(staff.user.id)]
    opened = await submit(client, owner, document)
    assert opened["reviewer_user_ids"] == [str(staff.user.id)]
    assert opened["quorum"] == 1


async def test_withdraw_returns_it_to_draft_once(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    staff = await add_user(db, owner, Role.staff)
    document = await draft_document(db, owner)
    submitted = await submit(client, owner, document, reviewer_user_ids=[str(staff.user.id)])
    twice = await client.post(reviews_of(document), json={}, headers=owner.headers)
    assert_problem(twice, 409)
    url = f"{reviews_of(document)}/{submitted['id']}/withdraw"
    withdrawn = await client.post(url, headers=owner.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "canceled"
    assert await status_of(db, document) == "draft"
    assert_problem(await client.post(url, headers=owner.headers), 409)
    assert_problem(await vote(client, staff, document, submitted["id"]), 409)
    # Staff may submit and withdraw but not publish.
    publish = await client.post(f"/v1/documents/{document.id}/publish", headers=staff.headers)
    assert_problem(publish, 403)


async def test_another_firms_document_and_review_are_404(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    staff = await add_user(db, owner, Role.staff)
    document = await draft_document(db, owner)
    submitted = await submit(client, owner, document, reviewer_user_ids=[str(staff.user.id)])
    other = await make_firm(db, "Other")
    base = reviews_of(document)
    for method, url, body in [
        ("POST", base, {}),
        ("GET", base, None),
        ("POST", f"{base}/{submitted['id']}/decision", {"decision": "approve"}),
        ("POST", f"{base}/{submitted['id']}/withdraw", None),
        ("POST", f"/v1/documents/{document.id}/publish", None),
        ("GET", f"/v1/approvals/{submitted['id']}", None),
    ]:
        response = await client.request(method, url, json=body, headers=other.headers)
        assert_problem(response, 404)
    # A review id under another document of the same firm is not found either.
    elsewhere = await draft_document(db, owner, title="Other letter")
    wrong = await vote(client, staff, elsewhere, submitted["id"])
    assert_problem(wrong, 404)
    assert await status_of(db, document) == "in_review"


async def test_after_an_outage_only_the_latest_due_reminder_is_planned(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    staff = await add_user(db, owner, Role.staff)
    document = await draft_document(db, owner)
    submitted = await submit(client, owner, document, reviewer_user_ids=[str(staff.user.id)])
    monday = datetime(2026, 12, 7, 10, tzinfo=UTC)
    request = review.PlanInput(
        firm_id=owner.firm.id,
        approval_id=uuid.UUID(submitted["id"]),
        started_at=monday,
        reminders_sent=0,
    )
    await scope_to_firm(db, owner.firm.id)
    first = await review_process.plan(db, request)
    assert (first.reminder, first.next_reminder_at) == (1, monday + timedelta(days=2))
    # Two weeks later, reminders 1 to 5 have fallen due (every 2 business days): plan 5.
    late = await review_process.plan(
        db, request.model_copy(update={"now": monday + timedelta(days=14)})
    )
    assert (late.reminder, late.next_reminder_at) == (5, monday + timedelta(days=14))
    assert late.status == "pending" and not late.quorum_unreachable
