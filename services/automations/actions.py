"""Action steps of automation runs: one attempt of a step, from the run's state to its record.

The activities in ``activities/automation.py`` call ``Actions.run`` once per attempt of an
action step and ``run_records.finish_run`` at the end of a run (the contract is in
``workflows/automation/run/contracts.py``). Every attempt goes the same way:

1. In a tenant session of the run's firm: the run must exist there and be running; when
   the step row ``(run, step, visit)`` is already recorded as succeeded, its outcome is
   returned and nothing else happens, so a retried attempt repeats no effect.
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
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.crypto import Cipher
from core.db import tenant_session
from core.temporal import ClientProvider
from models import AutomationRun, AutomationRunStep, Firm
from models.automation_run import RunStatus, StepStatus
from providers.email import EmailProvider
from providers.http import HttpClient
from services.automations import database_effects, external_effects
from services.automations.external_effects import HttpClientFactory
from services.automations.run_records import Attempt
from services.automations.step_errors import StepError, StepFailed, StepInvalid
from services.credentials import UnknownCredentials, resolve_for_run
from services.expressions import ExpressionError, render_params, secret_names_in_params
from services.outbox.dispatch import dispatch_after_commit
from services.outbox.writer import pop_outbox_ids
from workflows.automation.run.contracts import StepCall, StepOutcome

log = logging.getLogger("firmflow.automations")


class _Superseded(Exception):
    """Another attempt recorded the step first: this one's transaction must roll back."""


async def _recorded(session: AsyncSession, call: StepCall) -> StepOutcome | None:
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
_DbEffect = Callable[[AsyncSession, Attempt, dict[str, Any]], Awaitable[Any]]


class Actions:
    """Performs action steps. ``http_client`` builds the client for a firm's allow-list
    (tests pass one with their own TLS context); ``cipher`` decrypts credentials."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        cipher: Cipher,
        email: EmailProvider,
        http_client: HttpClientFactory = HttpClient,
        temporal: ClientProvider | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal
        self._cipher = cipher
        self._email = email
        self._http_client = http_client
        self._db_effects: dict[str, _DbEffect] = {
            "create_task": database_effects.create_task,
            "update_client": database_effects.update_client,
            "emit_event": database_effects.emit_event,
        }

    async def run(self, step_type: str, call: StepCall, *, attempt: int) -> StepOutcome:
        """One attempt of the action step ``call``, which must be of ``step_type``."""
        current = Attempt(call=call, attempt=attempt, secrets={})
        try:
            if call.step_type != step_type:
                raise StepInvalid(
                    f"The {step_type} activity was called for a {call.step_type} step"
                )
            if step_type == "http_request":
                return await self._http_request(current)
            if step_type == "send_email":
                return await self._send_email(current)
            if step_type in self._db_effects:
                return await self._in_transaction(current, self._db_effects[step_type])
            raise StepInvalid(f"{step_type} is not an action step type")
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
                attempt,
                current.redactor.redact_text("".join(traceback.format_exception(exc))),
            )
            raise StepFailed("The step failed unexpectedly; it will be retried") from None

    async def _render(self, session: AsyncSession, current: Attempt) -> dict[str, Any]:
        call = current.call
        try:
            names = secret_names_in_params(call.params)
            if names:
                current.secrets.update(
                    await resolve_for_run(session, call.firm_id, names, cipher=self._cipher)
                )
            rendered = render_params(call.params, {**call.context, "secrets": current.secrets})
        except UnknownCredentials as exc:
            raise StepInvalid(exc.detail) from None
        except ExpressionError as exc:
            raise StepInvalid(exc.message) from None
        assert isinstance(rendered, dict)
        return rendered

    async def _in_transaction(self, current: Attempt, effect: _DbEffect) -> StepOutcome:
        call = current.call
        try:
            async with tenant_session(call.firm_id, self._sessionmaker) as session:
                recorded = await _recorded(session, call)
                if recorded is not None:
                    return recorded
                rendered = await self._render(session, current)
                output = await effect(session, current, rendered)
                outcome = current.outcome(rendered, output)
                if not await current.record(session, outcome):
                    raise _Superseded
                enqueued = pop_outbox_ids(session)
        except _Superseded:
            return await self._recorded_after_conflict(call)
        # The events the step caused (emit_event, client.updated, task.created) reach the
        # automations they trigger and the runs waiting for them now, not at the relay's
        # next pass; what this cannot dispatch stays pending for the relay.
        if self._temporal is not None:
            await dispatch_after_commit(self._sessionmaker, self._temporal, enqueued)
        return outcome

    async def _recorded_after_conflict(self, call: StepCall) -> StepOutcome:
        async with tenant_session(call.firm_id, self._sessionmaker) as session:
            recorded = await _recorded(session, call)
        if recorded is None:
            raise StepFailed("The step's record could not be read back")
        return recorded

    async def _prepare(
        self, current: Attempt, *, allowlist: bool = False
    ) -> tuple[StepOutcome | None, dict[str, Any], list[str]]:
        """The reading transaction before an effect outside the database: the recorded
        outcome if any, else the rendered params (and the firm's HTTP allow-list)."""
        call = current.call
        async with tenant_session(call.firm_id, self._sessionmaker) as session:
            recorded, entries = await _run_state(session, call)
            if recorded is not None:
                return recorded, {}, []
            rendered = await self._render(session, current)
        return None, rendered, entries if allowlist else []

    async def _recorded_outcome(self, current: Attempt, outcome: StepOutcome) -> StepOutcome:
        call = current.call
        async with tenant_session(call.firm_id, self._sessionmaker) as session:
            if await current.record(session, outcome):
                return outcome
        return await self._recorded_after_conflict(call)

    async def _http_request(self, current: Attempt) -> StepOutcome:
        recorded, rendered, allowlist = await self._prepare(current, allowlist=True)
        if recorded is not None:
            return recorded
        output = await external_effects.http_request(
            self._http_client, allowlist, current.call, rendered
        )
        return await self._recorded_outcome(current, current.outcome(rendered, output))

    async def _send_email(self, current: Attempt) -> StepOutcome:
        recorded, rendered, _ = await self._prepare(current)
        if recorded is not None:
            return recorded
        output = await external_effects.send_email(self._email, current.call, rendered)
        return await self._recorded_outcome(current, current.outcome(rendered, output))
