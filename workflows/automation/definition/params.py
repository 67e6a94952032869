"""The ``params`` of each step type: what a step is given to do, before its expressions are
rendered. The step models in ``steps`` pair each with its edges."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, JsonValue, StringConstraints, model_validator

from workflows.automation.definition.base import (
    ApproverRole,
    EventName,
    Expression,
    FieldName,
    Seconds,
    StrictModel,
    Template,
    VarName,
)

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class HttpRequestParams(StrictModel):
    method: HttpMethod = "GET"
    url: Template
    headers: dict[str, Template] = Field(default_factory=dict)
    # A JSON value; strings inside it may hold expressions.
    body: JsonValue = None
    timeout: Seconds = 30.0
    # Statuses that count as success; empty means any 2xx.
    expected_statuses: list[Annotated[int, Field(ge=100, le=599)]] = Field(default_factory=list)


class SendEmailParams(StrictModel):
    # Each recipient gets a message of their own (the email provider sends to one address).
    to: list[Template] = Field(min_length=1, max_length=50)
    subject: Template
    # A sandboxed Jinja2 template over the run context.
    body: Template


class CreateTaskParams(StrictModel):
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


class UpdateClientParams(StrictModel):
    client_id: Template
    # Client fields to change (as PATCH /v1/clients/{id} takes them).
    fields: dict[str, JsonValue] = Field(min_length=1)


class EmitEventParams(StrictModel):
    # A custom event: names in firmflow's own namespaces (client., invoice. …) are refused.
    name: EventName
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    # The correlation key a wait_for_event step matches (e.g. the client id).
    key: Template | None = None


class WaitForEventParams(StrictModel):
    """Wait for ``event`` whose correlation key equals ``key`` (a template; None matches
    any key). Events reach a run through ``POST /v1/runs/{id}/events/{name}`` and through
    matching domain events; one that arrives before the wait begins is kept for it."""

    event: EventName
    key: Template | None = None
    # None waits for ever.
    timeout: Seconds | None = None


class ApproverSpec(StrictModel):
    roles: list[ApproverRole] = Field(default_factory=list, max_length=4)
    users: list[UUID] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _someone(self) -> "ApproverSpec":
        if not self.roles and not self.users:
            raise ValueError("name at least one approver role or user")
        return self


class FormField(StrictModel):
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


class ApprovalParams(StrictModel):
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


class ForeachParams(StrictModel):
    # A bare expression that yields a list.
    items: Expression
    max_concurrency: Annotated[int, Field(ge=1, le=50)] = 5
    max_items: Annotated[int, Field(ge=1, le=10_000)] = 10_000
    # "fail": the first failed item fails the step; "continue": failures are reported.
    on_item_error: Literal["fail", "continue"] = "fail"


class CallAutomationParams(StrictModel):
    # A published, active automation of the same firm.
    automation_id: UUID
    # The called run's trigger payload; strings inside it may hold expressions.
    payload: JsonValue = None
    # False starts the run and goes on at once (its output is then only its run id).
    wait: bool = True


class ConditionParams(StrictModel):
    expression: Expression


class SwitchParams(StrictModel):
    # Its value, as a string, picks the case.
    value: Expression


class SetParams(StrictModel):
    vars: dict[VarName, JsonValue] = Field(min_length=1)


class DelayParams(StrictModel):
    """Exactly one of ``seconds`` or ``until`` (an expression yielding a time, read in the
    firm's time zone when it has none)."""

    seconds: Seconds | None = None
    until: Template | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "DelayParams":
        if (self.seconds is None) == (self.until is None):
            raise ValueError("give exactly one of seconds or until")
        return self


class StopParams(StrictModel):
    status: Literal["succeeded", "failed"] = "succeeded"
    message: Template | None = None
