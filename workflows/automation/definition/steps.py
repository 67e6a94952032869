"""The step models: per-step execution settings (retry, timeout, on_error), each step type
with its outgoing edges, the foreach body, the ``Step`` union and the sets that say how the
interpreter runs each type (an action activity, a flow of its own, or inline control)."""

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from workflows.automation.definition.base import MAX_STEPS, Seconds, StepId, StrictModel
from workflows.automation.definition.params import (
    ApprovalParams,
    CallAutomationParams,
    ConditionParams,
    CreateTaskParams,
    DelayParams,
    EmitEventParams,
    ForeachParams,
    HttpRequestParams,
    SendEmailParams,
    SetParams,
    StopParams,
    SwitchParams,
    UpdateClientParams,
    WaitForEventParams,
)

# Per-step execution settings -----------------------------------------------------------


class RetryPolicy(StrictModel):
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    initial_interval: Seconds = 1.0
    backoff: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0
    max_interval: Seconds = 300.0

    @model_validator(mode="after")
    def _intervals_ordered(self) -> "RetryPolicy":
        if self.max_interval < self.initial_interval:
            raise ValueError("max_interval must not be shorter than initial_interval")
        return self


class GotoOnError(StrictModel):
    goto: StepId


OnError = Literal["fail", "continue"] | GotoOnError


# Steps --------------------------------------------------------------------------------------


class _StepBase(StrictModel):
    retry: RetryPolicy | None = None
    timeout: Seconds | None = None
    on_error: OnError = "fail"

    def edges(self) -> dict[str, str]:
        """Outgoing edges: the JSON pointer of each edge inside the step (``next``,
        ``then``, ``cases/<value>``, ``on_error/goto``) → the step id it points at."""
        out: dict[str, str] = {}
        if isinstance(self.on_error, GotoOnError):
            out["on_error/goto"] = self.on_error.goto
        return out


class LinearStep(_StepBase):
    # The one way out; None ends the run successfully after this step.
    next: StepId | None = None

    def edges(self) -> dict[str, str]:
        out = super().edges()
        if self.next is not None:
            out["next"] = self.next
        return out


# How an action step runs: "auto" runs it as a local activity (inside the run's workflow
# task: no activity task and no history events of its own) when its deadline fits in one
# workflow task, else as a regular activity; "local" insists on the first (and is refused
# for a longer deadline), "activity" on the second (its attempts show in the Temporal UI
# as they happen, and a worker that dies mid-run repeats only the step in flight).
StepExecution = Literal["auto", "local", "activity"]
# The workflow task timeout runs are started with (Temporal's default): a local activity
# longer than this keeps the task open past it.
LOCAL_STEP_BUDGET = 10.0


class _ActionStepBase(LinearStep):
    execution: StepExecution = "auto"

    def work_seconds(self) -> float | None:
        """The longest the step's work may take, when the definition bounds it."""
        return self.timeout

    def runs_locally(self) -> bool:
        if self.execution == "activity":
            return False
        work = self.work_seconds()
        return work is None or work <= LOCAL_STEP_BUDGET

    @model_validator(mode="after")
    def _local_fits_a_workflow_task(self) -> "_ActionStepBase":
        if self.execution == "local" and not self.runs_locally():
            raise ValueError(
                f"A step that runs as a local activity must finish within {LOCAL_STEP_BUDGET:g}"
                ' seconds (one workflow task); use execution "auto" or "activity" for a'
                " longer timeout"
            )
        return self


class HttpRequestStep(_ActionStepBase):
    type: Literal["http_request"]
    params: HttpRequestParams

    def work_seconds(self) -> float | None:
        return self.timeout if self.timeout is not None else self.params.timeout


class SendEmailStep(_ActionStepBase):
    type: Literal["send_email"]
    params: SendEmailParams


class CreateTaskStep(_ActionStepBase):
    type: Literal["create_task"]
    params: CreateTaskParams


class UpdateClientStep(_ActionStepBase):
    type: Literal["update_client"]
    params: UpdateClientParams


class EmitEventStep(_ActionStepBase):
    type: Literal["emit_event"]
    params: EmitEventParams


class SetStep(LinearStep):
    type: Literal["set"]
    params: SetParams


class DelayStep(LinearStep):
    type: Literal["delay"]
    params: DelayParams


class ConditionStep(_StepBase):
    type: Literal["condition"]
    params: ConditionParams
    then: StepId
    else_: StepId = Field(alias="else")

    def edges(self) -> dict[str, str]:
        return {**super().edges(), "then": self.then, "else": self.else_}


class SwitchStep(_StepBase):
    type: Literal["switch"]
    params: SwitchParams
    cases: dict[Annotated[str, StringConstraints(max_length=200)], StepId] = Field(min_length=1)
    # None ends the run when no case matches.
    default: StepId | None = None

    def edges(self) -> dict[str, str]:
        out = super().edges()
        for value, step in self.cases.items():
            out["cases/" + value.replace("~", "~0").replace("/", "~1")] = step
        if self.default is not None:
            out["default"] = self.default
        return out


class StopStep(_StepBase):
    type: Literal["stop"]
    params: StopParams = Field(default_factory=StopParams)


class CallAutomationStep(LinearStep):
    type: Literal["call_automation"]
    params: CallAutomationParams


class WaitForEventStep(LinearStep):
    type: Literal["wait_for_event"]
    params: WaitForEventParams
    # Where a timeout goes; None makes a timeout a step failure (``on_error`` decides).
    on_timeout: StepId | None = None

    def edges(self) -> dict[str, str]:
        out = super().edges()
        if self.on_timeout is not None:
            out["on_timeout"] = self.on_timeout
        return out


class ApprovalStep(LinearStep):
    """``next`` is the approved branch."""

    type: Literal["approval"]
    params: ApprovalParams
    # None makes a rejection end the run as failed.
    rejected: StepId | None = None
    # None makes a timeout a step failure (``on_error`` decides).
    on_timeout: StepId | None = None

    def edges(self) -> dict[str, str]:
        out = super().edges()
        if self.rejected is not None:
            out["rejected"] = self.rejected
        if self.on_timeout is not None:
            out["on_timeout"] = self.on_timeout
        return out


# What a foreach body may hold: no waits for people or events (each item would need its
# own signals) and no nested foreach (one level keeps a run's size bounded).
BodyStep = Annotated[
    HttpRequestStep
    | SendEmailStep
    | CreateTaskStep
    | UpdateClientStep
    | EmitEventStep
    | CallAutomationStep
    | ConditionStep
    | SwitchStep
    | SetStep
    | DelayStep
    | StopStep,
    Field(discriminator="type"),
]


class ForeachBody(StrictModel):
    """A sub-graph run once per item, with ``item`` and ``index`` in its context. Its step
    ids are its own and distinct from the outer steps'; an item's output is the output of
    the last step it executed."""

    start: StepId
    steps: dict[StepId, BodyStep] = Field(min_length=1, max_length=MAX_STEPS)


class ForeachStep(LinearStep):
    type: Literal["foreach"]
    params: ForeachParams
    body: ForeachBody


Step = Annotated[
    HttpRequestStep
    | SendEmailStep
    | CreateTaskStep
    | UpdateClientStep
    | EmitEventStep
    | CallAutomationStep
    | ConditionStep
    | SwitchStep
    | SetStep
    | DelayStep
    | StopStep
    | WaitForEventStep
    | ApprovalStep
    | ForeachStep,
    Field(discriminator="type"),
]

# The same sets as plain unions, which the interpreter dispatches on (``Step`` carries the
# discriminator pydantic validates with).
ActionStep = HttpRequestStep | SendEmailStep | CreateTaskStep | UpdateClientStep | EmitEventStep
ControlStep = ConditionStep | SwitchStep | SetStep | DelayStep | StopStep
FlowStep = CallAutomationStep | WaitForEventStep | ApprovalStep | ForeachStep
AnyStep = ActionStep | ControlStep | FlowStep

# Step type name → its model; the validator picks the model by name so that an unknown
# type is one precise error rather than one per known type.
STEP_TYPES: dict[str, type[_StepBase]] = {
    "http_request": HttpRequestStep,
    "send_email": SendEmailStep,
    "create_task": CreateTaskStep,
    "update_client": UpdateClientStep,
    "emit_event": EmitEventStep,
    "condition": ConditionStep,
    "switch": SwitchStep,
    "set": SetStep,
    "delay": DelayStep,
    "stop": StopStep,
    "call_automation": CallAutomationStep,
    "wait_for_event": WaitForEventStep,
    "approval": ApprovalStep,
    "foreach": ForeachStep,
}
# One activity each, which performs the effect and records the step row.
ACTION_TYPES = frozenset(
    {"http_request", "send_email", "create_task", "update_client", "emit_event"}
)
# Steps the workflow runs itself, with activities or child workflows of their own.
FLOW_TYPES = frozenset({"call_automation", "wait_for_event", "approval", "foreach"})
# Evaluated inside the workflow with no activity at all.
CONTROL_TYPES = frozenset(STEP_TYPES) - ACTION_TYPES - FLOW_TYPES
BODY_STEP_TYPES = frozenset(STEP_TYPES) - {"wait_for_event", "approval", "foreach"}
