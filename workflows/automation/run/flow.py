"""What a flow step (``wait_for_event``, ``approval``, ``call_automation``, ``foreach``)
sees of the walk that runs it: one ``StepVisit`` and a ``RunScope``, the few things of the
run a flow step may read or change. The handlers get this narrow view rather than the
interpreter, so what they can touch is written down here.

Pure types (no workflow calls), imported inside the sandbox with the interpreter.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.automation.definition import steps as d
    from workflows.automation.run.contracts import RunInput, StepRecord, WaitView
    from workflows.automation.run.state import WaitState

S = TypeVar("S", bound=d.AnyStep)
T = TypeVar("T", bound=d.AnyStep)


@dataclass(frozen=True)
class StepVisit(Generic[S]):
    """One execution of a step: its id (without a foreach item's prefix), its definition,
    which visit of it this is, and when it started (workflow time)."""

    step_id: str
    step: S
    visit: int
    started: datetime

    def of(self, step: T) -> "StepVisit[T]":
        """The same visit, typed by the step model a dispatch narrowed it to."""
        return StepVisit(self.step_id, step, self.visit, self.started)


class RunScope(Protocol):
    """The run as a flow step sees it."""

    @property
    def input(self) -> RunInput: ...

    @property
    def context(self) -> dict[str, Any]: ...

    @property
    def position(self) -> int: ...

    def record_id(self, step_id: str) -> str:
        """The id the step's records carry (a foreach item's prefix included)."""
        ...

    def resumed(self, at: StepVisit[Any]) -> WaitState | None:
        """The wait this visit was in before the run continued as new, taken once."""
        ...

    def show_waiting(self, waiting: WaitView | None) -> None:
        """What the run's live view says it waits for (None: nothing)."""
        ...

    def unwritten(self) -> list[StepRecord]:
        """The records not written yet, for an activity to write with its own."""
        ...

    def written(self, records: list[StepRecord]) -> None:
        """The records an activity wrote (the first of ``unwritten()``) leave the list."""
        ...

    def carry(self, records: list[StepRecord]) -> None:
        """Records a child left unwritten: they go with the run's next activity."""
        ...


# A flow step's ``(output, next step)``.
FlowResult = tuple[Any, str | None]
# A flow step's handler; it raises StepFailure or StopRun like any step.
FlowHandler = Callable[[RunScope, StepVisit[S]], Awaitable[FlowResult]]


@dataclass(frozen=True)
class FlowHandlers:
    """The flow steps a walk can run, each by its workflow's handler; None where that
    workflow cannot run the step (a foreach item has no waits and no nested foreach)."""

    call_automation: FlowHandler[d.CallAutomationStep] | None = None
    wait_for_event: FlowHandler[d.WaitForEventStep] | None = None
    approval: FlowHandler[d.ApprovalStep] | None = None
    foreach: FlowHandler[d.ForeachStep] | None = None
