"""What starts an automation's runs and how starts are admitted: the trigger types and the
per-automation flow control (concurrency limit, debounce window)."""

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, JsonValue, StringConstraints, model_validator

from workflows.automation.definition.base import EventName, Expression, StrictModel

# Triggers ----------------------------------------------------------------------------


class ManualTrigger(StrictModel):
    """Started by ``POST /v1/automations/{id}/runs``."""

    type: Literal["manual"]


class WebhookTrigger(StrictModel):
    """Started by a request to the automation's secret inbound URL."""

    type: Literal["webhook"]


class ScheduleTrigger(StrictModel):
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


class EventTrigger(StrictModel):
    """Started by a domain event (pure.event_catalogue) or a custom event
    an ``emit_event`` step emits, when ``filter`` (a bare expression over ``event``) holds."""

    type: Literal["event"]
    event: EventName
    filter: Expression | None = None


Trigger = Annotated[
    ManualTrigger | WebhookTrigger | ScheduleTrigger | EventTrigger,
    Field(discriminator="type"),
]


# Flow control per automation --------------------------------------------------------------


class Concurrency(StrictModel):
    """At most ``max_runs`` running at once (per value of ``key`` when given: a bare
    expression over ``trigger``); a start beyond that waits its turn or is skipped."""

    max_runs: Annotated[int, Field(ge=1, le=1000)] = 1
    key: Expression | None = None
    when_full: Literal["queue", "skip"] = "queue"


class Debounce(StrictModel):
    """For each value of ``key`` (one value when None), only the last trigger within
    ``window`` seconds of quiet starts a run."""

    window: Annotated[float, Field(ge=1, le=7 * 24 * 3600)]
    key: Expression | None = None
