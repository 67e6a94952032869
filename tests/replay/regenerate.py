"""Regenerate the saved workflow histories the replay tests replay.

    .venv/bin/python -m tests.replay.regenerate [name ...]

With names (``automation_run_waits``, ``dunning`` …) only those histories are recorded.
Runs each workflow for real, once, on the time-skipping test server with the real
activities against a throw-away database on the embedded Postgres, and writes each
history as JSON under tests/replay/histories/. Regenerate only when a workflow change is
*meant* to break replay (and then version it with ``workflow.patched`` instead, if
executions of the old code may still be running anywhere).
"""

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.db import tenant_session
from core.temporal import TASK_QUEUE
from models import Automation, AutomationStatus, RunTrigger
from services import client_imports
from services.automations import automations
from services.automations.automations import AutomationFields
from services.automations.runs import start_run
from services.firm_settings import HttpAllowlist, set_http_allowlist
from services.outbox.writer import pop_outbox_ids
from tests.fixtures.temporal import result_skipping_time
from tests.http_target import running_target
from tests.replay.recording import (
    HISTORIES,
    ROOT,
    Maker,
    dispatch,
    history_json,
    new_firm_owner,
    recording_environment,
)
from tests.replay.test_debounce_replay import HISTORY as DEBOUNCE_HISTORY
from tests.replay.test_debounce_replay import record_history as record_debounce
from tests.replay.test_document_review_replay import HISTORY as DOCUMENT_REVIEW_HISTORY
from tests.replay.test_document_review_replay import record_history as record_document_review
from tests.replay.test_document_text_replay import HISTORY as DOCUMENT_TEXT_HISTORY
from tests.replay.test_document_text_replay import record_history as record_document_text
from tests.replay.test_dunning_replay import HISTORY as DUNNING_HISTORY
from tests.replay.test_dunning_replay import record_history as record_dunning
from tests.replay.test_envelope_replay import HISTORY as ENVELOPE_HISTORY
from tests.replay.test_envelope_replay import record_history as record_envelope
from tests.replay.test_foreach_replay import HISTORY as FOREACH_HISTORY
from tests.replay.test_foreach_replay import record_history as record_foreach
from tests.replay.test_invoice_pdf_replay import HISTORY as INVOICE_PDF_HISTORY
from tests.replay.test_invoice_pdf_replay import record_history as record_invoice_pdf
from tests.replay.test_payment_retry_replay import HISTORY as PAYMENT_RETRY_HISTORY
from tests.replay.test_payment_retry_replay import record_history as record_payment_retry
from tests.replay.test_recurring_replay import HISTORY as RECURRING_HISTORY
from tests.replay.test_recurring_replay import record_history as record_recurring
from tests.replay.test_retention_sweep_replay import HISTORY as RETENTION_SWEEP_HISTORY
from tests.replay.test_retention_sweep_replay import record_history as record_retention_sweep
from tests.replay.test_scheduled_replay import HISTORY as SCHEDULE_HISTORY
from tests.replay.test_scheduled_replay import record_history as record_schedule
from tests.replay.test_stripe_event_replay import HISTORY as STRIPE_EVENT_HISTORY
from tests.replay.test_stripe_event_replay import record_history as record_stripe_event
from worker import build_worker
from workflows.automation.run.contracts import EVENT_SIGNAL, RunEvent
from workflows.automation.run.contracts import workflow_id as run_workflow_id
from workflows.clients.client_import.contracts import workflow_id
from workflows.outbox.relay.contracts import OutboxRelayInput
from workflows.outbox.relay.workflow import OutboxRelayWorkflow

CLIENT_IMPORT_CSV = b"""name,email,external_ref,colour\r
Acme Ltd,info@acme.io,A-1,red\r
Globex,info@globex.io,,blue\r
Dup,INFO@acme.io,,\r
,nameless@example.com,,\r
Initech,hello@initech.io,I-1,\r
"""


async def _save(name: str, handle: WorkflowHandle[object, object]) -> None:
    path = HISTORIES / f"{name}.json"
    text = await history_json(handle)
    await asyncio.to_thread(path.write_text, text)
    print(f"wrote {path.relative_to(ROOT)}")


async def _client_import(env: WorkflowEnvironment, maker: Maker) -> None:
    client = env.client
    principal = await new_firm_owner(maker, "import")
    firm_id = principal.firm_id
    async with tenant_session(firm_id, maker) as session:
        summary = await client_imports.create_import(
            session,
            principal,
            filename="replay.csv",
            data=CLIENT_IMPORT_CSV,
            max_bytes=1024,
            max_rows=10,
        )
        ids = pop_outbox_ids(session)
    await dispatch(env, maker, ids)
    handle = client.get_workflow_handle(workflow_id(summary.client_import.id))
    await handle.result()
    await _save("client_import", handle)


def _automation(url: str) -> dict[str, Any]:
    """Every control step type, an HTTP call, a failed step the run continues past, a task."""
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "amount",
        "steps": {
            "amount": {
                "type": "set",
                "params": {"vars": {"due": "{{ trigger.amount }}"}},
                "next": "big",
            },
            "big": {
                "type": "condition",
                "params": {"expression": "vars.due > 100"},
                "then": "lookup",
                "else": "done",
            },
            "lookup": {
                "type": "http_request",
                "params": {"url": f"{url}/invoices"},
                "next": "wait",
            },
            "wait": {"type": "delay", "params": {"seconds": 3600}, "next": "route"},
            "route": {
                "type": "switch",
                "params": {"value": "steps.lookup.output.status"},
                "cases": {"200": "broken"},
                "default": "done",
            },
            "broken": {
                "type": "set",
                "params": {"vars": {"x": "{{ trigger.missing.field }}"}},
                "on_error": "continue",
                "next": "chase",
            },
            "chase": {
                "type": "create_task",
                "params": {"title": "Chase invoice of {{ trigger.amount }}"},
                "next": "done",
            },
            "done": {"type": "stop", "params": {"status": "succeeded"}},
        },
    }


def _local_automation(url: str) -> dict[str, Any]:
    """The same run with its steps as local activities: a short HTTP call and the task."""
    definition = _automation(url)
    definition["steps"]["lookup"]["params"]["timeout"] = 5
    return definition


async def _automation_run(env: WorkflowEnvironment, maker: Maker) -> None:
    await _record_automation_run(env, maker, "automation_run", _automation)


async def _automation_run_local(env: WorkflowEnvironment, maker: Maker) -> None:
    await _record_automation_run(env, maker, "automation_run_local", _local_automation)


async def _record_automation_run(
    env: WorkflowEnvironment, maker: Maker, name: str, draft: Callable[[str], dict[str, Any]]
) -> None:
    client = env.client
    principal = await new_firm_owner(maker, "run")
    firm_id = principal.firm_id
    with running_target() as target:
        async with tenant_session(firm_id, maker) as session:
            await set_http_allowlist(
                session, principal, allowlist=HttpAllowlist(entries=["127.0.0.1"])
            )
            automation = await automations.create_automation(
                session,
                principal,
                fields=AutomationFields(name="Replay"),
                draft=draft(target.url("")),
            )
            await automations.publish(session, principal, automation.id)
            await automations.set_status(session, principal, automation.id, AutomationStatus.active)
            run, _ = await start_run(
                session, principal, automation, payload={"amount": 250}, trigger=RunTrigger.manual
            )
            ids = pop_outbox_ids(session)
        await dispatch(env, maker, ids)
        handle = client.get_workflow_handle(run_workflow_id(run.id))
        await result_skipping_time(env, handle)
    await _save(name, handle)


def _waits_automation(child_id: uuid.UUID) -> dict[str, Any]:
    """An event that arrives before its wait, an approval that times out (opened, emailed
    to the owner, closed) and a call of another automation whose output comes back."""
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "signed",
        "steps": {
            "signed": {
                "type": "wait_for_event",
                "params": {"event": "contract.signed", "key": "{{ trigger.client }}"},
                "next": "approve",
            },
            "approve": {
                "type": "approval",
                "params": {
                    "approvers": {"roles": ["owner"]},
                    "title": "Onboard {{ trigger.client }}",
                    "timeout": 3600,
                },
                "next": "call",
                "on_timeout": "call",
            },
            "call": {
                "type": "call_automation",
                "params": {
                    "automation_id": str(child_id),
                    "payload": {"client": "{{ trigger.client }}"},
                },
            },
        },
    }


async def _automation_run_waits(env: WorkflowEnvironment, maker: Maker) -> None:
    client = env.client
    principal = await new_firm_owner(maker, "waits")
    firm_id = principal.firm_id
    child_draft = {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "greet",
        "steps": {"greet": {"type": "set", "params": {"vars": {"hi": "{{ trigger.client }}"}}}},
    }
    async with tenant_session(firm_id, maker) as session:
        started: list[Automation] = []
        for name, draft in (("Replay child", child_draft), ("Replay waits", None)):
            automation = await automations.create_automation(
                session,
                principal,
                fields=AutomationFields(name=name),
                draft=draft or _waits_automation(started[0].id),
            )
            await automations.publish(session, principal, automation.id)
            await automations.set_status(session, principal, automation.id, AutomationStatus.active)
            started.append(automation)
        run, _ = await start_run(
            session, principal, started[1], payload={"client": "C-1"}, trigger=RunTrigger.manual
        )
        ids = pop_outbox_ids(session)
    await dispatch(env, maker, ids)
    handle = client.get_workflow_handle(run_workflow_id(run.id))
    await handle.signal(
        EVENT_SIGNAL,
        RunEvent(event_id="replay-1", name="contract.signed", key="C-1", payload={"by": "Ada"}),
    )
    await result_skipping_time(env, handle)
    await _save("automation_run_waits", handle)


async def _outbox_relay(env: WorkflowEnvironment, maker: Maker) -> None:
    client = env.client
    relay = OutboxRelayInput(max_passes=3, passes_per_run=2, interval_seconds=30)
    handle = await client.start_workflow(
        OutboxRelayWorkflow.run, relay, id=f"relay-{uuid.uuid4()}", task_queue=TASK_QUEUE
    )
    await handle.result()
    # The first run: two passes, a timer between them, then continue-as-new.
    await _save("outbox_relay", client.get_workflow_handle(handle.id, run_id=handle.result_run_id))


# Histories the script saves itself, and those another replay test module records.
Recorder = Callable[[WorkflowEnvironment, Maker], Awaitable[None]]
History = Callable[[WorkflowEnvironment, Maker], Awaitable[str]]
SAVED: dict[str, Recorder] = {
    "client_import": _client_import,
    "outbox_relay": _outbox_relay,
    "automation_run": _automation_run,
    "automation_run_local": _automation_run_local,
    "automation_run_waits": _automation_run_waits,
}
RECORDED: dict[str, tuple[Path, History]] = {
    "dunning": (DUNNING_HISTORY, record_dunning),
    "invoice_pdf": (INVOICE_PDF_HISTORY, record_invoice_pdf),
    "recurring_invoice": (RECURRING_HISTORY, record_recurring),
    "payment_retry": (PAYMENT_RETRY_HISTORY, record_payment_retry),
    "stripe_event": (STRIPE_EVENT_HISTORY, record_stripe_event),
    "automation_debounce": (DEBOUNCE_HISTORY, record_debounce),
    "automation_foreach": (FOREACH_HISTORY, record_foreach),
    "automation_schedule": (SCHEDULE_HISTORY, record_schedule),
    "document_text": (DOCUMENT_TEXT_HISTORY, record_document_text),
    "document_review": (DOCUMENT_REVIEW_HISTORY, record_document_review),
    "retention_sweep": (RETENTION_SWEEP_HISTORY, record_retention_sweep),
    "envelope": (ENVELOPE_HISTORY, record_envelope),
}


async def _record(name: str, env: WorkflowEnvironment, maker: Maker) -> None:
    if name in SAVED:
        await SAVED[name](env, maker)
        return
    path, history = RECORDED[name]
    text = await history(env, maker)
    await asyncio.to_thread(path.write_text, text)
    print(f"wrote {path.relative_to(ROOT)}")


async def main(names: list[str]) -> None:
    known = [*SAVED, *RECORDED]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"no history named {', '.join(unknown)}; the names: {', '.join(known)}")
    async with (
        recording_environment() as (settings, env, maker),
        build_worker(settings, env.client, maker),
    ):
        for name in names or known:
            await _record(name, env, maker)


if __name__ == "__main__":
    HISTORIES.mkdir(exist_ok=True)
    asyncio.run(main(sys.argv[1:]))
