"""Short action steps run as local activities: a run of three short HTTP calls and a task
schedules no activity task and stays within a dozen history events, a step that asks for a
regular activity (or is too long for one workflow task) gets one, and only the steps of a
run's first workflow task are marked as such (their first attempt skips the read of the
step's record; every later one reads it first, see activities/automation.py)."""

import uuid
from datetime import UTC, datetime
from typing import Any

from httpx import AsyncClient
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.automations import active_automation, definition, finished, handle, http_step, start
from tests.factories import Actor
from tests.fixtures.firms import allow_loopback
from tests.http_target import HttpTarget
from workflows.automation.run.contracts import (
    FINISH_ACTIVITY,
    FinishRun,
    RunInput,
    StepCall,
    StepOutcome,
    action_activity,
)
from workflows.automation.run.workflow import AutomationRunWorkflow
from workflows.registry import workflow_runner

LOCAL_MARKER = "core_local_activity"


async def _history_counts(env: WorkflowEnvironment, run_id: str) -> tuple[int, int, int]:
    """(events, activity tasks scheduled, local-activity markers) of the run's history."""
    history = await handle(env, run_id).fetch_history()
    scheduled = sum(
        e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in history.events
    )
    markers = sum(
        e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == LOCAL_MARKER
        for e in history.events
    )
    return len(history.events), scheduled, markers


async def test_short_steps_run_as_local_activities_and_a_long_or_chosen_one_as_an_activity(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    short = {"url": target.url("/short"), "method": "GET", "timeout": 5}
    draft = definition(
        "one",
        one=http_step(target.url("/one"), "two", params=short),
        two=http_step(target.url("/two"), "task", params={**short, "url": target.url("/two")}),
        task={"type": "create_task", "params": {"title": "Call back"}, "next": "three"},
        three=http_step(target.url("/three"), None, params={**short, "url": target.url("/three")}),
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id)
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)

    assert run["status"] == "succeeded", run
    assert [step["step_id"] for step in run["steps"]] == ["one", "two", "task", "three"]
    assert target.paths() == ["/short", "/two", "/three"]
    events, scheduled, markers = await _history_counts(temporal_env, run_id)
    assert (scheduled, markers) == (0, 5)
    assert events <= 12

    chosen = {**short, "url": target.url("/chosen")}
    mixed = definition(
        "chosen",
        chosen=http_step(target.url("/chosen"), "long", params=chosen, execution="activity"),
        # The HTTP timeout (30 s by default) is longer than a workflow task.
        long=http_step(target.url("/long"), "quick", params={"url": target.url("/long")}),
        quick=http_step(target.url("/quick"), None, params={**short, "url": target.url("/quick")}),
    )
    mixed_id = await active_automation(temporal_api, committed_owner, mixed)
    mixed_run = await start(temporal_api, committed_owner, mixed_id)
    assert (await finished(temporal_api, temporal_env, committed_owner, mixed_run))[
        "status"
    ] == "succeeded"
    _, scheduled, markers = await _history_counts(temporal_env, mixed_run)
    assert (scheduled, markers) == (2, 2)


async def test_only_the_steps_of_the_first_workflow_task_are_marked_first(
    temporal_dev_server: WorkflowEnvironment,
) -> None:
    # The dev server: the time-skipping one would skip past the workflow task while its
    # local activities run (it sees no work in flight), timing the task out.
    seen: list[tuple[str, bool, bool]] = []

    @activity.defn(name=action_activity("http_request"))
    async def http_request(call: StepCall) -> StepOutcome:
        seen.append((call.step_id, call.first_task, activity.info().is_local))
        return StepOutcome(output={"status": 200})

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish_run(finish: FinishRun) -> None:
        return None

    def call(url: str, next_step: str | None, **extra: Any) -> dict[str, Any]:
        return http_step(url, next_step, params={"url": url, "timeout": 5}, **extra)

    steps = definition(
        "one",
        one=call("https://a.example/", "two"),
        two=call("https://b.example/", "pause", execution="activity"),
        pause={"type": "delay", "params": {"seconds": 0.2}, "next": "three"},
        three=call("https://c.example/", None),
    )
    queue = f"first-task-{uuid.uuid4()}"
    run = RunInput(
        run_id=uuid.uuid4(),
        firm_id=uuid.uuid4(),
        automation_id=uuid.uuid4(),
        version=1,
        definition=steps,
        started_at=datetime(2026, 12, 7, tzinfo=UTC),
        local_steps=True,
    )
    async with Worker(
        temporal_dev_server.client,
        task_queue=queue,
        workflows=[AutomationRunWorkflow],
        activities=[http_request, finish_run],
        workflow_runner=workflow_runner(),
    ):
        started = await temporal_dev_server.client.start_workflow(
            AutomationRunWorkflow.run,
            run,
            id=f"automation-run-{run.run_id}",
            task_queue=queue,
            search_attributes=run.search_attributes().typed(),
        )
        await started.result()

    # "two" is a regular activity: it waits for a task of its own, so the first workflow
    # task ends with it, and "three" comes after a timer.
    assert seen == [("one", True, True), ("two", True, False), ("three", False, True)]
