"""The automation run's activities: one per action step type (``automation.<type>``), run
as local or regular activities as the run decides, and the local activity
``automation.finish_run``. The rules live in services/automations/actions.py (finish_run in
run_records.py); these activities open the units of work an attempt needs and no more, add
the attempt number and turn a failed step into the ``ApplicationError`` the run workflow
expects (contracts.py).

A database effect is one transaction: the run's state read, the effect and its record. An
effect outside the database (an HTTP call, an email) is the effect between a reading and a
recording transaction. The first attempt of a local activity scheduled in the run's first
workflow task cannot follow an earlier execution of its step, and its run was written
running moments before by the transaction that started it: when it names no credentials
it skips the reading transaction, taking the firm's allow-list from a cache of a few
seconds (activities/allowlist_cache.py). Any other attempt reads the run's state first
and returns what an earlier one recorded (a retried regular activity, or a local one run
again after a worker died mid-task, at attempt 1 again).
"""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.allowlist_cache import AllowlistCache
from activities.unit_of_work import firm_transaction
from core.crypto import Cipher
from core.temporal import ClientProvider
from providers.email import EmailProvider
from providers.http import HttpClient
from services.automations import actions, external_effects, run_records
from services.automations.external_effects import HttpClientFactory
from services.automations.run_records import Attempt
from services.automations.step_errors import StepError, StepFailed
from workflows.automation.run.contracts import (
    FINISH_ACTIVITY,
    STEP_FAILED,
    STEP_INVALID,
    FinishRun,
    StepCall,
    StepOutcome,
    action_activity,
)


def application_error(exc: StepError, attempt: int) -> ApplicationError:
    """The ApplicationError every automation activity raises for a failed step (the run
    workflow reads its type and details). Raise it `from None`: a cause would travel to
    the workflow history with its own message, and only this (redacted) one may."""
    return ApplicationError(
        exc.message,
        {"attempt": attempt, "input": exc.input},
        type=STEP_FAILED if exc.retryable else STEP_INVALID,
        non_retryable=not exc.retryable,
    )


class AutomationActivities:
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
        self._allowlists = AllowlistCache(sessionmaker)

    async def _step(self, step_type: str, call: StepCall) -> StepOutcome:
        info = activity.info()
        current = Attempt(call=call, attempt=info.attempt, secrets={})
        first = info.is_local and info.attempt == 1 and call.first_task
        try:
            with actions.failures_redacted(current):
                actions.check_step_type(step_type, call)
                if step_type in actions.DB_EFFECTS:
                    return await self._in_database(current, actions.DB_EFFECTS[step_type])
                return await self._outside_database(current, first)
        except StepError as exc:
            raise application_error(exc, info.attempt) from None

    async def _in_database(self, current: Attempt, effect: actions.DbEffect) -> StepOutcome:
        # The events the step caused (emit_event, client.updated, task.created) reach the
        # automations they trigger and the runs waiting for them right after the commit.
        call = current.call
        try:
            async with firm_transaction(self._sessionmaker, call.firm_id, self._temporal) as s:
                return await actions.perform_in_database(s, current, self._cipher, effect)
        except actions.Superseded:
            return await self._recorded_after_conflict(call)

    async def _recorded_after_conflict(self, call: StepCall) -> StepOutcome:
        async with firm_transaction(self._sessionmaker, call.firm_id) as session:
            recorded = await actions.recorded_outcome(session, call)
        if recorded is None:
            raise StepFailed("The step's record could not be read back")
        return recorded

    async def _outside_database(self, current: Attempt, first: bool) -> StepOutcome:
        """The effect with no transaction open, then the recording one: an HTTP call or an
        email never holds a connection or a lock. A reading transaction comes first unless
        the attempt is ``first`` (see the module docstring) and names no credentials."""
        call = current.call
        read_first = not first or actions.names_secrets(call)
        if read_first:
            async with firm_transaction(self._sessionmaker, call.firm_id) as session:
                prepared = await actions.prepare_external(session, current, self._cipher)
            if prepared.recorded is not None:
                return prepared.recorded
            rendered, allowlist = prepared.rendered, prepared.allowlist
            self._allowlists.put(call.firm_id, allowlist)
        else:
            rendered = actions.render_plain(current)
            allowlist = (
                await self._allowlists.get(call.firm_id) if call.step_type == "http_request" else []
            )
        if call.step_type == "http_request":
            output = await external_effects.http_request(
                self._http_client, allowlist, call, rendered
            )
        else:
            output = await external_effects.send_email(self._email, call, rendered)
        outcome = current.outcome(rendered, output)
        async with firm_transaction(self._sessionmaker, call.firm_id) as session:
            if await actions.record_outcome(session, current, outcome, read_first=read_first):
                return outcome
        return await self._recorded_after_conflict(call)

    @activity.defn(name=action_activity("http_request"))
    async def http_request(self, call: StepCall) -> StepOutcome:
        return await self._step("http_request", call)

    @activity.defn(name=action_activity("send_email"))
    async def send_email(self, call: StepCall) -> StepOutcome:
        return await self._step("send_email", call)

    @activity.defn(name=action_activity("create_task"))
    async def create_task(self, call: StepCall) -> StepOutcome:
        return await self._step("create_task", call)

    @activity.defn(name=action_activity("update_client"))
    async def update_client(self, call: StepCall) -> StepOutcome:
        return await self._step("update_client", call)

    @activity.defn(name=action_activity("emit_event"))
    async def emit_event(self, call: StepCall) -> StepOutcome:
        return await self._step("emit_event", call)

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish_run(self, finish: FinishRun) -> None:
        # The run that takes the freed slot starts right after the commit rather than at
        # the relay's next pass.
        try:
            async with firm_transaction(self._sessionmaker, finish.firm_id, self._temporal) as s:
                await run_records.finish_run(s, finish)
        except StepError as exc:
            raise application_error(exc, activity.info().attempt) from None
