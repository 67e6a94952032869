"""The automation definition format (``schema_version: 1``) as pydantic models.

Pure pydantic on purpose: the interpreter workflow imports these inside the Temporal
sandbox, so this module does no I/O and imports nothing from the database layer. The graph
rules (edges point at steps, every step reachable, no cycles) and expression syntax are
checked by ``services.automations.validation``, which also turns errors into JSON pointers.

A definition::

    {"schema_version": 1,
     "trigger": {"type": "manual"},
     "start": "greet",
     "steps": {"greet": {"type": "send_email", "params": {...}, "next": "done"},
               "done": {"type": "stop", "params": {"status": "succeeded"}}}}

Durations (``timeout``, retry intervals, ``delay``) are seconds.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

SCHEMA_VERSION = 1
MAX_STEPS = 2000
# Step ids appear in JSON pointers and expressions (steps.<id>.output), so they are
# identifiers: a letter first, then letters, digits, "_" or "-".
STEP_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"

StepId = Annotated[str, StringConstraints(pattern=STEP_ID_PATTERN)]
# A string that may hold {{ … }} expressions (checked by the validator).
Template = Annotated[str, StringConstraints(max_length=100_000)]
# A bare expression, as in a condition: ``trigger.amount > 100``.
Expression = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
Seconds = Annotated[float, Field(gt=0, le=365 * 24 * 3600)]
VarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# Triggers ----------------------------------------------------------------------------


class ManualTrigger(_Strict):
    """Started by ``POST /v1/automations/{id}/runs``."""

    type: Literal["manual"]


class WebhookTrigger(_Strict):
    """Started by a request to the automation's secret inbound URL."""

    type: Literal["webhook"]


Trigger = Annotated[ManualTrigger | WebhookTrigger, Field(discriminator="type")]


# Per-step execution settings -----------------------------------------------------------


class RetryPolicy(_Strict):
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    initial_interval: Seconds = 1.0
    backoff: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0
    max_interval: Seconds = 300.0

    @model_validator(mode="after")
    def _intervals_ordered(self) -> "RetryPolicy":
        if self.max_interval < self.initial_interval:
            raise ValueError("max_interval must not be shorter than initial_interval")
        return self


class GotoOnError(_Strict):
    goto: StepId


OnError = Literal["fail", "continue"] | GotoOnError


# Parameters of each step type ------------------------------------------------------------

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class HttpRequestParams(_Strict):
    method: HttpMethod = "GET"
    url: Template
    headers: dict[str, Template] = Field(default_factory=dict)
    # A JSON value; strings inside it may hold expressions.
    body: JsonValue = None
    timeout: Seconds = 30.0
    # Statuses that count as success; empty means any 2xx.
    expected_statuses: list[Annotated[int, Field(ge=100, le=599)]] = Field(default_factory=list)


class SendEmailParams(_Strict):
    # Each recipient gets a message of their own (the email provider sends to one address).
    to: list[Template] = Field(min_length=1, max_length=50)
    subject: Template
    # A sandboxed Jinja2 template over the run context.
    body: Template


class CreateTaskParams(_Strict):
    """The fields of services.tasks.TaskFields, each possibly an expression; the step
    renders them and hands them to ``validate_task_fields``."""

    title: Template
    description: Template | None = None
    # A user id of the firm, or an expression that yields one.
    assignee_id: Template | None = None
    # A client id of the firm, or an expression that yields one.
    client_id: Template | None = None
    # A date (YYYY-MM-DD) in the firm's time zone, or an expression that yields one.
    due_date: Template | None = None


class UpdateClientParams(_Strict):
    client_id: Template
    # Client fields to change (as PATCH /v1/clients/{id} takes them).
    fields: dict[str, JsonValue] = Field(min_length=1)


class EmitEventParams(_Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")]
    payload: dict[str, JsonValue] = Field(default_factory=dict)


class ConditionParams(_Strict):
    expression: Expression


class SwitchParams(_Strict):
    # Its value, as a string, picks the case.
    value: Expression


class SetParams(_Strict):
    vars: dict[VarName, JsonValue] = Field(min_length=1)


class DelayParams(_Strict):
    """Exactly one of ``seconds`` or ``until`` (an expression yielding a time, read in the
    firm's time zone when it has none)."""

    seconds: Seconds | None = None
    until: Template | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "DelayParams":
        if (self.seconds is None) == (self.until is None):
            raise ValueError("give exactly one of seconds or until")
        return self


class StopParams(_Strict):
    status: Literal["succeeded", "failed"] = "succeeded"
    message: Template | None = None


# Steps --------------------------------------------------------------------------------------


class _StepBase(_Strict):
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


class _Linear(_StepBase):
    # None ends the run successfully after this step.
    next: StepId | None = None

    def edges(self) -> dict[str, str]:
        out = super().edges()
        if self.next is not None:
            out["next"] = self.next
        return out


class HttpRequestStep(_Linear):
    type: Literal["http_request"]
    params: HttpRequestParams


class SendEmailStep(_Linear):
    type: Literal["send_email"]
    params: SendEmailParams


class CreateTaskStep(_Linear):
    type: Literal["create_task"]
    params: CreateTaskParams


class UpdateClientStep(_Linear):
    type: Literal["update_client"]
    params: UpdateClientParams


class EmitEventStep(_Linear):
    type: Literal["emit_event"]
    params: EmitEventParams


class SetStep(_Linear):
    type: Literal["set"]
    params: SetParams


class DelayStep(_Linear):
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


Step = Annotated[
    HttpRequestStep
    | SendEmailStep
    | CreateTaskStep
    | UpdateClientStep
    | EmitEventStep
    | ConditionStep
    | SwitchStep
    | SetStep
    | DelayStep
    | StopStep,
    Field(discriminator="type"),
]

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
}
ACTION_TYPES = frozenset(
    {"http_request", "send_email", "create_task", "update_client", "emit_event"}
)
CONTROL_TYPES = frozenset(STEP_TYPES) - ACTION_TYPES


class DefinitionShell(_Strict):
    """The top level, with steps still raw: validated first, each step by its type after."""

    schema_version: Literal[1]
    trigger: Trigger
    start: StepId
    steps: dict[str, dict[str, Any]] = Field(min_length=1)


class Definition(_Strict):
    """A whole definition, once valid (``services.automations.validation.validate``)."""

    schema_version: Literal[1]
    trigger: Trigger
    start: StepId
    steps: dict[StepId, Step] = Field(min_length=1, max_length=MAX_STEPS)
