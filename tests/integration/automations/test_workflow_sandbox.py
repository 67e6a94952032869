"""The worker's sandbox still refuses nondeterminism although it shares firmflow's
workflow-side modules with the host (workflows/registry.py): a workflow that reads the
wall clock fails its workflow task, under the worker's runner and under the strict one the
replay tests use, and the strict one also refuses it inside a module the worker shares."""

import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.automation import definition
from workflows.automation.definition import steps as d
from workflows.automation.run.contracts import RunInput, RunView
from workflows.automation.run.flow import FlowHandlers, FlowResult, RunScope, StepVisit
from workflows.automation.run.interpreter import Interpreter
from workflows.registry import workflow_runner


async def _read_the_wall_clock(scope: RunScope, at: StepVisit[d.CallAutomationStep]) -> FlowResult:
    return {"now": datetime.now(UTC).isoformat()}, at.step.next


@workflow.defn(name="SandboxProbeRun")
class WallClockRun:
    """An automation run whose call step reads the wall clock instead of workflow.now()."""

    @workflow.run
    async def run(self, input: RunInput) -> str:
        parsed = definition.Definition.model_validate(input.definition)
        interpreter = Interpreter(
            input,
            RunView(status="running"),
            {"trigger": None, "steps": {}, "vars": {}},
            flow=FlowHandlers(call_automation=_read_the_wall_clock),
        )
        status, _ = await interpreter.walk(parsed.steps, parsed.start)
        return status


def _input() -> RunInput:
    return RunInput(
        run_id=uuid.uuid4(),
        firm_id=uuid.uuid4(),
        automation_id=uuid.uuid4(),
        version=1,
        definition={
            "schema_version": 1,
            "trigger": {"type": "manual"},
            "start": "call",
            "steps": {
                "call": {"type": "call_automation", "params": {"automation_id": str(uuid.uuid4())}}
            },
        },
        started_at=datetime(2026, 12, 7, tzinfo=UTC),
    )


async def _first_task_failure(handle: WorkflowHandle[Any, Any]) -> str:
    """The message of the run's first failed workflow task, read as the history grows."""
    async for event in handle.fetch_history_events(wait_new_event=True):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            return str(event.workflow_task_failed_event_attributes.failure.message)
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            return "completed"
    raise AssertionError("the history ended without a workflow task failure")


async def _run_probe(
    env: WorkflowEnvironment, runner: SandboxedWorkflowRunner, workflow_class: type, arg: Any
) -> str:
    queue = f"sandbox-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=queue, workflows=[workflow_class], workflow_runner=runner
    ):
        handle = await env.client.start_workflow(
            workflow_class.run,  # type: ignore[attr-defined]
            arg,
            id=f"sandbox-probe-{uuid.uuid4()}",
            task_queue=queue,
        )
        outcome = await _first_task_failure(handle)
        if outcome != "completed":
            # A failed workflow task is retried forever: end the run.
            await handle.terminate()
        return outcome


@pytest.mark.parametrize("strict", [False, True], ids=["worker", "strict"])
async def test_a_wall_clock_read_in_an_automation_run_fails_its_workflow_task(
    temporal_dev_server: WorkflowEnvironment, strict: bool
) -> None:
    failure = await _run_probe(
        temporal_dev_server, workflow_runner(strict=strict), WallClockRun, _input()
    )
    assert "Cannot access datetime.datetime.now" in failure


# A module standing for one of firmflow's shared workflow-side modules, and a workflow
# module that uses it: the strict sandbox imports both afresh, so the clock read inside the
# helper is refused there; sharing the helper (as the worker shares workflows.*) lets it by.
_HELPER = """
from datetime import UTC, datetime


def stamp() -> str:
    return datetime.now(UTC).isoformat()
"""
_WORKFLOW = """
from temporalio import workflow

from sandbox_probe_helper import stamp


@workflow.defn(name="SandboxProbeHelper")
class HelperClockRun:
    @workflow.run
    async def run(self, note: str) -> str:
        return note + stamp()
"""


@pytest.fixture
def probe_modules(tmp_path: Path) -> Iterator[type]:
    (tmp_path / "sandbox_probe_helper.py").write_text(_HELPER)
    (tmp_path / "sandbox_probe_workflow.py").write_text(_WORKFLOW)
    sys.path.insert(0, str(tmp_path))
    try:
        import sandbox_probe_workflow  # type: ignore[import-not-found]

        yield sandbox_probe_workflow.HelperClockRun
    finally:
        sys.path.remove(str(tmp_path))
        for name in ("sandbox_probe_helper", "sandbox_probe_workflow"):
            sys.modules.pop(name, None)


async def test_the_strict_sandbox_refuses_a_clock_read_in_a_module_the_worker_shares(
    temporal_dev_server: WorkflowEnvironment, probe_modules: type
) -> None:
    restrictions = workflow_runner(strict=True).restrictions
    strict = await _run_probe(
        temporal_dev_server,
        SandboxedWorkflowRunner(restrictions=restrictions),
        probe_modules,
        "at ",
    )
    assert "Cannot access datetime.datetime.now" in strict
    shared = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("sandbox_probe_helper")
    )
    assert await _run_probe(temporal_dev_server, shared, probe_modules, "at ") == "completed"
