"""The steps that wait on the outside world: ``wait_for_event`` and ``approval``.

A run keeps the events sent to it in a buffer, so an event that arrives before its wait
begins is not lost: a repeated ``event_id`` is ignored, at most ``MAX_BUFFERED_EVENTS``
unconsumed events are kept (the oldest is dropped), and a wait takes the first buffered
event with its name whose key matches (a wait without a key matches any key).

While a step waits, the run continues as new when its history has grown long (signals
that match no wait add to it); the next execution resumes the wait with the time left.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Literal, NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.automation.definition import steps as d
    from workflows.automation.run import state as run_state
    from workflows.automation.run.contracts import (
        CLOSE_APPROVAL_ACTIVITY,
        OPEN_APPROVAL_ACTIVITY,
        ApprovalClose,
        ApprovalOpen,
        ApprovalOpened,
        ApprovalResult,
        RunEvent,
        WaitView,
    )
    from workflows.automation.run.state import RunState, WaitState

from workflows.automation.run.flow import FlowResult, RunScope, StepVisit
from workflows.automation.run.steps.expressions import context_for, render
from workflows.automation.run.steps.failures import (
    StepFailure,
    StopRun,
    activity_failure,
    run_canceled,
)

APPROVAL_ACTIVITY_TIMEOUT = timedelta(seconds=60)
APPROVAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=10,
)

# Continues the run as new from inside a wait (the run workflow provides it).
ContinueWaiting = Callable[[WaitState], Awaitable[NoReturn]]


def continue_as_new_due() -> bool:
    info = workflow.info()
    return (
        info.is_continue_as_new_suggested()
        or info.get_current_history_length() >= run_state.HISTORY_LIMIT
    )


class Waits:
    """The run's event buffer and approval decisions, and the two wait handlers."""

    def __init__(self) -> None:
        self.events: list[RunEvent] = []
        # Insertion-ordered, so the oldest ids are forgotten first.
        self.seen: dict[str, None] = {}
        self.approvals: dict[uuid.UUID, ApprovalResult] = {}
        self.continue_waiting: ContinueWaiting | None = None

    def receive(self, event: RunEvent) -> None:
        if event.event_id in self.seen:
            return
        self.seen[event.event_id] = None
        if len(self.seen) > run_state.MAX_SEEN_EVENT_IDS:
            del self.seen[next(iter(self.seen))]
        self.events.append(event)
        if len(self.events) > run_state.MAX_BUFFERED_EVENTS:
            del self.events[0]

    def decided(self, result: ApprovalResult) -> None:
        # The first decision stands; a repeated signal changes nothing.
        self.approvals.setdefault(result.approval_id, result)

    def restore(self, state: RunState) -> None:
        """Take over the previous execution's buffer. Signals this execution received
        before its run method began are newer, so they go after it."""
        arrived = self.events
        self.seen = dict.fromkeys(state.seen_event_ids)
        self.events = list(state.events)
        for event in arrived:
            self.receive(event)
        for result in state.approvals:
            self.decided(result)

    def dump(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "seen_event_ids": list(self.seen),
            "approvals": list(self.approvals.values()),
        }

    def _find(self, name: str, key: str | None) -> int | None:
        for index, event in enumerate(self.events):
            if event.name == name and (key is None or event.key == key):
                return index
        return None

    async def _idle(self, ready: Callable[[], bool], wait: WaitState) -> bool:
        """Wait until ``ready()`` (True) or the wait's deadline (False), continuing the run
        as new meanwhile if its history grows long."""
        while True:
            timeout: float | None = None
            if wait.deadline is not None:
                timeout = (wait.deadline - workflow.now()).total_seconds()
                if timeout <= 0:
                    return ready()
            try:
                await workflow.wait_condition(
                    lambda: ready() or continue_as_new_due(), timeout=timeout
                )
            except TimeoutError:
                return ready()
            if ready():
                return True
            assert self.continue_waiting is not None, "the run workflow sets continue_waiting"
            await self.continue_waiting(wait)

    async def wait_for_event(self, run: RunScope, at: StepVisit[d.WaitForEventStep]) -> FlowResult:
        step, params = at.step, at.step.params
        wait = run.resumed(at)
        if wait is None:
            key = None if params.key is None else str(render(params.key, run.context))
            wait = WaitState(
                kind="event", step_id=at.step_id, visit=at.visit, started_at=at.started, key=key
            )
            if params.timeout is not None:
                wait.deadline = at.started + timedelta(seconds=params.timeout)
        if self._find(params.event, wait.key) is None:
            run.show_waiting(
                WaitView(
                    kind="event",
                    step_id=run.record_id(at.step_id),
                    event=params.event,
                    key=wait.key,
                    wakes_at=wait.deadline,
                )
            )
            try:
                arrived = await self._idle(
                    lambda: self._find(params.event, wait.key) is not None, wait
                )
            finally:
                run.show_waiting(None)
            if not arrived:
                output = {"event": params.event, "key": wait.key, "timed_out": True}
                if step.on_timeout is not None:
                    return output, step.on_timeout
                assert params.timeout is not None
                raise StepFailure(f"no {params.event} event arrived within {params.timeout:g} s")
        index = self._find(params.event, wait.key)
        assert index is not None
        event = self.events.pop(index)
        return {
            "event": event.name,
            "key": event.key,
            "payload": event.payload,
            "event_id": event.event_id,
            "timed_out": False,
        }, step.next

    async def approval(self, run: RunScope, at: StepVisit[d.ApprovalStep]) -> FlowResult:
        step, params = at.step, at.step.params
        wait = run.resumed(at)
        if wait is None:
            wait = WaitState(
                kind="approval", step_id=at.step_id, visit=at.visit, started_at=at.started
            )
            if params.timeout is not None:
                wait.deadline = at.started + timedelta(seconds=params.timeout)
            wait.approval_id = await self._open(run, step, wait)
        approval_id = wait.approval_id
        assert approval_id is not None
        run.show_waiting(
            WaitView(
                kind="approval",
                step_id=run.record_id(at.step_id),
                approval_id=approval_id,
                wakes_at=wait.deadline,
            )
        )
        try:
            decided = await self._idle(lambda: approval_id in self.approvals, wait)
        except asyncio.CancelledError:
            # The approvers must not go on deciding for a run that is gone; the run ends
            # canceled even if the close fails (canceling a run cancels its approvals too).
            closing = asyncio.ensure_future(self._close(run, approval_id, "canceled"))
            with contextlib.suppress(StepFailure):
                await asyncio.shield(closing)
            raise
        finally:
            run.show_waiting(None)
        if decided:
            result = self.approvals.pop(approval_id)
        else:
            result = await self._close(run, approval_id, "expired")
        output = {
            "approval_id": str(approval_id),
            "status": result.status,
            "form": result.form,
            "votes": [vote.model_dump(mode="json") for vote in result.votes],
        }
        if result.status == "approved":
            return output, step.next
        if result.status == "rejected":
            if step.rejected is not None:
                return output, step.rejected
            raise StopRun("failed", "rejected by the approvers")
        if result.status == "expired":
            if step.on_timeout is not None:
                return output, step.on_timeout
            assert params.timeout is not None
            raise StepFailure(f"the approval was not decided within {params.timeout:g} s")
        raise StepFailure("the approval was canceled")

    async def _open(self, run: RunScope, step: d.ApprovalStep, wait: WaitState) -> uuid.UUID:
        """Open the approval (its row, its emails); the pending records go with it."""
        params = step.params.model_dump(mode="json", by_alias=True)
        request = ApprovalOpen(
            run_id=run.input.run_id,
            firm_id=run.input.firm_id,
            automation_id=run.input.automation_id,
            step_id=run.record_id(wait.step_id),
            visit=wait.visit,
            position=run.position,
            params=params,
            context=context_for(params, run.context),
            initiator_id=run.input.initiator_id,
            expires_at=wait.deadline,
            started_at=wait.started_at,
            pending=run.unwritten(),
        )
        try:
            opened: ApprovalOpened = await workflow.execute_activity(
                OPEN_APPROVAL_ACTIVITY,
                request,
                result_type=ApprovalOpened,
                start_to_close_timeout=APPROVAL_ACTIVITY_TIMEOUT,
                retry_policy=APPROVAL_RETRY,
            )
        except ActivityError as err:
            if run_canceled():
                raise asyncio.CancelledError from err
            raise activity_failure(err) from err
        run.written(request.pending)
        return opened.approval_id

    async def _close(
        self, run: RunScope, approval_id: uuid.UUID, reason: Literal["expired", "canceled"]
    ) -> ApprovalResult:
        """Close the approval; a decision recorded before the close wins and comes back."""
        self.approvals.pop(approval_id, None)
        try:
            closed: ApprovalResult = await workflow.execute_activity(
                CLOSE_APPROVAL_ACTIVITY,
                ApprovalClose(approval_id=approval_id, firm_id=run.input.firm_id, reason=reason),
                result_type=ApprovalResult,
                start_to_close_timeout=APPROVAL_ACTIVITY_TIMEOUT,
                retry_policy=APPROVAL_RETRY,
            )
        except ActivityError as err:
            raise activity_failure(err) from err
        return closed
