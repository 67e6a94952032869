"""Runs end to end: started through the API, carried by the outbox to the time-skipping
Temporal server, executed by the real worker (AutomationRunWorkflow and the real step
activities) against committed Postgres and a real HTTP server on loopback.

Covers each control step and its failure paths, on_error, the per-step retry policy
(attempts counted at the server), version pinning across a publish, retry on the original
or the latest version, resume from the failed step (the server sees no repeat of what had
succeeded), cancel, search attributes, and that a secret never reaches a workflow history."""

import json
from datetime import UTC, datetime

import pytest
from httpx import AsyncClient
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.search_attributes import SA_AUTOMATION, SA_FIRM, SA_PROCESS, SA_STATUS, SA_VERSION
from tests.automations import (
    RUNS,
    Definition,
    active_automation,
    definition,
    finished,
    handle,
    http_step,
    publish,
    start,
    step_rows,
)
from tests.factories import Actor
from tests.fixtures.firms import allow_loopback
from tests.fixtures.temporal import payload_text
from tests.http_target import HttpTarget
from workflows.automation.run.workflow import AutomationRunWorkflow

SECRET = "sk_live_9f3b2c7d1e-never-log-me"


async def test_control_steps_branch_set_delay_and_stop(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    draft = definition(
        "vars",
        vars={
            "type": "set",
            "params": {"vars": {"total": "{{ trigger.amount * 2 }}"}},
            "next": "big",
        },
        big={
            "type": "condition",
            "params": {"expression": "vars.total > 100"},
            "then": "wait",
            "else": "small",
        },
        wait={"type": "delay", "params": {"until": "2031-01-15T09:00:00"}, "next": "route"},
        route={
            "type": "switch",
            "params": {"value": "trigger.kind"},
            "cases": {"vip": "vip", "7": "seven"},
            "default": "small",
        },
        vip={"type": "stop", "params": {"status": "succeeded", "message": "vip {{ vars.total }}"}},
        seven={"type": "stop", "params": {"status": "failed", "message": "seven"}},
        small={
            "type": "stop",
            "params": {"status": "failed", "message": "too small: {{ vars.total }}"},
        },
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)

    vip = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id, {"amount": 60, "kind": "vip"}),
    )
    assert vip["status"] == "succeeded" and vip["error"] is None
    rows = step_rows(vip)
    assert list(rows) == ["vars#1", "big#1", "wait#1", "route#1", "vip#1"]
    assert rows["vars#1"]["output"] == {"total": 120}
    assert rows["big#1"]["output"] == {"result": True}
    # Read in the firm's time zone (UTC for a new firm); the shared test server's clock may
    # already be past that moment, and then the delay ends at once.
    until = datetime.fromisoformat(rows["wait#1"]["output"]["until"])
    assert until >= datetime(2031, 1, 15, 9, tzinfo=UTC)
    assert rows["route#1"]["output"] == {"value": "vip", "case": "vip"}
    assert vip["finished_at"] is not None

    # A number picks its case by its JSON text; a failing stop fails the run with its message.
    seven = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id, {"amount": 60, "kind": 7}),
    )
    assert seven["status"] == "failed"
    assert seven["error"] == {"step": "seven", "message": "seven"}

    small = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id, {"amount": 10, "kind": "vip"}),
    )
    assert small["status"] == "failed"
    assert small["error"] == {"step": "small", "message": "too small: 20"}
    assert list(step_rows(small)) == ["vars#1", "big#1", "small#1"]


async def test_an_expression_error_fails_the_step_and_on_error_decides(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    draft = definition(
        "bad",
        bad={
            "type": "set",
            "params": {"vars": {"x": "{{ trigger.missing.deeper }}"}},
            "on_error": "continue",
            "next": "check",
        },
        check={
            "type": "condition",
            "params": {"expression": "trigger.nothing.here"},
            "on_error": {"goto": "recover"},
            "then": "done",
            "else": "done",
        },
        recover={"type": "set", "params": {"vars": {"recovered": True}}, "next": "escape"},
        escape={
            "type": "set",
            "params": {"vars": {"y": "{{ ''.__class__.__mro__ }}"}},
            "next": "done",
        },
        done={"type": "stop"},
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id),
    )
    rows = step_rows(run)
    assert run["status"] == "failed"
    assert rows["bad#1"]["status"] == "failed" and "missing" in rows["bad#1"]["error"]
    assert rows["check#1"]["status"] == "failed"
    assert rows["recover#1"]["status"] == "succeeded"
    assert rows["escape#1"]["status"] == "failed"
    assert "unsafe" in rows["escape#1"]["error"]
    assert run["error"]["step"] == "escape"
    assert "done#1" not in rows


async def test_the_retry_policy_is_respected_and_counted_at_the_server(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    target.script = {"/flaky": [503, 503, 200], "/down": [503]}
    retry = {"max_attempts": 3, "initial_interval": 1, "backoff": 2, "max_interval": 10}
    draft = definition(
        "flaky",
        flaky=http_step(target.url("/flaky"), "down", retry=retry),
        down=http_step(target.url("/down"), None, retry=retry),
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id),
    )

    assert target.paths() == ["/flaky"] * 3 + ["/down"] * 3
    # Every attempt of one step carries the same key; the two steps differ.
    keys = target.key_counts()
    assert sorted(keys.values()) == [3, 3]
    assert keys[f"{run['id']}:flaky:1"] == 3 and keys[f"{run['id']}:down:1"] == 3
    rows = step_rows(run)
    assert rows["flaky#1"]["status"] == "succeeded" and rows["flaky#1"]["attempt"] == 3
    assert rows["flaky#1"]["output"]["status"] == 200
    assert rows["down#1"]["status"] == "failed" and rows["down#1"]["attempt"] == 3
    assert run["status"] == "failed" and run["error"]["step"] == "down"


async def test_a_client_error_is_not_retried_and_on_error_goto_takes_over(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    target.script = {"/gone": [404]}
    draft = definition(
        "call",
        call=http_step(target.url("/gone"), "after", on_error={"goto": "fallback"}),
        after={"type": "stop", "params": {"status": "failed", "message": "should not run"}},
        fallback=http_step(target.url("/fallback"), None),
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id),
    )
    assert run["status"] == "succeeded"
    assert target.paths() == ["/gone", "/fallback"]
    rows = step_rows(run)
    assert rows["call#1"]["status"] == "failed" and rows["call#1"]["attempt"] == 1
    assert "404" in rows["call#1"]["error"]
    assert rows["fallback#1"]["status"] == "succeeded"


async def test_a_run_is_pinned_to_its_version_across_a_publish(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)

    def version(tag: str) -> Definition:
        return definition(
            "wait",
            wait={"type": "delay", "params": {"seconds": 3600}, "next": "call"},
            call=http_step(target.url(f"/{tag}"), None),
        )

    automation_id = await active_automation(temporal_api, committed_owner, version("v1"))
    run_id = await start(temporal_api, committed_owner, automation_id)
    # The run is waiting in its delay when v2 is published.
    assert await publish(temporal_api, committed_owner, automation_id, version("v2")) == 2
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded" and run["version"] == 1
    later = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id),
    )
    assert later["version"] == 2
    assert target.paths() == ["/v1", "/v2"]


async def test_retry_runs_the_original_or_the_latest_version(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    target.script = {"/v1": [500]}

    def version(tag: str) -> Definition:
        step = http_step(target.url(f"/{tag}"), None, retry={"max_attempts": 1})
        step["params"]["body"] = {"order": "{{ trigger.order }}"}
        return definition("call", call=step)

    automation_id = await active_automation(temporal_api, committed_owner, version("v1"))
    failed = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id, {"order": 41}),
    )
    assert failed["status"] == "failed"
    await publish(temporal_api, committed_owner, automation_id, version("v2"))

    for choice, expected_version in (("original", 1), ("latest", 2)):
        response = await temporal_api.post(
            f"{RUNS}/{failed['id']}/retry",
            json={"version": choice},
            headers=committed_owner.headers,
        )
        assert response.status_code == 201, response.text
        retried = await finished(temporal_api, temporal_env, committed_owner, response.json()["id"])
        assert retried["version"] == expected_version
        assert retried["source_run_id"] == failed["id"]
    assert target.paths() == ["/v1", "/v1", "/v2"]
    # The same trigger payload each time.
    assert [request.body for request in target.requests] == [{"order": 41}] * 3


async def test_resume_reuses_what_succeeded_and_runs_the_failed_step_onwards(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    target.script = {"/second": [500, 200]}
    second = http_step(target.url("/second"), "third", retry={"max_attempts": 1})
    second["params"]["body"] = {"first_n": "{{ steps.first.output.body.n }}"}
    draft = definition(
        "first",
        first=http_step(target.url("/first"), "pause"),
        pause={"type": "delay", "params": {"seconds": 600}, "next": "second"},
        second=second,
        third=http_step(target.url("/third"), None),
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    failed = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id),
    )
    assert failed["status"] == "failed" and failed["error"]["step"] == "second"
    assert target.paths() == ["/first", "/second"]

    response = await temporal_api.post(
        f"{RUNS}/{failed['id']}/resume", headers=committed_owner.headers
    )
    assert response.status_code == 201, response.text
    resumed = await finished(temporal_api, temporal_env, committed_owner, response.json()["id"])

    assert resumed["status"] == "succeeded"
    # /first was not called again; the failed step and what follows it were.
    assert target.paths() == ["/first", "/second", "/second", "/third"]
    rows = step_rows(resumed)
    assert rows["first#1"]["status"] == "reused"
    assert rows["first#1"]["output"] == step_rows(failed)["first#1"]["output"]
    assert rows["pause#1"]["status"] == "reused"
    assert rows["second#1"]["status"] == "succeeded"
    # The reused output fed the expressions of the steps after it.
    assert target.requests[2].body == {"first_n": 1}


async def test_cancel_stops_a_waiting_run_and_records_it(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    draft = definition(
        "call",
        call=http_step(target.url("/before"), "wait"),
        wait={"type": "delay", "params": {"seconds": 86400}, "next": "after"},
        after=http_step(target.url("/after"), None),
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id)
    run_handle = handle(temporal_env, run_id)
    # Time stands still on the test server unless a test waits on a result, so the run
    # stays in its delay while this polls.
    for _ in range(200):
        view = await run_handle.query(AutomationRunWorkflow.progress)
        if view.current_step == "wait":
            break
    assert view.current_step == "wait"
    response = await temporal_api.post(f"{RUNS}/{run_id}/cancel", headers=committed_owner.headers)
    assert response.status_code == 202, response.text
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "canceled" and run["finished_at"] is not None
    assert target.paths() == ["/before"]
    assert list(step_rows(run)) == ["call#1"]


async def test_search_attributes_name_firm_automation_version_and_status(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    automation_id = await active_automation(
        temporal_api, committed_owner, definition("done", done={"type": "stop"})
    )
    run_id = await start(temporal_api, committed_owner, automation_id)
    await finished(temporal_api, temporal_env, committed_owner, run_id)
    description = await handle(temporal_env, run_id).describe()
    attributes = {pair.key.name: pair.value for pair in description.typed_search_attributes}
    assert attributes == {
        SA_FIRM: str(committed_owner.firm.id),
        SA_PROCESS: "automation-run",
        SA_AUTOMATION: automation_id,
        SA_VERSION: 1,
        SA_STATUS: "succeeded",
    }


async def test_a_secret_never_reaches_the_history_the_api_or_the_logs(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    response = await temporal_api.post(
        "/v1/credentials",
        json={"name": "crm_key", "value": SECRET},
        headers=committed_owner.headers,
    )
    assert response.status_code == 201, response.text
    echo = http_step(target.url("/echo"), "fail")
    echo["params"]["headers"] = {"Authorization": "Bearer {{ secrets.crm_key }}"}
    echo["params"]["body"] = {"token": "{{ secrets.crm_key }}"}
    target.script = {"/fail": [400]}
    fail = http_step(target.url("/fail?k={{ secrets.crm_key }}"), None)
    automation_id = await active_automation(
        temporal_api, committed_owner, definition("echo", echo=echo, fail=fail)
    )
    run_id = await start(temporal_api, committed_owner, automation_id)
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)

    # The secret was sent where the steps put it ...
    assert target.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert target.requests[0].body == {"token": SECRET}
    assert SECRET in target.requests[1].path
    # ... and the echo in the response, the URL in the error, all come back redacted.
    assert run["status"] == "failed"
    assert "[redacted]" in json.dumps(step_rows(run)["echo#1"])
    history = payload_text(
        json.loads((await handle(temporal_env, run_id).fetch_history()).to_json())
    )
    # The history does hold the run's payloads (the proof that the search reads them).
    assert "{{ secrets.crm_key }}" in history
    assert SECRET not in history
    listed = await temporal_api.get(
        f"{RUNS}?automation_id={automation_id}", headers=committed_owner.headers
    )
    assert SECRET not in listed.text
    assert SECRET not in json.dumps(run)
    assert SECRET not in caplog.text


async def test_an_action_receives_only_the_step_outputs_it_reads(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    big = http_step(target.url("/big"), "plain")
    # The target echoes the body: a 100 KB output.
    big["params"]["body"] = {"blob": "x" * 100_000}
    reads = http_step(target.url("/reads"), None)
    reads["params"]["body"] = {"n": "{{ steps.big.output.body.n }}"}
    draft = definition("big", big=big, plain=http_step(target.url("/plain"), "reads"), reads=reads)
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id)
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded"
    assert target.requests[-1].body == {"n": 1}

    passed: dict[str, list[str]] = {}
    async for event in handle(temporal_env, run_id).fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            payload = event.activity_task_scheduled_event_attributes.input.payloads[0]
            call = json.loads(payload.data)
            passed[call["step_id"]] = sorted(call["context"]["steps"])
    # The 100 KB output rides only with the step that reads it.
    assert passed == {"big": [], "plain": [], "reads": ["big"]}
