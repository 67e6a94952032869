"""Action steps of automation runs: one attempt of a step, from the run's state to its record.

The activities in ``activities/automation.py`` carry out one attempt of an action step with
these functions, each inside a unit of work they open, and ``run_records.finish_run`` at
the end of a run (the contract is in ``workflows/automation/run/contracts.py``). Every
attempt goes the same way:

1. In a transaction of the run's firm: the run must exist there and be running; when
   the step row ``(run, step, visit)`` is already recorded as succeeded, its outcome is
   returned and nothing else happens, so a retried attempt repeats no effect. An effect
   outside the database skips this read on the first attempt of a step in the run's first
   workflow task (activities/automation.py decides) when it names no credentials; its
   recording transaction then checks the run instead.
2. The credentials the params name are resolved and the params rendered with them.
3. The effect. ``create_task``, ``update_client`` and ``emit_event``
   (``database_effects``) change the database in the transaction that also inserts the
   step row and the workflow's ``pending`` records (``run_records``), so the effect and
   its record commit together or not at all: exactly once. ``http_request`` and
   ``send_email`` (``external_effects``) act outside the database, between a reading
   transaction and the recording one; a crash in between repeats the effect on the next
   attempt with the same idempotency key (the ``Idempotency-Key`` header, the email's
   ``Message-ID``).
4. The rendered input and the output are redacted of the secret values before they are
   stored or returned, and so is every error message.

Failures are ``StepInvalid`` (another attempt cannot fix it) or ``StepFailed`` (it may
pass on a later attempt), both in ``step_errors``; an exception of any other kind is
logged, redacted, and becomes a ``StepFailed`` with a generic message.
"""

import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.crypto import Cipher
from models import AutomationRun, AutomationRunStep, Firm
from models.automation_run import RunStatus, StepStatus
from pure.expressions import ExpressionError, render_params, secret_names_in_params
from services.automations import database_effects, run_records
from services.automations.run_records import Attempt
from services.automations.step_errors import StepError, StepFailed, StepInvalid
from services.credentials import UnknownCredentials, resolve_for_run
from workflows.automation.run.contracts import StepCall, StepOutcome

log = logging.getLogger("firmflow.automations")


class Superseded(Exception):
    """Another attempt recorded the step first: this one's transaction must roll back."""


async def recorded_outcome(session: AsyncSession, call: StepCall) -> StepOutcome | None:
    """The outcome of the step when an earlier attempt recorded it. Raises when the run is
    not one of this firm's running runs (row-level security hides other firms' runs)."""
    recorded, _ = await _run_state(session, call)
    return recorded


async def _run_state(session: AsyncSession, call: StepCall) -> tuple[StepOutcome | None, list[str]]:
    """``_recorded`` and the firm's HTTP allow-list, in one query: an HTTP step reads both
    before its request, and a round trip saved per step is measurable in runs per second."""
    step = AutomationRunStep
    row = (
        await session.execute(
            select(
                AutomationRun.status,
                step.status,
                step.input,
                step.output,
                step.attempt,
                Firm.http_allowlist,
            )
            .select_from(AutomationRun)
            .join(Firm, Firm.id == AutomationRun.firm_id)
            .outerjoin(
                step,
                and_(
                    step.run_id == AutomationRun.id,
                    step.step_id == call.step_id,
                    step.visit == call.visit,
                ),
            )
            .where(AutomationRun.id == call.run_id)
        )
    ).one_or_none()
    if row is None:
        raise StepInvalid("No automation run with this id in this firm")
    run_status, step_status, step_input, step_output, attempt, allowlist = row
    if step_status in (StepStatus.succeeded, StepStatus.reused):
        return StepOutcome(input=step_input, output=step_output, attempt=attempt), allowlist
    if step_status is not None:
        raise StepInvalid(f"Step {call.step_id} (visit {call.visit}) is already recorded as failed")
    if run_status != RunStatus.running:
        raise StepInvalid(f"The run is {run_status.value}; it runs no more steps")
    return None, list(allowlist)


# An effect inside the recording transaction: (session, attempt, rendered params) → output.
DbEffect = Callable[[AsyncSession, Attempt, dict[str, Any]], Awaitable[Any]]

DB_EFFECTS: dict[str, DbEffect] = {
    "create_task": database_effects.create_task,
    "update_client": database_effects.update_client,
    "emit_event": database_effects.emit_event,
}
# Effects outside the database, between a reading and a recording transaction.
EXTERNAL_EFFECTS = ("http_request", "send_email")


def check_step_type(step_type: str, call: StepCall) -> None:
    if call.step_type != step_type:
        raise StepInvalid(f"The {step_type} activity was called for a {call.step_type} step")
    if step_type not in EXTERNAL_EFFECTS and step_type not in DB_EFFECTS:
        raise StepInvalid(f"{step_type} is not an action step type")


@contextmanager
def failures_redacted(current: Attempt) -> Iterator[None]:
    """Whatever fails in the attempt leaves it redacted of the secrets it resolved: a
    ``StepError`` keeps its kind, anything else is logged and becomes a ``StepFailed``."""
    call = current.call
    try:
        yield
    except StepError as exc:
        redactor = current.redactor
        raise type(exc)(
            redactor.redact_text(exc.message), input=redactor.redact(exc.input)
        ) from None
    except Exception as exc:
        log.error(
            "automation run %s step %s (visit %d, attempt %d) failed unexpectedly: %s",
            call.run_id,
            call.step_id,
            call.visit,
            current.attempt,
            current.redactor.redact_text("".join(traceback.format_exception(exc))),
        )
        raise StepFailed("The step failed unexpectedly; it will be retried") from None


def names_secrets(call: StepCall) -> bool:
    """Whether the params name credentials, which only a transaction can resolve."""
    return bool(secret_names_in_params(call.params))


async def render(session: AsyncSession, current: Attempt, cipher: Cipher) -> dict[str, Any]:
    """The step's params rendered over the run's context and the credentials they name."""
    call = current.call
    try:
        names = secret_names_in_params(call.params)
        if names:
            current.secrets.update(
                await resolve_for_run(session, call.firm_id, names, cipher=cipher)
            )
    except UnknownCredentials as exc:
        raise StepInvalid(exc.detail) from None
    return render_plain(current)


def render_plain(current: Attempt) -> dict[str, Any]:
    """The params rendered with the credentials resolved so far (none when they name
    none)."""
    call = current.call
    try:
        rendered = render_params(call.params, {**call.context, "secrets": current.secrets})
    except ExpressionError as exc:
        raise StepInvalid(exc.message) from None
    assert isinstance(rendered, dict)
    return rendered


async def perform_in_database(
    session: AsyncSession, current: Attempt, cipher: Cipher, effect: DbEffect
) -> StepOutcome:
    """A database effect and its record, in the caller's transaction: the recorded outcome
    when an earlier attempt recorded the step; ``Superseded`` when another attempt records
    it first (the transaction must roll back)."""
    recorded = await recorded_outcome(session, current.call)
    if recorded is not None:
        return recorded
    rendered = await render(session, current, cipher)
    output = await effect(session, current, rendered)
    outcome = current.outcome(rendered, output)
    if not await current.record(session, outcome):
        raise Superseded
    return outcome


@dataclass(frozen=True)
class Prepared:
    """What the reading transaction before an effect outside the database found: the
    recorded outcome if any, else the rendered params and the firm's HTTP allow-list."""

    recorded: StepOutcome | None
    rendered: dict[str, Any]
    allowlist: list[str]


async def prepare_external(session: AsyncSession, current: Attempt, cipher: Cipher) -> Prepared:
    recorded, allowlist = await _run_state(session, current.call)
    if recorded is not None:
        return Prepared(recorded, {}, [])
    return Prepared(None, await render(session, current, cipher), allowlist)


async def record_outcome(
    session: AsyncSession, current: Attempt, outcome: StepOutcome, *, read_first: bool
) -> bool:
    """Record an external effect's outcome; False when another attempt recorded it first.
    Without ``read_first`` (no reading transaction came before the effect), the run must
    prove to be one of this firm's before anything is written to it."""
    if not read_first:
        await run_records.require_run(session, current.call.run_id)
    return await current.record(session, outcome)
