"""DocumentReviewWorkflow on the time-skipping server through the app's own worker, started
and signalled through the API and the outbox, emailing through a real SMTP server: the
reminders fall in the firm's business hours (submitted Friday 16:00 in Berlin, the first
reminder is Tuesday 16:00) and reach only who has not voted, the deadline escalates to the
document's owner, a rejection ends the review and the same version is submitted again, a
quorum of two publishes on the second approval, a reviewer deactivated mid-review
escalates at once when the quorum is out of reach, and a document moved to the bin ends its
review."""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.db import tenant_session
from core.roles import Role
from models import AuditEvent, Document
from tests.factories import Actor, add_user
from tests.fixtures.temporal import result_skipping_time
from tests.fixtures.workers import PUBLIC_URL
from tests.mailbox import Mailbox, text_of
from tests.review_factories import draft_document
from workflows.documents.review import contracts as review

Maker = async_sessionmaker[AsyncSession]
BERLIN = ZoneInfo("Europe/Berlin")
# How long a test waits for the worker to do what a moment of workflow time asks.
DEADLINE = 30.0
POLL_INTERVAL = 0.05


async def colleague(maker: Maker, owner: Actor, role: Role = Role.staff) -> Actor:
    async with maker() as session:
        return await add_user(session, owner, role)


async def new_draft(maker: Maker, owner: Actor) -> Document:
    async with maker() as session:
        return await draft_document(session, owner)


async def skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    """Move the test server's clock to ``moment`` (timers due before it fire)."""
    await env.sleep(moment - await env.get_current_time())


async def next_friday_16(env: WorkflowEnvironment) -> datetime:
    local = (await env.get_current_time()).astimezone(BERLIN) + timedelta(days=1)
    friday = local.date() + timedelta(days=(4 - local.weekday()) % 7)
    return datetime(friday.year, friday.month, friday.day, 16, tzinfo=BERLIN)


async def audited(
    maker: Maker, firm_id: uuid.UUID, action: str, count: int = 1
) -> list[dict[str, Any]]:
    """The ``after`` of the firm's ``action`` audit events once there are ``count``."""
    async with asyncio.timeout(DEADLINE):
        while True:
            async with tenant_session(firm_id, maker) as session:
                rows = list(
                    await session.scalars(
                        select(AuditEvent.summary)
                        .where(AuditEvent.firm_id == firm_id, AuditEvent.action == action)
                        .order_by(AuditEvent.created_at)
                    )
                )
            if len(rows) >= count:
                return [row.get("after", {}) for row in rows]
            await asyncio.sleep(POLL_INTERVAL)


async def mailed(mailbox: Mailbox, address: str, subject: str, count: int = 1) -> list[str]:
    """The bodies of the emails to ``address`` whose subject starts with ``subject``."""
    async with asyncio.timeout(DEADLINE):
        while True:
            found = [
                text_of(message)
                for message in mailbox.to(address)
                if str(message["Subject"]).startswith(subject)
            ]
            if len(found) >= count:
                return found
            await asyncio.sleep(POLL_INTERVAL)


async def submit(http: AsyncClient, actor: Actor, document: Document, **body: Any) -> str:
    response = await http.post(
        f"/v1/documents/{document.id}/reviews", json=body, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    review_id: str = response.json()["id"]
    return review_id


async def vote(
    http: AsyncClient,
    actor: Actor,
    document: Document,
    review_id: str,
    decision: str = "approve",
    comment: str | None = None,
) -> dict[str, Any]:
    response = await http.post(
        f"/v1/documents/{document.id}/reviews/{review_id}/decision",
        json={"decision": decision, "comment": comment},
        headers=actor.headers,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def status_of(maker: Maker, document: Document) -> str:
    async with tenant_session(document.firm_id, maker) as session:
        status = await session.scalar(select(Document.status).where(Document.id == document.id))
    assert status is not None
    return status


def local(moment: str | datetime) -> datetime:
    """In Berlin, to the minute: the review's clock starts when the worker opens it, a
    moment (real seconds) after the test moved the server's clock."""
    parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return parsed.astimezone(BERLIN).replace(second=0, microsecond=0)


async def test_reminders_in_business_hours_escalation_and_publication_on_the_quorum(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    a, b = await colleague(maker, berlin_owner), await colleague(maker, berlin_owner)
    document = await new_draft(maker, berlin_owner)
    friday = await next_friday_16(temporal_env)
    await skip_to(temporal_env, friday)
    review_id = await submit(
        temporal_api,
        berlin_owner,
        document,
        reviewer_user_ids=[str(a.user.id), str(b.user.id)],
        quorum=2,
        deadline_days=5,
    )
    for reviewer in (a, b):
        [invitation] = await mailed(mailbox, reviewer.user.email, "Review needed")
        assert f"{PUBLIC_URL}/documents/{document.id}" in invitation
    await vote(temporal_api, a, document, review_id)

    # Friday 16:00 + 2 business days is Tuesday 16:00; only b has not voted.
    tuesday = friday + timedelta(days=4)
    await skip_to(temporal_env, tuesday + timedelta(minutes=1))
    [reminded] = await audited(maker, berlin_owner.firm.id, "document.review_reminded")
    assert local(reminded["at"]) == tuesday
    assert reminded["reviewers"] == [str(b.user.id)] and reminded["sent"] == 1
    await mailed(mailbox, b.user.email, "Reminder: review needed")
    assert not [m for m in mailbox.to(a.user.email) if str(m["Subject"]).startswith("Reminder")]
    assert await status_of(maker, document) == "in_review"

    handle = temporal_env.client.get_workflow_handle(
        review.workflow_id(document.current_version_id or uuid.uuid4())
    )
    progress = await handle.query(review.PROGRESS_QUERY, result_type=review.ReviewProgress)
    assert progress.reminders_sent == 1 and progress.escalated == []
    assert progress.next_reminder_at is not None and progress.deadline_at is not None
    assert local(progress.next_reminder_at) == friday + timedelta(days=6)
    # 5 business days after Friday 16:00 is the next Friday 16:00.
    deadline = friday + timedelta(days=7)
    assert local(progress.deadline_at) == deadline

    await skip_to(temporal_env, deadline + timedelta(minutes=1))
    [escalated] = await audited(maker, berlin_owner.firm.id, "document.review_escalated")
    assert escalated["cause"] == "deadline" and local(escalated["at"]) == deadline
    assert escalated["to"] == [str(berlin_owner.user.id)]
    [letter] = await mailed(mailbox, berlin_owner.user.email, "Review escalated")
    assert "passed its deadline" in letter and "1 of the 2 approvals" in letter
    reminders = await audited(maker, berlin_owner.firm.id, "document.review_reminded", 2)
    assert [local(r["at"]).strftime("%a %H:%M") for r in reminders] == [
        "Tue 16:00",
        "Thu 16:00",
    ]

    assert (await vote(temporal_api, b, document, review_id))["status"] == "approved"
    result = review.ReviewResult.model_validate(await result_skipping_time(temporal_env, handle))
    assert result.status == "approved" and result.published
    assert result.escalated == ["deadline"]
    assert await status_of(maker, document) == "published"
    [published] = await audited(maker, berlin_owner.firm.id, "document.published")
    assert published["version_id"] == str(document.current_version_id)


async def test_a_rejected_version_is_reviewed_again_in_a_new_process(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    a = await colleague(maker, berlin_owner)
    document = await new_draft(maker, berlin_owner)
    version_id = document.current_version_id or uuid.uuid4()
    first = await submit(temporal_api, berlin_owner, document, reviewer_user_ids=[str(a.user.id)])
    await mailed(mailbox, a.user.email, "Review needed")
    rejected = await vote(temporal_api, a, document, first, "reject", "Sign page 3")
    assert rejected["status"] == "rejected"
    handle = temporal_env.client.get_workflow_handle(review.workflow_id(version_id))
    result = review.ReviewResult.model_validate(await result_skipping_time(temporal_env, handle))
    assert result.status == "rejected" and not result.published
    assert await status_of(maker, document) == "draft"

    second = await submit(
        temporal_api,
        berlin_owner,
        document,
        reviewer_user_ids=[str(a.user.id)],
        auto_publish=False,
    )
    await mailed(mailbox, a.user.email, "Review needed", 2)
    assert (await vote(temporal_api, a, document, second))["status"] == "approved"
    again = temporal_env.client.get_workflow_handle(review.workflow_id(version_id, 2))
    result = review.ReviewResult.model_validate(await result_skipping_time(temporal_env, again))
    assert result.status == "approved" and not result.published
    assert await status_of(maker, document) == "approved"
    listed = await temporal_api.get(
        f"/v1/documents/{document.id}/reviews", headers=berlin_owner.headers
    )
    assert [v["comment"] for r in listed.json() for v in r["votes"]] == ["Sign page 3", None]


async def test_a_reviewer_deactivated_mid_review_escalates_at_once_when_the_quorum_is_lost(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    a, b = await colleague(maker, berlin_owner), await colleague(maker, berlin_owner)
    document = await new_draft(maker, berlin_owner)
    review_id = await submit(
        temporal_api,
        berlin_owner,
        document,
        reviewer_user_ids=[str(a.user.id), str(b.user.id)],
        quorum=2,
    )
    await mailed(mailbox, b.user.email, "Review needed")
    await vote(temporal_api, a, document, review_id)
    deactivated = await temporal_api.patch(
        f"/v1/users/{b.user.id}", json={"is_active": False}, headers=berlin_owner.headers
    )
    assert deactivated.status_code == 200, deactivated.text

    [escalated] = await audited(maker, berlin_owner.firm.id, "document.review_escalated")
    assert escalated["cause"] == "quorum"
    [letter] = await mailed(mailbox, berlin_owner.user.email, "Review escalated")
    assert "can no longer reach its quorum" in letter

    withdrawn = await temporal_api.post(
        f"/v1/documents/{document.id}/reviews/{review_id}/withdraw",
        headers=berlin_owner.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    handle = temporal_env.client.get_workflow_handle(
        review.workflow_id(document.current_version_id or uuid.uuid4())
    )
    result = review.ReviewResult.model_validate(await result_skipping_time(temporal_env, handle))
    assert result.status == "canceled" and result.escalated == ["quorum"]
    assert result.reminders_sent == 0
    assert await status_of(maker, document) == "draft"


async def test_a_document_moved_to_the_bin_ends_its_review_at_the_next_turn(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    a = await colleague(maker, berlin_owner)
    document = await new_draft(maker, berlin_owner)
    review_id = await submit(
        temporal_api, berlin_owner, document, reviewer_user_ids=[str(a.user.id)]
    )
    await mailed(mailbox, a.user.email, "Review needed")
    binned = await temporal_api.delete(f"/v1/documents/{document.id}", headers=berlin_owner.headers)
    assert binned.status_code == 200, binned.text
    refused = await temporal_api.post(
        f"/v1/documents/{document.id}/reviews/{review_id}/decision",
        json={"decision": "approve"},
        headers=a.headers,
    )
    assert refused.status_code == 409, refused.text
    handle = temporal_env.client.get_workflow_handle(
        review.workflow_id(document.current_version_id or uuid.uuid4())
    )
    result = review.ReviewResult.model_validate(await result_skipping_time(temporal_env, handle))
    assert result.status == "canceled" and result.reminders_sent == 0
    assert not [m for m in mailbox.to(a.user.email) if str(m["Subject"]).startswith("Reminder")]
