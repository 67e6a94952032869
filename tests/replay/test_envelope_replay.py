"""The saved EnvelopeWorkflow history replays against today's code.

``histories/envelope.json`` is one envelope recorded on the time-skipping server with the
real activities against Postgres, the filesystem storage and a real SMTP server
(``record_history``, which tests/replay/regenerate.py runs): Ada then Grace sign a
one-page PDF in sequence. Ada's link, her first reminder two days on, a staff "remind now"
(``remind_now``), her view and signature (``recipient_changed``), Grace's link, a
correction of Grace's address (``recipient_corrected``: a new link to the new one), her
signature, the seal, the completion and the signed copies. A change to the workflow that
would break envelopes in flight fails here: version it with ``workflow.patched``."""

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from temporalio.testing import WorkflowEnvironment

from activities.esignature_envelope import EnvelopeActivities
from core.config import Settings
from core.db import tenant_session
from core.principal import Principal
from core.temporal import fixed_client
from models import EnvelopeRecipient
from providers.email import SmtpEmailProvider
from providers.http import HttpPool
from providers.storage_filesystem import FilesystemStorage
from services.documents import documents
from services.esignature import envelopes, lifecycle, progress, recipients
from services.esignature.fields import FieldLayout, FieldSpec, replace_fields
from services.esignature.repository import RECIPIENTS
from services.esignature.sealing_keys import ensure_platform_key
from services.esignature.state import RecipientFields, get_envelope
from services.outbox.writer import pop_outbox_ids
from tests.esignature_factories import sample_pdf
from tests.esignature_workflow import next_reminder, recipient_row, recorded
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
from workflows.esignature.envelope import contracts as envelope_process
from workflows.esignature.envelope.workflow import EnvelopeWorkflow

HISTORY = HISTORIES / "envelope.json"
# How long the recording waits for the worker to act on a moment of workflow time.
DEADLINE = 60.0


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _draft(maker: Maker, storage: FilesystemStorage, owner: Principal) -> uuid.UUID:
    async with tenant_session(owner.firm_id, maker) as session:
        data = sample_pdf(1)
        blob = await documents.upload(session, owner, storage, _chunks(data), declared_name="l.pdf")
        document = await documents.create_document(
            session,
            owner,
            fields=documents.DocumentFields(title="Engagement letter"),
            blob=blob,
            file_name="letter.pdf",
            note=None,
        )
        envelope = await envelopes.create_envelope(
            session,
            storage,
            owner,
            fields=envelopes.EnvelopeFields(
                title="Engagement letter 2026",
                document_ids=[document.id],
                recipients=[
                    RecipientFields(name="Ada Lovelace", email="ada@example.com"),
                    RecipientFields(
                        name="Grace Hopper", email="grace@example.com", routing_order=2
                    ),
                ],
            ),
        )
        detail = await envelopes.view(session, owner, envelope.id)
        layout = FieldLayout(
            fields=[
                FieldSpec(
                    recipient_id=recipient.id,
                    envelope_document_id=detail.documents[0].row.id,
                    kind="signature",
                    page=1,
                    x=0.1,
                    y=0.6 + 0.15 * index,
                    width=0.3,
                    height=0.06,
                )
                for index, recipient in enumerate(detail.recipients)
            ]
        )
        await replace_fields(session, owner, envelope.id, layout)
        await lifecycle.send(session, owner, envelope.id)
        # The test starts the workflow itself, on the recording's own queue.
        pop_outbox_ids(session)
        return envelope.id


async def _sign(
    env: WorkflowEnvironment, maker: Maker, firm_id: uuid.UUID, envelope_id: uuid.UUID, email: str
) -> None:
    """The recipient views and signs (typed), as the signing page would record it."""
    for change in ("viewed", "signed"):
        async with tenant_session(firm_id, maker) as session:
            envelope = await get_envelope(session, firm_id, envelope_id)
            recipient = (
                await session.scalars(
                    RECIPIENTS.select(firm_id).where(
                        EnvelopeRecipient.envelope_id == envelope_id,
                        EnvelopeRecipient.email == email,
                    )
                )
            ).one()
            recipient.signature_kind, recipient.signature_text = "typed", recipient.name
            await progress.recipient_changed(session, envelope, recipient, change, source="builtin")
            ids = pop_outbox_ids(session)
        await dispatch(env, maker, ids)


async def _signal(
    env: WorkflowEnvironment, maker: Maker, firm_id: uuid.UUID, action: Callable[..., Any]
) -> None:
    """Run a service ``action(session)`` in one transaction and carry out its outbox."""
    async with tenant_session(firm_id, maker) as session:
        await action(session)
        ids = pop_outbox_ids(session)
    await dispatch(env, maker, ids)


def _activities(
    env: WorkflowEnvironment,
    maker: Maker,
    settings: Settings,
    storage: FilesystemStorage,
    port: int,
) -> list[Callable[..., Any]]:
    activities = EnvelopeActivities(
        maker,
        fixed_client(env.client),
        settings=settings,
        email=SmtpEmailProvider(host="127.0.0.1", port=port, sender="firm@example.com"),
        storage=storage,
        http=HttpPool(),
    )
    return [
        activities.plan,
        activities.send_to_provider,
        activities.deliver,
        activities.remind,
        activities.warn_expiry,
        activities.expire,
        activities.decline,
        activities.void,
        activities.seal,
        activities.complete,
        activities.send_copies,
    ]


async def _scenario(
    env: WorkflowEnvironment, maker: Maker, owner: Principal, envelope_id: uuid.UUID
) -> None:
    """Ada reminded by the schedule and by staff, signs; Grace's address corrected, signs."""
    firm_id = owner.firm_id
    await recorded(maker, firm_id, envelope_id, "delivered")
    due = await next_reminder(maker, firm_id, envelope_id, "ada@example.com")
    await env.sleep(due + timedelta(minutes=1) - await env.get_current_time())
    await recorded(maker, firm_id, envelope_id, "reminded")
    await _signal(env, maker, firm_id, lambda s: lifecycle.remind(s, owner, envelope_id))
    await recorded(maker, firm_id, envelope_id, "reminded", 2)
    await _sign(env, maker, firm_id, envelope_id, "ada@example.com")
    await recorded(maker, firm_id, envelope_id, "delivered", 2)
    grace = await recipient_row(maker, firm_id, envelope_id, "grace@example.com")
    patch = recipients.RecipientPatch(email="grace.hopper@example.com")
    await _signal(
        env,
        maker,
        firm_id,
        lambda s: recipients.update_recipient(s, owner, envelope_id, grace.id, patch=patch),
    )
    await recorded(maker, firm_id, envelope_id, "delivered", 3)
    await _sign(env, maker, firm_id, envelope_id, "grace.hopper@example.com")


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the history as JSON."""
    queue = own_queue()
    owner = await new_firm_owner(maker, "envelope")
    settings = Settings(
        database_url="postgresql://unused/unused",
        encryption_keys=Fernet.generate_key().decode(),
        public_url="https://app.example",
        _env_file=None,
    )
    async with maker() as session, session.begin():
        await ensure_platform_key(session, settings)
    with tempfile.TemporaryDirectory() as files, running_mailbox() as box:
        storage = FilesystemStorage(Path(files))
        envelope_id = await _draft(maker, storage, owner)
        activities = _activities(env, maker, settings, storage, box.port)
        async with recording_worker(env, queue, [EnvelopeWorkflow], activities):
            handle = await env.client.start_workflow(
                EnvelopeWorkflow.run,
                envelope_process.EnvelopeInput(
                    firm_id=owner.firm_id, envelope_id=envelope_id, send_round=1
                ),
                id=envelope_process.workflow_id(envelope_id),
                task_queue=queue,
            )
            await _scenario(env, maker, owner, envelope_id)
            async with asyncio.timeout(DEADLINE):
                result = await handle.result()
            assert result.status == "completed"
            return await history_json(handle)


def test_the_history_covers_the_steps_and_signals_of_a_completed_envelope() -> None:
    history = events(HISTORY)
    assert started_type(history) == envelope_process.WORKFLOW_NAME
    assert set(activity_names(history)) == {
        envelope_process.PLAN_ACTIVITY,
        envelope_process.DELIVER_ACTIVITY,
        envelope_process.REMIND_ACTIVITY,
        envelope_process.SEAL_ACTIVITY,
        envelope_process.COMPLETE_ACTIVITY,
        envelope_process.COPIES_ACTIVITY,
    }
    assert set(signal_names(history)) == {
        envelope_process.REMIND_SIGNAL,
        envelope_process.RECIPIENT_SIGNAL,
        envelope_process.CORRECTED_SIGNAL,
    }
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([EnvelopeWorkflow], HISTORY)


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    await assert_tampering_caught(
        [EnvelopeWorkflow], HISTORY, field, first_activity_name=envelope_process.PLAN_ACTIVITY
    )
