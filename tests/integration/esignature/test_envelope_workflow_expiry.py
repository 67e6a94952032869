"""EnvelopeWorkflow's expiry on the time-skipping server (a module of its own: it moves the
clock past an envelope's expiry, which would expire the envelopes of the tests after it).
The sender is warned three days before, in business hours; at the expiry the envelope
expires (trail, envelope.expired, the sender told) and its links stop working; a re-send
starts a new round that mails fresh links and completes."""

import uuid
from datetime import timedelta

import pytest
from httpx import AsyncClient
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pure.signing_schedule import expiry_warning_at
from tests.esignature_factories import SIGNER_ONE, SIGNER_TWO, sent_envelope
from tests.esignature_sealing import platform_key
from tests.esignature_workflow import (
    Maker,
    business_hours,
    envelope_row,
    events_emitted,
    finished,
    link_in,
    mailed,
    new_york_owner,
    recorded,
    sign_by_link,
    skip,
    to_minute,
)
from tests.factories import Actor
from tests.mailbox import Mailbox, text_of
from workflows.esignature.envelope import contracts as envelope_process

__all__ = ["new_york_owner", "platform_key"]

ADA, GRACE = SIGNER_ONE["email"], SIGNER_TWO["email"]


@pytest.mark.usefixtures("platform_key")
async def test_an_envelope_warns_expires_and_is_sent_again(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    new_york_owner: Actor,
) -> None:
    maker, owner = committing_sessionmaker, new_york_owner
    firm_id, sender = owner.firm.id, owner.user.email
    envelope = await sent_envelope(temporal_api, owner, expiry_days=5)
    envelope_id = uuid.UUID(envelope["id"])
    [first_link] = await mailed(mailbox, ADA, "Please sign")
    row = await envelope_row(maker, firm_id, envelope_id)
    assert row.expires_at is not None
    expires_at = row.expires_at
    hours = await business_hours(maker, firm_id)
    warning_at = expiry_warning_at(
        hours,
        sent_at=expires_at - timedelta(days=5),
        expires_at=expires_at,
        warning_days=envelope_process.EXPIRY_WARNING_DAYS,
    )
    assert warning_at is not None

    await skip(temporal_env, warning_at + timedelta(minutes=1))
    [warned] = await recorded(maker, firm_id, envelope_id, "expiry_warning")
    assert to_minute(warned.detail["at"]) == to_minute(warning_at)
    assert hours.inside(warning_at) and warning_at >= expires_at - timedelta(days=3)
    [warning] = await mailed(mailbox, sender, "Expires soon")
    assert ADA in text_of(warning)

    await skip(temporal_env, expires_at + timedelta(minutes=1))
    await mailed(mailbox, sender, "Expired")
    result = await finished(temporal_env, envelope["id"])
    assert result.status == "expired" and result.send_round == 1
    await recorded(maker, firm_id, envelope_id, "expired")
    assert (await envelope_row(maker, firm_id, envelope_id)).status == "expired"
    [expired] = await events_emitted(maker, firm_id, "envelope.expired")
    assert expired["envelope_id"] == str(envelope_id) and expired["send_round"] == 1
    # The links sent before stop working with the envelope.
    recipient_id, headers = link_in(first_link)
    refused = await temporal_api.get(f"/v1/signing/{recipient_id}", headers=headers)
    assert refused.status_code == 410, refused.text

    resent = await temporal_api.post(
        f"/v1/envelopes/{envelope_id}/resend", json={"expiry_days": 120}, headers=owner.headers
    )
    assert resent.status_code == 200, resent.text
    first, second = await mailed(mailbox, ADA, "Please sign", 2)
    assert link_in(first)[1] != link_in(second)[1]
    await sign_by_link(temporal_api, second)
    [grace_link] = await mailed(mailbox, GRACE, "Please sign")
    await sign_by_link(temporal_api, grace_link)
    for address in (ADA, GRACE, sender):
        await mailed(mailbox, address, "Completed")
    result = await finished(temporal_env, envelope["id"])
    assert result.status == "completed" and result.send_round == 2
    # The trail goes on across the rounds; one expiry warning and one expiry.
    assert len(await recorded(maker, firm_id, envelope_id, "delivered", 3)) == 3
    assert len(await recorded(maker, firm_id, envelope_id, "expiry_warning")) == 1
    assert len(await recorded(maker, firm_id, envelope_id, "completed")) == 1
