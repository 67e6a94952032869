"""The automation run's activities: one per action step type (``automation.<type>``) and
the local activity ``automation.finish_run``. The rules live in
services/automations/actions.py (finish_run in run_records.py); these wrappers add the
attempt number and turn a failed step into the ``ApplicationError`` the run workflow
expects (contracts.py)."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.crypto import Cipher
from core.temporal import ClientProvider
from providers.email import EmailProvider
from providers.http import HttpClient
from services.automations import actions, run_records
from services.automations.external_effects import HttpClientFactory
from services.automations.step_errors import StepError
from services.outbox.dispatch import dispatch_after_commit
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
        self._actions = actions.Actions(
            sessionmaker, cipher=cipher, email=email, http_client=http_client, temporal=temporal
        )

    async def _step(self, step_type: str, call: StepCall) -> StepOutcome:
        attempt = activity.info().attempt
        try:
            return await self._actions.run(step_type, call, attempt=attempt)
        except StepError as exc:
            raise application_error(exc, attempt) from None

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
        try:
            started = await run_records.finish_run(self._sessionmaker, finish)
        except StepError as exc:
            raise application_error(exc, activity.info().attempt) from None
        # The run that took the freed slot starts now rather than at the relay's next pass.
        if self._temporal is not None:
            await dispatch_after_commit(self._sessionmaker, self._temporal, started)
