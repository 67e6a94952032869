"""examples/automations/weekly-digest.yaml, end to end on the dev server: imported and
published through the API, its Temporal Schedule fires on Mondays at 08:00 in the firm's
time zone, and a fire (triggered now) runs it with the real worker: the figures come from a
loopback server standing in for the reporting API (with the firm's credential), and the
digest, or the quiet-week note, reaches a real SMTP server."""

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.config import Settings
from core.db import tenant_session
from core.temporal import LazyClient
from models import AutomationRun, Firm
from services.automations import schedules
from tests.factories import Actor, make_firm
from tests.integration.automations import test_automation_examples as examples
from tests.integration.automations.test_automation_examples import BASE, Systems, load, pointed_at
from tests.integration.automations.test_automation_schedules import (
    after_the_second_of,
    eventually,
    schedule_runs,
    synced,
)
from tests.mailbox import Mailbox, text_of
from worker import build_worker

Maker = async_sessionmaker[AsyncSession]
NAME = "weekly-digest.yaml"
REPORTS_API = "https://reports.example.com/api/v1"
REPORTS_KEY = "reports-key-5c1e9a7d3b"
PARTNERS = "partners@yourfirm.example"
BERLIN = ZoneInfo("Europe/Berlin")
# Jinja's urlencode keeps "/" as is.
FIGURES = "/api/v1/reports/weekly?period=last_week&time_zone=Europe/Berlin"

# The loopback reporting API of the other example tests.
systems = examples.systems


@pytest.fixture
async def berlin_firm(committing_sessionmaker: Maker) -> Actor:
    async with committing_sessionmaker() as session:
        actor = await make_firm(session, "Digest")
    # Firms choose their zone at signup; this one signed up in Berlin.
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        await session.execute(
            update(Firm).where(Firm.id == actor.firm.id).values(time_zone=BERLIN.key)
        )
    return actor


@pytest.fixture
async def api(
    settings: Settings, committing_sessionmaker: Maker, temporal_dev_server: WorkflowEnvironment
) -> AsyncIterator[AsyncClient]:
    app = create_app(
        settings,
        sessionmaker=committing_sessionmaker,
        temporal=LazyClient(settings, client=temporal_dev_server.client),
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def prepared(api: AsyncClient, actor: Actor, systems: Systems) -> str:
    """The example imported with its reporting API pointed at the loopback server, the
    credential and allow-list it needs, and activated."""
    for method, path, body in (
        ("PATCH", "/v1/firm/http-allowlist", {"entries": ["127.0.0.1"]}),
        ("POST", "/v1/credentials", {"name": "reports_api_key", "value": REPORTS_KEY}),
    ):
        response = await api.request(method, path, json=body, headers=actor.headers)
        assert response.status_code in (200, 201), response.text
    text = pointed_at(NAME, REPORTS_API, systems, "/api/v1")
    imported = await api.post(
        f"{BASE}/import?publish=true",
        content=text,
        headers={**actor.headers, "Content-Type": "application/yaml"},
    )
    assert imported.status_code == 201, imported.text
    automation_id: str = imported.json()["automation"]["id"]
    assert imported.json()["automation"]["name"] == load(NAME)["name"]
    activated = await api.post(f"{BASE}/{automation_id}/activate", headers=actor.headers)
    assert activated.status_code == 200, activated.text
    return automation_id


def figures(**overrides: Any) -> dict[str, Any]:
    return {
        "week": "2026-W47",
        "revenue": "EUR 48,250.00",
        "invoices_sent": 12,
        "invoices_paid": 9,
        "new_clients": 2,
        "overdue": [{"number": "INV-2041"}, {"number": "INV-2057"}],
        **overrides,
    }


async def test_the_weekly_digest_fires_on_monday_mornings_and_mails_the_figures(
    settings: Settings,
    api: AsyncClient,
    berlin_firm: Actor,
    systems: Systems,
    mailbox: Mailbox,
    temporal_dev_server: WorkflowEnvironment,
    committing_sessionmaker: Maker,
) -> None:
    env, maker, actor = temporal_dev_server, committing_sessionmaker, berlin_firm
    automation_id = await prepared(api, actor, systems)
    await synced(maker, actor)

    view = (await api.get(f"{BASE}/{automation_id}/schedule", headers=actor.headers)).json()
    assert (view["state"], view["time_zone"], view["overlap"]) == (
        "active",
        "Europe/Berlin",
        "skip",
    )
    mondays = [datetime.fromisoformat(t).astimezone(BERLIN) for t in view["next_fire_times"]]
    assert len(mondays) == 10
    assert all((t.weekday(), t.hour, t.minute) == (0, 8, 0) for t in mondays)

    systems.records[FIGURES] = figures()
    smtp = settings.model_copy(
        update={"email_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": mailbox.port}
    )
    handle = env.client.get_schedule_handle(schedules.schedule_id(uuid.UUID(automation_id)))
    async with build_worker(smtp, env.client, maker):
        await handle.trigger()

        async def runs_done(count: int) -> list[AutomationRun] | None:
            runs = await schedule_runs(maker, actor, automation_id)
            done = [run for run in runs if run.status == "succeeded"]
            return runs if len(done) == count else None

        [run] = await eventually(lambda: runs_done(1), "the digest run did not succeed")
        assert (run.trigger, run.trigger_payload) == ("schedule", {"period": "last_week"})
        assert [seen.path for seen in systems.seen] == [FIGURES]
        assert systems.seen[0].headers["authorization"] == f"Bearer {REPORTS_KEY}"
        [sent] = mailbox.to(PARTNERS)
        assert sent["Subject"] == "Weekly digest, 2026-W47"
        digest = text_of(sent)
        for line in (
            "Revenue:        EUR 48,250.00",
            "Invoices sent:  12",
            "Invoices paid:  9",
            "New clients:    2",
            "Overdue:        2 invoice(s) INV-2041, INV-2057",
        ):
            assert line in digest

        # A week with nothing to report gets the short note.
        systems.records[FIGURES] = figures(
            invoices_sent=0, invoices_paid=0, new_clients=0, overdue=[]
        )
        await after_the_second_of(run)

        # The schedule skips a fire while the previous fire's workflow still runs (overlap
        # "skip"), and on a loaded machine it can outlive the run it started by a moment.
        async def idle() -> bool | None:
            return True if not (await handle.describe()).info.running_actions else None

        await eventually(idle, "the first fire's workflow did not finish")
        await handle.trigger()
        await eventually(lambda: runs_done(2), "the quiet week's run did not succeed")
        [_, quiet] = mailbox.to(PARTNERS)
        assert quiet["Subject"] == "Weekly digest, 2026-W47: a quiet week"
        assert "No invoices were sent or paid" in text_of(quiet)
