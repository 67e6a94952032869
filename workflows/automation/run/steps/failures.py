"""How a step ends other than by succeeding, shared by the interpreter and the flow steps
(waits, calls, foreach): a failure its ``on_error`` handles, a stop that ends the walk, the
failure an action activity's error stands for, and whether the run itself was canceled.

Workflow code (``run_canceled`` asks the workflow), so it is imported inside the sandbox
like the interpreter.
"""

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from workflows.automation.run.contracts import RunStatusName


class StepFailure(Exception):
    """A step that failed for good (after its retries); its ``on_error`` decides what next."""

    def __init__(self, message: str, *, attempt: int = 1, input: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.attempt = attempt
        self.input = input


class StopRun(Exception):
    """A ``stop`` step (or a rejection without a branch): the walk ends with ``status``."""

    def __init__(self, status: RunStatusName, message: str | None) -> None:
        super().__init__(message or status)
        self.status = status
        self.message = message


def run_canceled() -> bool:
    """Whether the run was asked to cancel. An activity or child workflow it awaited then
    ends in an error whose cause is Temporal's CancelledError; that is the run's cancel,
    not a failure of the step."""
    return workflow.cancellation_reason() is not None


def activity_failure(err: ActivityError) -> StepFailure:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        if not isinstance(details, dict):
            details = {}
        return StepFailure(
            cause.message, attempt=int(details.get("attempt", 1)), input=details.get("input")
        )
    if isinstance(cause, TimeoutError):
        return StepFailure("the step did not finish within its timeout")
    return StepFailure("the step failed")
