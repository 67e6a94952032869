"""Every workflow firmflow starts is findable by firm: it carries ``FirmflowFirmId``,
``FirmflowProcess`` and its business key from its first event, whatever starts it (an
outbox message, new or written before messages carried them; a child start; a Schedule's
action; the worker starting the relay), and a visibility query on the dev server finds it.

The registry test holds workflows/registry.py and workflows/processes.py to the same
workflows, so a workflow registered without a process name fails here; the source scan
fails on a Temporal start call in our code that passes no search attributes."""

import ast
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import workflow
from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    WorkflowExecutionDescription,
)
from temporalio.common import TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from core.config import Settings
from core.temporal import OUTBOX_RELAY_ID, LazyClient, fixed_client
from models import AutomationStatus, OutboxMessage
from services.automations import schedules
from services.outbox import writer as outbox
from services.outbox.dispatch import dispatch_message
from tests.automations import (
    BASE,
    active_automation,
    create,
    definition,
    finished,
    handle,
    publish,
    start,
    step_rows,
)
from tests.factories import Actor
from tests.integration.automations.test_automation_call import call_step
from tests.integration.automations.test_automation_foreach import foreach_step
from tests.integration.automations.test_automation_scheduled_workflow import (
    NOTE,
    automation,
    fire,
    fire_worker,
    scheduled,
)
from tests.integration.automations.test_automation_schedules import action, eventually, synced
from worker import ensure_outbox_relay
from workflows.automation.debounce import contracts as debounce
from workflows.automation.debounce.contracts import DebounceInput, DebounceTrigger
from workflows.automation.run import contracts as run_contracts
from workflows.automation.run.foreach import contracts as foreach_contracts
from workflows.billing.dunning.contracts import DunningInput
from workflows.billing.invoice_pdf.contracts import InvoicePdfInput
from workflows.billing.payment_retry.contracts import PaymentRetryInput
from workflows.billing.recurring.contracts import RecurringInput
from workflows.billing.stripe_event.contracts import StripeEventInput
from workflows.clients.client_import.contracts import ClientImportInput
from workflows.documents.review.contracts import ReviewInput
from workflows.documents.text.contracts import DocumentTextInput
from workflows.esignature.envelope.contracts import EnvelopeInput
from workflows.processes import PROCESSES
from workflows.registry import WORKFLOWS

Maker = async_sessionmaker[AsyncSession]
ROOT = Path(__file__).resolve().parents[3]
# Our code that runs in production; each Temporal start in it must pass search attributes.
SOURCES = ["api", "activities", "core", "providers", "services", "workflows", "worker.py"]
START_CALLS = {
    "start_workflow",
    "execute_workflow",
    "start_child_workflow",
    "execute_child_workflow",
}


def firmflow_attributes(found: TypedSearchAttributes) -> dict[str, Any]:
    """Ours only (a schedule adds Temporal's own, TemporalScheduledStartTime and so on)."""
    return {pair.key.name: pair.value for pair in found if pair.key.name.startswith("Firmflow")}


def attributes(description: WorkflowExecutionDescription) -> dict[str, Any]:
    return firmflow_attributes(description.typed_search_attributes)


def test_every_registered_workflow_has_a_process_name_and_its_input_names_the_rest() -> None:
    definitions = [workflow._Definition.must_from_class(cls) for cls in WORKFLOWS]
    assert {defn.name for defn in definitions} == set(PROCESSES)
    for defn in definitions:
        # The input the workflow runs with is the one whose search_attributes it starts with.
        assert defn.arg_types == [PROCESSES[defn.name].input], defn.name
    names = [process.name for process in PROCESSES.values()]
    assert len(set(names)) == len(names)


def start_calls_without_attributes(path: Path) -> tuple[int, list[str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    seen, missing = 0, []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        temporal_start = isinstance(func, ast.Attribute) and name in START_CALLS
        # services.outbox.writer's message builders take the input, which names the attributes.
        builder = isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "outbox"
        if (temporal_start and not builder) or name == ScheduleActionStartWorkflow.__name__:
            seen += 1
            passed = {keyword.arg for keyword in node.keywords}
            if not passed & {"search_attributes", "typed_search_attributes"}:
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return seen, missing


def test_every_temporal_start_in_our_code_passes_search_attributes() -> None:
    files = [
        file
        for source in SOURCES
        for file in ((ROOT / source).rglob("*.py") if (ROOT / source).is_dir() else [ROOT / source])
    ]
    found = [start_calls_without_attributes(file) for file in files]
    missing = [where for _, places in found for where in places]
    assert missing == []
    # The outbox dispatch (start, signal-with-start), the relay, the schedule action and the
    # child starts of call, foreach and the schedule fire.
    assert sum(seen for seen, _ in found) >= 7


def dispatched(message: outbox.NewMessage, firm_id: uuid.UUID, legacy: bool) -> OutboxMessage:
    payload = dict(message.payload)
    if legacy:
        # As written before messages carried their attributes.
        del payload["search_attributes"]
    return OutboxMessage(
        id=uuid.uuid4(),
        firm_id=firm_id,
        kind=message.kind,
        dedupe_key=message.dedupe_key,
        payload=payload,
    )


def outbox_starts(firm_id: uuid.UUID, queue: str) -> list[tuple[outbox.NewMessage, dict[str, Any]]]:
    """One start message per workflow the outbox starts, with the attributes it must carry."""
    firm = str(firm_id)
    ids = {
        name: uuid.uuid4()
        for name in (
            "run",
            "automation",
            "import",
            "invoice",
            "recurring",
            "document",
            "version",
            "envelope",
        )
    }
    run = run_contracts.RunInput(
        run_id=ids["run"],
        firm_id=firm_id,
        automation_id=ids["automation"],
        version=3,
        definition={},
        started_at=datetime.now(UTC),
    )
    event_id = f"evt_{uuid.uuid4().hex}"
    unique = uuid.uuid4().hex

    def start_message(workflow_name: str, arg: Any) -> outbox.NewMessage:
        return outbox.start_workflow(
            workflow_name, f"{workflow_name}-{unique}", arg, task_queue=queue
        )

    automation_id, invoice_id = str(ids["automation"]), str(ids["invoice"])
    return [
        (
            start_message("AutomationRunWorkflow", run),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "automation-run",
                "FirmflowAutomationId": automation_id,
                "FirmflowAutomationVersion": 3,
                "FirmflowRunStatus": "running",
            },
        ),
        (
            start_message(
                "ClientImportWorkflow", ClientImportInput(firm_id=firm_id, import_id=ids["import"])
            ),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "client-import",
                "FirmflowClientImportId": str(ids["import"]),
            },
        ),
        (
            start_message(
                "DocumentTextWorkflow",
                DocumentTextInput(
                    firm_id=firm_id, document_id=ids["document"], version_id=ids["version"]
                ),
            ),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "document-text",
                "FirmflowDocumentId": str(ids["document"]),
            },
        ),
        (
            start_message(
                "DocumentReviewWorkflow",
                ReviewInput(
                    firm_id=firm_id,
                    document_id=ids["document"],
                    version_id=ids["version"],
                    approval_id=ids["run"],
                    deadline_days=5,
                    auto_publish=True,
                ),
            ),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "document-review",
                "FirmflowDocumentId": str(ids["document"]),
            },
        ),
        (
            start_message(
                "DunningWorkflow", DunningInput(firm_id=firm_id, invoice_id=ids["invoice"])
            ),
            {"FirmflowFirmId": firm, "FirmflowProcess": "dunning", "FirmflowInvoiceId": invoice_id},
        ),
        (
            start_message(
                "InvoicePdfWorkflow",
                InvoicePdfInput(firm_id=firm_id, invoice_id=ids["invoice"], occasion="finalized"),
            ),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "invoice-pdf",
                "FirmflowInvoiceId": invoice_id,
            },
        ),
        (
            start_message(
                "PaymentRetryWorkflow",
                PaymentRetryInput(
                    firm_id=firm_id, invoice_id=ids["invoice"], failed_at=datetime.now(UTC)
                ),
            ),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "payment-retry",
                "FirmflowInvoiceId": invoice_id,
            },
        ),
        (
            start_message(
                "RecurringInvoiceWorkflow",
                RecurringInput(firm_id=firm_id, recurring_invoice_id=ids["recurring"]),
            ),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "recurring-invoice",
                "FirmflowRecurringInvoiceId": str(ids["recurring"]),
            },
        ),
        (
            start_message(
                "EnvelopeWorkflow",
                EnvelopeInput(firm_id=firm_id, envelope_id=ids["envelope"], send_round=1),
            ),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "envelope",
                "FirmflowEnvelopeId": str(ids["envelope"]),
            },
        ),
        (
            start_message(
                "StripeEventWorkflow", StripeEventInput(firm_id=firm_id, event_id=event_id)
            ),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "stripe-event",
                "FirmflowStripeEventId": event_id,
            },
        ),
        (
            outbox.signal_with_start(
                "AutomationDebounceWorkflow",
                f"AutomationDebounceWorkflow-{unique}",
                DebounceInput(firm_id=firm_id, automation_id=ids["automation"], window=60),
                signal=debounce.TRIGGER_SIGNAL,
                signal_arg=DebounceTrigger(run_id=ids["run"], window=60),
                dedupe_key=f"debounce:{unique}",
                task_queue=queue,
            ),
            {
                "FirmflowFirmId": firm,
                "FirmflowProcess": "automation-debounce",
                "FirmflowAutomationId": automation_id,
            },
        ),
    ]


@pytest.mark.parametrize("legacy", [False, True], ids=["message", "message-from-before"])
async def test_each_outbox_start_carries_its_firm_process_and_business_key(
    temporal_env: WorkflowEnvironment, committing_sessionmaker: Maker, task_queue: str, legacy: bool
) -> None:
    """No worker polls ``task_queue``: the started workflows wait there untouched."""
    client, firm_id = temporal_env.client, uuid.uuid4()
    starts = outbox_starts(firm_id, task_queue)
    assert {message.payload["workflow"] for message, _ in starts} == set(PROCESSES) - {
        "AutomationForeachWorkflow",
        "AutomationScheduleWorkflow",
        "OutboxRelayWorkflow",
        # Started by its Temporal Schedule, never by the outbox.
        "RetentionSweepWorkflow",
    }
    for message, expected in starts:
        row = dispatched(message, firm_id, legacy)
        await dispatch_message(row, fixed_client(client), committing_sessionmaker)
        started = client.get_workflow_handle(message.payload["workflow_id"])
        assert attributes(await started.describe()) == expected, message.payload["workflow"]
        await started.terminate("test over")


async def test_the_relay_is_found_by_its_process_and_has_no_firm(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> None:
    await ensure_outbox_relay(temporal_env.client, task_queue=task_queue)
    relay = temporal_env.client.get_workflow_handle(OUTBOX_RELAY_ID)
    assert attributes(await relay.describe()) == {"FirmflowProcess": "outbox-relay"}
    await relay.terminate("test over")


async def test_called_runs_and_foreach_children_start_with_their_attributes(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    leaf = await active_automation(
        temporal_api,
        committed_owner,
        definition("greet", greet={"type": "set", "params": {"vars": {"a": 1}}}),
    )
    body = {"note": {"type": "set", "params": {"vars": {"at": "{{ index }}"}}}}
    top = await active_automation(
        temporal_api,
        committed_owner,
        definition(
            "each",
            each={**foreach_step(body, "note"), "next": "call"},
            call=call_step(leaf),
        ),
    )
    run_id = await start(temporal_api, committed_owner, top, {"items": [1, 2]})
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    called = step_rows(run)["call#1"]["output"]["run_id"]
    firm = str(committed_owner.firm.id)

    foreach = temporal_env.client.get_workflow_handle(
        foreach_contracts.workflow_id(uuid.UUID(run_id), "each", 1)
    )
    assert attributes(await foreach.describe()) == {
        "FirmflowFirmId": firm,
        "FirmflowProcess": "automation-foreach",
        "FirmflowAutomationId": top,
    }
    assert attributes(await handle(temporal_env, called).describe()) == {
        "FirmflowFirmId": firm,
        "FirmflowProcess": "automation-run",
        "FirmflowAutomationId": leaf,
        "FirmflowAutomationVersion": 1,
        "FirmflowRunStatus": "succeeded",
    }


async def test_a_schedule_fires_run_starts_with_its_attributes(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker = committing_sessionmaker
    automation_id = await automation(
        maker, committed_owner, scheduled({"week": "v1"}, note=NOTE), status=AutomationStatus.active
    )
    async with fire_worker(temporal_env, settings, maker, task_queue):
        result, _ = await fire(temporal_env, task_queue, committed_owner, automation_id)
    assert result.run_id is not None and result.status == "succeeded"
    assert attributes(await handle(temporal_env, str(result.run_id)).describe()) == {
        "FirmflowFirmId": str(committed_owner.firm.id),
        "FirmflowProcess": "automation-run",
        "FirmflowAutomationId": str(automation_id),
        "FirmflowAutomationVersion": 1,
        "FirmflowRunStatus": "succeeded",
    }


@pytest.fixture
async def dev_api(
    settings: Settings, committing_sessionmaker: Maker, temporal_dev_server: WorkflowEnvironment
) -> AsyncIterator[AsyncClient]:
    """The API on committed transactions with the dev server as its Temporal (no worker:
    what it starts waits on the task queue, and the test terminates it)."""
    app = create_app(
        settings,
        sessionmaker=committing_sessionmaker,
        temporal=LazyClient(settings, client=temporal_dev_server.client),
    )
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def listed(client: Client, query: str) -> list[str]:
    """The ids of the workflows a visibility query finds, once it finds any (the dev
    server's visibility store lags the start a little)."""

    async def ids() -> list[str] | None:
        found = [execution.id async for execution in client.list_workflows(query)]
        return found or None

    return await eventually(ids, f"no workflow matches {query}")


async def test_a_visibility_query_finds_a_firms_client_import(
    dev_api: AsyncClient, temporal_dev_server: WorkflowEnvironment, committed_owner: Actor
) -> None:
    client = temporal_dev_server.client
    response = await dev_api.post(
        "/v1/clients/imports",
        headers=committed_owner.headers,
        files={"file": ("clients.csv", b"Name,Email\r\nAcme,a@acme.io\r\n", "text/csv")},
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["id"]
    workflow_id = f"client-import-{import_id}"
    try:
        firm = f"FirmflowFirmId = '{committed_owner.firm.id}'"
        assert await listed(client, f"{firm} AND FirmflowProcess = 'client-import'") == [
            workflow_id
        ]
        assert await listed(client, f"FirmflowClientImportId = '{import_id}'") == [workflow_id]
        # Another process of the same firm is not listed.
        none = [
            e.id async for e in client.list_workflows(f"{firm} AND FirmflowProcess = 'dunning'")
        ]
        assert none == []
    finally:
        await client.get_workflow_handle(workflow_id).terminate("test over")


async def test_a_schedules_action_and_its_fires_carry_the_attributes(
    dev_api: AsyncClient,
    temporal_dev_server: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    client = temporal_dev_server.client
    automation_id = (await create(dev_api, committed_owner))["id"]
    draft = {
        "schema_version": 1,
        # Far in the future: only the trigger below fires.
        "trigger": {"type": "schedule", "cron": "0 3 1 1 *", "payload": {}},
        "start": "hello",
        "steps": {"hello": {"type": "set", "params": {"vars": {"a": 1}}}},
    }
    await publish(dev_api, committed_owner, automation_id, draft)
    await action(dev_api, committed_owner, automation_id, "activate")
    await synced(committing_sessionmaker, committed_owner)
    expected = {
        "FirmflowFirmId": str(committed_owner.firm.id),
        "FirmflowProcess": "automation-schedule-fire",
        "FirmflowAutomationId": automation_id,
    }
    schedule = client.get_schedule_handle(schedules.schedule_id(uuid.UUID(automation_id)))
    fire_action = (await schedule.describe()).schedule.action
    assert isinstance(fire_action, ScheduleActionStartWorkflow)
    assert firmflow_attributes(fire_action.typed_search_attributes) == expected

    await schedule.trigger()

    async def fired() -> str | None:
        recent = (await schedule.describe()).info.recent_actions
        return recent[0].action.workflow_id if recent else None

    fire_id = await eventually(fired, "the triggered schedule started no fire")
    fire_handle = client.get_workflow_handle(fire_id)
    try:
        assert attributes(await fire_handle.describe()) == expected
    finally:
        await fire_handle.terminate("test over")
        deleted = await dev_api.delete(f"{BASE}/{automation_id}", headers=committed_owner.headers)
        assert deleted.status_code == 204, deleted.text
