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

This module assembles the whole document from parts kept by subdomain, each pure in the
same way: ``base`` (the strict base model, limits and field types), ``triggers`` (triggers
and per-automation flow control), ``params`` (each step type's parameters) and ``steps``
(the step models and type sets).
"""

from typing import Any, Literal

from pydantic import Field

from workflows.automation.definition.base import MAX_STEPS, StepId, StrictModel
from workflows.automation.definition.steps import Step, WaitForEventStep
from workflows.automation.definition.triggers import Concurrency, Debounce, Trigger

SCHEMA_VERSION = 1


class DefinitionShell(StrictModel):
    """The top level, with steps still raw: validated first, each step by its type after."""

    schema_version: Literal[1]
    trigger: Trigger
    start: StepId
    steps: dict[str, dict[str, Any]] = Field(min_length=1)
    concurrency: Concurrency | None = None
    debounce: Debounce | None = None


class Definition(StrictModel):
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
