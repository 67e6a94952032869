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
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)

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
# A domain or custom event name: ``client.created``, ``custom.contract_signed``.
EventName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", max_length=100)
]
# Roles that may be named as approvers (a client-role user never approves firm work).
ApproverRole = Literal["owner", "admin", "staff", "builder"]
# Form field names are read by later steps as ``steps.<id>.output.form.<name>``.
FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# Triggers ----------------------------------------------------------------------------


class ManualTrigger(_Strict):
    """Started by ``POST /v1/automations/{id}/runs``."""

    type: Literal["manual"]


class WebhookTrigger(_Strict):
    """Started by a request to the automation's secret inbound URL."""

    type: Literal["webhook"]


class ScheduleTrigger(_Strict):
    """A Temporal Schedule (``automation-schedule-<automation id>``) kept in sync with the
    automation by services.automations.schedules. Exactly one of ``cron`` (five fields,
    read in ``time_zone``) or ``interval`` (seconds, at least a minute)."""

    type: Literal["schedule"]
    cron: Annotated[str, StringConstraints(min_length=9, max_length=200)] | None = None
    interval: Annotated[float, Field(ge=60, le=366 * 24 * 3600)] | None = None
    # An IANA zone; None means the firm's time zone (read whenever the schedule is synced).
    time_zone: Annotated[str, StringConstraints(max_length=64)] | None = None
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    # What a fire does while the previous scheduled run still runs.
    overlap: Literal["skip", "buffer_one", "allow_all"] = "skip"
    # After downtime, fires missed within this window still run (late); older ones are
    # dropped.
    catchup_window: Annotated[float, Field(ge=10, le=366 * 24 * 3600)] = 3600.0
    # The trigger payload of every scheduled run.
    payload: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_spec(self) -> "ScheduleTrigger":
        if (self.cron is None) == (self.interval is None):
            raise ValueError("give exactly one of cron or interval")
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self


class EventTrigger(_Strict):
    """Started by a domain event (services.automations.event_catalogue) or a custom event
    an ``emit_event`` step emits, when ``filter`` (a bare expression over ``event``) holds."""

    type: Literal["event"]
    event: EventName
    filter: Expression | None = None


Trigger = Annotated[
    ManualTrigger | WebhookTrigger | ScheduleTrigger | EventTrigger,
    Field(discriminator="type"),
]


# Flow control per automation --------------------------------------------------------------


class Concurrency(_Strict):
    """At most ``max_runs`` running at once (per value of ``key`` when given: a bare
    expression over ``trigger``); a start beyond that waits its turn or is skipped."""

    max_runs: Annotated[int, Field(ge=1, le=1000)] = 1
    key: Expression | None = None
    when_full: Literal["queue", "skip"] = "queue"


class Debounce(_Strict):
    """For each value of ``key`` (one value when None), only the last trigger within
    ``window`` seconds of quiet starts a run."""

    window: Annotated[float, Field(ge=1, le=7 * 24 * 3600)]
    key: Expression | None = None


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
    # A custom event: names in firmflow's own namespaces (client., invoice. …) are refused.
    name: EventName
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    # The correlation key a wait_for_event step matches (e.g. the client id).
    key: Template | None = None


class WaitForEventParams(_Strict):
    """Wait for ``event`` whose correlation key equals ``key`` (a template; None matches
    any key). Events reach a run through ``POST /v1/runs/{id}/events/{name}`` and through
    matching domain events; one that arrives before the wait begins is kept for it."""

    event: EventName
    key: Template | None = None
    # None waits for ever.
    timeout: Seconds | None = None


class ApproverSpec(_Strict):
    roles: list[ApproverRole] = Field(default_factory=list, max_length=4)
    users: list[UUID] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _someone(self) -> "ApproverSpec":
        if not self.roles and not self.users:
            raise ValueError("name at least one approver role or user")
        return self


class FormField(_Strict):
    type: Literal["string", "text", "number", "integer", "boolean", "date", "choice"]
    label: Annotated[str, StringConstraints(max_length=200)] | None = None
    required: bool = False
    # For "choice": the allowed values.
    choices: list[Annotated[str, StringConstraints(max_length=200)]] | None = Field(
        default=None, max_length=100
    )
    max_length: Annotated[int, Field(ge=1, le=10_000)] = 2000

    @model_validator(mode="after")
    def _choices(self) -> "FormField":
        if (self.type == "choice") != bool(self.choices):
            raise ValueError("a choice field, and only a choice field, lists its choices")
        return self


class ApprovalParams(_Strict):
    approvers: ApproverSpec
    # Approvals needed; one rejection rejects.
    quorum: Annotated[int, Field(ge=1, le=100)] = 1
    # Whether the user who started the run may approve it.
    allow_initiator: bool = False
    # None waits for ever.
    timeout: Seconds | None = None
    title: Template
    # Rendered into the approvers' email and the approval's page.
    message: Template = ""
    form: dict[FieldName, FormField] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _reachable_quorum(self) -> "ApprovalParams":
        if not self.approvers.roles and self.quorum > len(set(self.approvers.users)):
            raise ValueError("quorum is larger than the number of named approvers")
        return self


class ForeachParams(_Strict):
    # A bare expression that yields a list.
    items: Expression
    max_concurrency: Annotated[int, Field(ge=1, le=50)] = 5
    max_items: Annotated[int, Field(ge=1, le=10_000)] = 10_000
    # "fail": the first failed item fails the step; "continue": failures are reported.
    on_item_error: Literal["fail", "continue"] = "fail"


class CallAutomationParams(_Strict):
    # A published, active automation of the same firm.
    automation_id: UUID
    # The called run's trigger payload; strings inside it may hold expressions.
    payload: JsonValue = None
    # False starts the run and goes on at once (its output is then only its run id).
    wait: bool = True


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


class CallAutomationStep(_Linear):
    type: Literal["call_automation"]
    params: CallAutomationParams


class WaitForEventStep(_Linear):
    type: Literal["wait_for_event"]
    params: WaitForEventParams
    # Where a timeout goes; None makes a timeout a step failure (``on_error`` decides).
    on_timeout: StepId | None = None

    def edges(self) -> dict[str, str]:
        out = super().edges()
        if self.on_timeout is not None:
            out["on_timeout"] = self.on_timeout
        return out


class ApprovalStep(_Linear):
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


class ForeachBody(_Strict):
    """A sub-graph run once per item, with ``item`` and ``index`` in its context. Its step
    ids are its own and distinct from the outer steps'; an item's output is the output of
    the last step it executed."""

    start: StepId
    steps: dict[StepId, BodyStep] = Field(min_length=1, max_length=MAX_STEPS)


class ForeachStep(_Linear):
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


class DefinitionShell(_Strict):
    """The top level, with steps still raw: validated first, each step by its type after."""

    schema_version: Literal[1]
    trigger: Trigger
    start: StepId
    steps: dict[str, dict[str, Any]] = Field(min_length=1)
    concurrency: Concurrency | None = None
    debounce: Debounce | None = None


class Definition(_Strict):
    """A whole definition, once valid (``services.automations.validation.validate``)."""

    schema_version: Literal[1]
    trigger: Trigger
    start: StepId
    steps: dict[StepId, Step] = Field(min_length=1, max_length=MAX_STEPS)
    concurrency: Concurrency | None = None
    debounce: Debounce | None = None

    def wait_events(self) -> frozenset[str]:
        """The events its ``wait_for_event`` steps wait for (domain events of these names
        are delivered to its running runs)."""
        return frozenset(
            step.params.event for step in self.steps.values() if isinstance(step, WaitForEventStep)
        )
