"""The saved DocumentReviewWorkflow history replays against today's code.

``histories/document_review.json`` is one review recorded on the time-skipping server with
the real activities against Postgres and a real SMTP server (``record_history``, which
tests/replay/regenerate.py runs): three named reviewers and a quorum of two, a deadline of
three business days; the invitations, the first reminder two business days in, one
approval, a third reviewer deactivated (``reviewers_changed``; the quorum is still within
reach), the escalation at the deadline, the second approval (``decided``) and the
publication. A change to the workflow that would break reviews in flight fails here:
version it with ``workflow.patched``."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.documents_review import DocumentReviewActivities
from core.db import tenant_session
from core.principal import Principal
from core.roles import Role
from core.temporal import fixed_client
from models import User
from providers.email import SmtpEmailProvider
from services import users
from services.documents import reviews
from services.outbox.writer import pop_outbox_ids
from tests.mailbox import running_mailbox
from tests.replay.recording import (
    HISTORIES,
    Maker,
    activity_names,
    assert_tampering_caught,
    dispatch,
    events,
    history_json,
    new_firm_owner,
    own_queue,
    recording_worker,
    replay_saved,
    signal_names,
    started_type,
)
from tests.review_factories import draft_of
from workflows.documents.review import contracts as review
from workflows.documents.review.workflow import DocumentReviewWorkflow

HISTORY = HISTORIES / "document_review.json"
# How long the recording waits for the worker to act on a moment of workflow time.
DEADLINE = 30.0


async def _staff(maker: Maker, firm_id: uuid.UUID) -> User:
    async with tenant_session(firm_id, maker) as session:
        user = User(
            firm_id=firm_id,
            email=f"staff-{uuid.uuid4().hex[:8]}@example.com",
            role=Role.staff,
        )
        session.add(user)
    return user


def _as(user: User) -> Principal:
    return Principal(firm_id=user.firm_id, user_id=user.id, role=user.role, credential="script")


async def _progress(
    handle: WorkflowHandle[DocumentReviewWorkflow, review.ReviewResult],
    done: Callable[[review.ReviewProgress], bool],
) -> review.ReviewProgress:
    async with asyncio.timeout(DEADLINE):
        while True:
            progress: review.ReviewProgress = await handle.query(
                review.PROGRESS_QUERY, result_type=review.ReviewProgress
            )
            if done(progress):
                return progress
            await asyncio.sleep(0.05)


async def _sleep_past(env: WorkflowEnvironment, moment: datetime | None) -> None:
    assert moment is not None
    await env.sleep(moment + timedelta(minutes=1) - await env.get_current_time())


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the history as JSON."""
    queue = own_queue()
    owner = await new_firm_owner(maker, "review")
    firm_id = owner.firm_id
    a, b, c = [await _staff(maker, firm_id) for _ in range(3)]
    async with maker() as session:
        assert owner.user_id is not None
        document = await draft_of(session, firm_id, owner.user_id)
    async with tenant_session(firm_id, maker) as session:
        submitted = await reviews.submit(
            session,
            owner,
            document.id,
            reviews.ReviewFields(reviewer_user_ids=[a.id, b.id, c.id], quorum=2, deadline_days=3),
        )
        pop_outbox_ids(session)
    approval = submitted.approval
    assert approval.document_version_id is not None
    with running_mailbox() as box:
        email = SmtpEmailProvider(host="127.0.0.1", port=box.port, sender="firm@example.com")
        activities = DocumentReviewActivities(
            maker, fixed_client(env.client), email=email, public_url="https://app.example"
        )
        async with recording_worker(
            env,
            queue,
            [DocumentReviewWorkflow],
            [
                activities.open_review,
                activities.plan,
                activities.remind,
                activities.escalate,
                activities.publish,
            ],
        ):
            handle = await env.client.start_workflow(
                DocumentReviewWorkflow.run,
                review.ReviewInput(
                    firm_id=firm_id,
                    document_id=document.id,
                    version_id=approval.document_version_id,
                    approval_id=approval.id,
                    deadline_days=3,
                    auto_publish=True,
                ),
                id=review.workflow_id(approval.document_version_id),
                task_queue=queue,
            )
            first = await _progress(handle, lambda p: p.next_reminder_at is not None)
            await _sleep_past(env, first.next_reminder_at)
            await _progress(handle, lambda p: p.reminders_sent == 1)

            async with tenant_session(firm_id, maker) as session:
                await reviews.decide(
                    session, _as(a), document.id, approval.id, decision="approve", comment=None
                )
            async with tenant_session(firm_id, maker) as session:
                await users.update_user(session, owner, c.id, is_active=False)
                ids = pop_outbox_ids(session)
            await dispatch(env, maker, ids)

            await _sleep_past(env, first.deadline_at)
            await _progress(handle, lambda p: "deadline" in p.escalated)
            async with tenant_session(firm_id, maker) as session:
                await reviews.decide(
                    session, _as(b), document.id, approval.id, decision="approve", comment="ok"
                )
                ids = pop_outbox_ids(session)
            await dispatch(env, maker, ids)
            result = await handle.result()
            assert result.status == "approved" and result.published
            return await history_json(handle)


def test_the_history_covers_every_activity_and_signal() -> None:
    history = events(HISTORY)
    assert started_type(history) == review.WORKFLOW_NAME
    assert set(activity_names(history)) == {
        review.OPEN_ACTIVITY,
        review.PLAN_ACTIVITY,
        review.REMIND_ACTIVITY,
        review.ESCALATE_ACTIVITY,
        review.PUBLISH_ACTIVITY,
    }
    assert set(signal_names(history)) == {
        review.DECIDED_SIGNAL,
        review.REVIEWERS_CHANGED_SIGNAL,
    }
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([DocumentReviewWorkflow], HISTORY)


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    await assert_tampering_caught(
        [DocumentReviewWorkflow], HISTORY, field, first_activity_name=review.OPEN_ACTIVITY
    )
