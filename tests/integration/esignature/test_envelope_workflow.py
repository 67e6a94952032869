"""EnvelopeWorkflow on the time-skipping server through the app's own worker, started by
the envelopes API through the outbox, emailing through a real SMTP server, signed through
the public signing API with the links in those emails. A firm in New York: every reminder
goes out inside its business hours, to whoever's turn it is and has not signed, never after
their signature; a sequential envelope completes (sealed, envelope.completed, the signed
copy to every recipient once); a decline ends it and tells the others; a corrected address
gets a new link (the old one refused) and the reminders; duplicate and out-of-order signals
change nothing."""

import uuid
from datetime import datetime, timedelta

import pytest
from httpx import AsyncClient
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.esignature_factories import SIGNER_ONE, SIGNER_TWO, sent_envelope, two_signers
from tests.esignature_sealing import platform_key
from tests.esignature_workflow import (
    Maker,
    business_hours,
    decline_by_link,
    envelope_row,
    events_emitted,
    finished,
    link_in,
    mail_to,
    mailed,
    message_id_of,
    new_york_owner,
    next_reminder,
    open_link,
    recorded,
    sign_by_link,
    skip,
    to_minute,
    trail,
)
from tests.factories import Actor
from tests.fixtures.workers import PUBLIC_URL
from tests.mailbox import Mailbox, text_of
from workflows.esignature.envelope import contracts as envelope_process
from workflows.esignature.envelope.contracts import RecipientChange, RecipientChanged

__all__ = ["new_york_owner", "platform_key"]

ADA, GRACE = SIGNER_ONE["email"], SIGNER_TWO["email"]
# Long enough that no test of this module reaches it, whatever the module skipped before.
LONG = {"expiry_days": 120}


@pytest.mark.usefixtures("platform_key")
async def test_a_sequential_envelope_reminds_in_business_hours_and_completes(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    new_york_owner: Actor,
) -> None:
    maker, owner = committing_sessionmaker, new_york_owner
    firm_id = owner.firm.id
    envelope = await sent_envelope(temporal_api, owner, **LONG)
    envelope_id = uuid.UUID(envelope["id"])
    [link] = await mailed(mailbox, ADA, "Please sign")
    assert f"{PUBLIC_URL}/sign/" in text_of(link)
    [delivered] = await recorded(maker, firm_id, envelope_id, "delivered")
    assert delivered.email == ADA and delivered.detail["round"] == 1
    assert mail_to(mailbox, GRACE, "Please sign") == []

    # Ada's first reminder two days on, the second three days after it, each at the
    # schedule's moment inside business hours.
    for count in (1, 2):
        due = await next_reminder(maker, firm_id, envelope_id, ADA)
        await skip(temporal_env, due + timedelta(minutes=1))
        reminded = await recorded(maker, firm_id, envelope_id, "reminded", count)
        assert to_minute(reminded[-1].detail["at"]) == to_minute(due)
    await mailed(mailbox, ADA, "Reminder: please sign", 2)
    await sign_by_link(temporal_api, link)
    [grace_link] = await mailed(mailbox, GRACE, "Please sign")

    due = await next_reminder(maker, firm_id, envelope_id, GRACE)
    await skip(temporal_env, due + timedelta(minutes=1))
    await recorded(maker, firm_id, envelope_id, "reminded", 3)
    await mailed(mailbox, GRACE, "Reminder: please sign")
    await sign_by_link(temporal_api, grace_link)
    # Sealing takes real seconds: the result is asked for once the copies went out.
    for address in (ADA, GRACE, owner.user.email):
        await mailed(mailbox, address, "Completed")
    result = await finished(temporal_env, envelope["id"])
    assert result.status == "completed" and result.send_round == 1

    # Every reminder went out inside the firm's business hours in New York, and none to
    # Ada after her signature.
    hours = await business_hours(maker, firm_id)
    reminded = await trail(maker, firm_id, envelope_id, "reminded")
    by_message = {event.detail["message_id"]: event for event in reminded}
    reminders = mail_to(mailbox, ADA, "Reminder") + mail_to(mailbox, GRACE, "Reminder")
    assert len(reminders) == len(reminded) >= 3
    for message in reminders:
        sent_at = by_message[message_id_of(message)].detail["at"]
        assert hours.inside(datetime.fromisoformat(sent_at)), hours.local(
            datetime.fromisoformat(sent_at)
        )
    assert len(mail_to(mailbox, ADA, "Reminder")) == 2
    [ada_signed] = [e for e in await trail(maker, firm_id, envelope_id, "signed") if e.email == ADA]
    assert all(e.occurred_at < ada_signed.occurred_at for e in reminded if e.email == ADA)

    row = await envelope_row(maker, firm_id, envelope_id)
    assert row.status == "completed" and row.completed_at is not None
    kinds = [event.kind for event in await trail(maker, firm_id, envelope_id)]
    assert kinds.index("sealed") < kinds.index("completed")
    [completed] = await events_emitted(maker, firm_id, "envelope.completed")
    assert completed["envelope_id"] == str(envelope_id)
    # The signed copy to each recipient once; the sender is told.
    for address in (ADA, GRACE):
        [copy] = await mailed(mailbox, address, "Completed")
        [attached] = list(copy.iter_attachments())
        assert attached.get_content_type() == "application/pdf"
        assert attached.get_content()[:5] == b"%PDF-"
    await mailed(mailbox, owner.user.email, "Completed")


async def test_a_decline_ends_the_envelope_and_tells_the_sender_and_the_others(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    new_york_owner: Actor,
) -> None:
    maker, owner = committing_sessionmaker, new_york_owner
    envelope = await sent_envelope(
        temporal_api, owner, recipients=two_signers(parallel=True), **LONG
    )
    envelope_id = uuid.UUID(envelope["id"])
    [ada_link] = await mailed(mailbox, ADA, "Please sign")
    await mailed(mailbox, GRACE, "Please sign")
    await decline_by_link(temporal_api, ada_link, "The fee is wrong")
    notices = [await mailed(mailbox, a, "Declined") for a in (GRACE, owner.user.email)]
    result = await finished(temporal_env, envelope["id"])
    assert result.status == "declined"

    row = await envelope_row(maker, owner.firm.id, envelope_id)
    assert row.status == "declined" and row.declined_at is not None
    [declined] = await events_emitted(maker, owner.firm.id, "envelope.declined")
    assert declined["envelope_id"] == str(envelope_id)
    for [notice] in notices:
        assert "The fee is wrong" in text_of(notice)
    assert mail_to(mailbox, ADA, "Declined") == []
    # Days later: no reminder, the workflow has ended.
    await skip(temporal_env, await temporal_env.get_current_time() + timedelta(days=7))
    assert await trail(maker, owner.firm.id, envelope_id, "reminded") == []


async def test_duplicate_and_out_of_order_signals_change_nothing(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    new_york_owner: Actor,
) -> None:
    maker, owner = committing_sessionmaker, new_york_owner
    envelope = await sent_envelope(temporal_api, owner, **LONG)
    envelope_id = uuid.UUID(envelope["id"])
    ada, grace = (r["id"] for r in envelope["recipients"])
    [link] = await mailed(mailbox, ADA, "Please sign")
    handle = temporal_env.client.get_workflow_handle(envelope_process.workflow_id(envelope_id))

    def changed(recipient_id: str, change: RecipientChange) -> RecipientChanged:
        return RecipientChanged(recipient_id=uuid.UUID(recipient_id), change=change)

    # Grace "signed" before her turn, Ada "viewed" three times, a correction and a void
    # that never happened, a re-send of the same round: each only makes the workflow look.
    await handle.signal(envelope_process.RECIPIENT_SIGNAL, changed(grace, "signed"))
    for _ in range(3):
        await handle.signal(envelope_process.RECIPIENT_SIGNAL, changed(ada, "viewed"))
    await handle.signal(envelope_process.CORRECTED_SIGNAL, changed(ada, "corrected"))
    await handle.signal(envelope_process.VOID_SIGNAL, envelope_process.Voided(reason="no"))
    await handle.signal(envelope_process.RESENT_SIGNAL, envelope_process.Resent(send_round=1))
    # Opened twice: one view recorded.
    await open_link(temporal_api, link)
    await sign_by_link(temporal_api, link)
    await mailed(mailbox, GRACE, "Please sign")
    # Ada's signature again, late and twice.
    for _ in range(2):
        await handle.signal(envelope_process.RECIPIENT_SIGNAL, changed(ada, "signed"))
        await handle.signal(envelope_process.RECIPIENT_SIGNAL, changed(ada, "viewed"))

    voided = await temporal_api.post(
        f"/v1/envelopes/{envelope_id}/void", json={"reason": "Sent in error"}, headers=owner.headers
    )
    assert voided.status_code == 200, voided.text
    for address in (ADA, GRACE):
        [notice] = await mailed(mailbox, address, "Voided")
        assert "Sent in error" in text_of(notice)
    result = await finished(temporal_env, envelope["id"])
    assert result.status == "voided"
    # One link each, one delivery each, one view and one signature of Ada's, no reminder.
    for address in (ADA, GRACE):
        assert len(mail_to(mailbox, address, "Please sign")) == 1
    kinds = [event.kind for event in await trail(maker, owner.firm.id, envelope_id)]
    assert kinds.count("delivered") == 2 and kinds.count("signed") == 1
    assert kinds.count("viewed") == 1 and "reminded" not in kinds
    assert (await envelope_row(maker, owner.firm.id, envelope_id)).status == "voided"


async def test_a_corrected_address_gets_a_new_link_and_the_old_one_stops_working(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    new_york_owner: Actor,
) -> None:
    maker, owner = committing_sessionmaker, new_york_owner
    envelope = await sent_envelope(temporal_api, owner, **LONG)
    envelope_id = uuid.UUID(envelope["id"])
    ada = envelope["recipients"][0]["id"]
    [old] = await mailed(mailbox, ADA, "Please sign")
    corrected = await temporal_api.patch(
        f"/v1/envelopes/{envelope_id}/recipients/{ada}",
        json={"email": "ada.lovelace@example.com"},
        headers=owner.headers,
    )
    assert corrected.status_code == 200, corrected.text
    [new] = await mailed(mailbox, "ada.lovelace@example.com", "Please sign")
    recipient_id, headers = link_in(old)
    refused = await temporal_api.get(f"/v1/signing/{recipient_id}", headers=headers)
    assert refused.status_code == 403, refused.text
    # The reminders go to the new address only.
    due = await next_reminder(maker, owner.firm.id, envelope_id, "ada.lovelace@example.com")
    await skip(temporal_env, due + timedelta(minutes=1))
    await mailed(mailbox, "ada.lovelace@example.com", "Reminder: please sign")
    assert mail_to(mailbox, ADA, "Reminder") == [] and len(mail_to(mailbox, ADA, "Please")) == 1
    await sign_by_link(temporal_api, new)
    await mailed(mailbox, GRACE, "Please sign")
    voided = await temporal_api.post(
        f"/v1/envelopes/{envelope_id}/void", json={"reason": "Done on paper"}, headers=owner.headers
    )
    assert voided.status_code == 200, voided.text
    await mailed(mailbox, GRACE, "Voided")
    assert (await finished(temporal_env, envelope["id"])).status == "voided"
