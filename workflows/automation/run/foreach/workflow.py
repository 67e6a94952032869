"""The foreach step: its body runs once per item in a child workflow,
``AutomationForeachWorkflow``, at most ``max_concurrency`` items at a time.

``run_foreach`` (the run's flow handler, in step.py beside it) evaluates the items and awaits
the child; the child walks the body with one ``Interpreter`` per item (step ids
``<foreach>.<index>.<body step>`` at the foreach step's position, so each item's records
and idempotency keys are its own). An item's action activities write its records; the
control-step records left over are written in batches by ``automation.write_records``, and
the last few come back to the run, which writes them with its next activity.

10,000 items must stay far from Temporal's 50k-event history limit, so the child runs at
most ``ITEMS_PER_EXECUTION`` items per execution (items of control steps alone add no
events at all, but still cost workflow-task time) and continues as new sooner when the
server suggests it or its history passes ``HISTORY_THRESHOLD``. It first lets the running
items finish, then carries the next index, the outputs and the errors over.
"""

import asyncio
import json
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pure.expressions import MAX_OUTPUT_BYTES
    from workflows.automation.definition import steps as d
    from workflows.automation.run.contracts import RunView, StepRecord
    from workflows.automation.run.foreach.contracts import (
        PROGRESS_QUERY,
        WORKFLOW_NAME,
        WRITE_RECORDS_ACTIVITY,
        ForeachInput,
        ForeachProgress,
        ForeachResult,
        ItemError,
        RecordsToWrite,
    )

from workflows.automation.run.call import call_automation
from workflows.automation.run.flow import FlowHandlers
from workflows.automation.run.interpreter import Interpreter

ITEMS_PER_EXECUTION = 500
# Well below the 50k limit: a continue-as-new waits for up to max_concurrency running
# items, and each adds a handful of events meanwhile.
HISTORY_THRESHOLD = 10_000
# Records pending in the child beyond this are written by an activity of their own.
FLUSH_RECORDS = 200
_WRITE_TIMEOUT = timedelta(seconds=30)
_WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=20,
)


# What an item may run besides actions and control steps (the body admits no other flow
# step type).
_ITEM_FLOW = FlowHandlers(call_automation=call_automation)


@workflow.defn(name=WORKFLOW_NAME)
class AutomationForeachWorkflow:
    def __init__(self) -> None:
        self._done = 0
        self._total = 0

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> ForeachProgress:
        return ForeachProgress(done=self._done, total=self._total)

    @workflow.run
    async def run(self, input: ForeachInput) -> ForeachResult:
        self._input = input
        self._body = d.ForeachBody.model_validate(input.body)
        self._total = len(input.items)
        self._done = input.next_index
        self._outputs: dict[int, Any] = {}
        self._errors: list[ItemError] = list(input.errors)
        self._output_bytes = input.output_bytes
        self._pending: list[StepRecord] = []
        self._running = 0
        # Every item started by this execution: awaited before it ends, so an item that
        # raised fails the workflow task rather than vanishing.
        self._tasks: list[asyncio.Task[None]] = []
        self._failure: str | None = None
        try:
            await self._run_items(input)
        except asyncio.CancelledError:
            # The run was canceled: so are its items' activities and calls.
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            raise
        if len(self._pending) >= FLUSH_RECORDS:
            await self._write_pending()
        return ForeachResult(
            outputs=[*input.outputs, *self._ordered_outputs()],
            errors=sorted(self._errors, key=lambda error: error.index),
            pending=self._pending,
            failure=self._failure,
        )

    async def _run_items(self, input: ForeachInput) -> None:
        """Start the items in order, at most max_concurrency at once, and wait for them;
        or continue as new once this execution has done its share."""
        index = input.next_index
        started_here = 0
        while index < self._total and self._failure is None:
            await workflow.wait_condition(lambda: self._running < input.max_concurrency)
            if self._failure is not None:
                break
            if started_here >= ITEMS_PER_EXECUTION or self._history_is_long():
                await asyncio.gather(*self._tasks)
                if self._failure is not None:
                    break
                await self._write_pending()
                workflow.continue_as_new(self._carried(index))
            if len(self._pending) >= FLUSH_RECORDS:
                await self._write_pending()
            self._running += 1
            self._tasks.append(asyncio.create_task(self._item(index)))
            index += 1
            started_here += 1
        await asyncio.gather(*self._tasks)

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > HISTORY_THRESHOLD
        )

    def _ordered_outputs(self) -> list[Any]:
        return [self._outputs[index] for index in sorted(self._outputs)]

    def _carried(self, next_index: int) -> ForeachInput:
        return self._input.model_copy(
            update={
                "next_index": next_index,
                "outputs": [*self._input.outputs, *self._ordered_outputs()],
                "errors": self._errors,
                "output_bytes": self._output_bytes,
            }
        )

    async def _write_pending(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        await workflow.execute_activity(
            WRITE_RECORDS_ACTIVITY,
            RecordsToWrite(
                run_id=self._input.run.run_id, firm_id=self._input.run.firm_id, records=batch
            ),
            start_to_close_timeout=_WRITE_TIMEOUT,
            retry_policy=_WRITE_RETRY,
        )

    async def _item(self, index: int) -> None:
        input = self._input
        item_prefix = f"{input.step_id}.{index}."
        context = {
            **input.context,
            "steps": dict(input.context["steps"]),
            "vars": dict(input.context["vars"]),
            "item": input.items[index],
            "index": index,
        }
        interp = Interpreter(
            input.run,
            RunView(status="running"),
            context,
            flow=_ITEM_FLOW,
            step_prefix=item_prefix,
            fixed_position=input.position,
        )
        try:
            status, error = await interp.walk(self._body.steps, self._body.start)
        finally:
            self._pending.extend(interp.pending)
            self._running -= 1
            self._done += 1
        output = interp.last_output if status == "succeeded" else None
        self._outputs[index] = output
        # As pure.expressions.check_output_size counts: compact UTF-8 JSON.
        serialised = json.dumps(output, separators=(",", ":"), ensure_ascii=False)
        self._output_bytes += len(serialised.encode()) + 1
        if error is not None:
            message = str(error["message"])
            step = str(error["step"])[len(item_prefix) :]
            self._errors.append(ItemError(index=index, step=step, message=message))
            if input.on_item_error == "fail" and self._failure is None:
                self._failure = f"item {index} failed: {message}"
        if self._output_bytes > MAX_OUTPUT_BYTES and self._failure is None:
            self._failure = (
                f"the outputs of the items are larger than {MAX_OUTPUT_BYTES} bytes "
                f"serialised (at item {index})"
            )
