"""EnvelopeWorkflow: one round of an envelope out for signature (``envelope-<id>``).

Every turn starts with the plan activity, which re-reads the envelope and its recipients
(the database is the record; a signal only wakes the workflow) and computes the schedule
(services/esignature/process.py, pure/signing_schedule.py). Then one step: the links of the
group whose turn it is (built-in provider; an outside provider sends its own emails and
reminders), a staff "remind now", the sender's expiry warning, the reminders due, or a
sleep until the next of those moments or the expiry, woken early by a signal. It ends when
every signer and approver signed (seal or fetch the signed documents, complete, send the
copies), when one declined, when staff voided it, at the expiry, or when a re-send moved
the envelope to a later round (then it continues as new in that round).

All state is in the database, so the workflow carries none across turns; a run continues
as new after ``TURNS_PER_RUN`` turns, keeping every history small (a turn is at most a
dozen events: a storm of duplicate signals cannot grow it without bound)."""

import contextlib
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pure.signing_schedule import next_wake
    from workflows.esignature.envelope.contracts import (
        COMPLETE_ACTIVITY,
        COPIES_ACTIVITY,
        CORRECTED_SIGNAL,
        DECLINE_ACTIVITY,
        DELIVER_ACTIVITY,
        EXPIRE_ACTIVITY,
        PLAN_ACTIVITY,
        PROVIDER_SEND_ACTIVITY,
        RECIPIENT_SIGNAL,
        REMIND_ACTIVITY,
        REMIND_SIGNAL,
        RESENT_SIGNAL,
        SEAL_ACTIVITY,
        VOID_ACTIVITY,
        VOID_SIGNAL,
        WARN_ACTIVITY,
        WORKFLOW_NAME,
        EnvelopeInput,
        EnvelopePlan,
        EnvelopeResult,
        RecipientChanged,
        RemindInput,
        RemindNow,
        Resent,
        StepInput,
        StepOutcome,
        Voided,
    )

BUILTIN = "builtin"
READ_TIMEOUT = timedelta(seconds=30)
READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=30,
)
# Emails: a mail server down for hours is retried for about a day.
MAIL_TIMEOUT = timedelta(seconds=120)
MAIL_GIVE_UP = timedelta(days=1)
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    maximum_attempts=50,
)
# Sealing renders, stamps and signs every document: minutes for a large envelope.
SEAL_TIMEOUT = timedelta(minutes=10)
SEAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    maximum_attempts=20,
)
TURNS_PER_RUN = 100

T = TypeVar("T")


@workflow.defn(name=WORKFLOW_NAME)
class EnvelopeWorkflow:
    def __init__(self) -> None:
        self._wake = False
        self._asked: RemindNow | None = None
        # This run sent the envelope to its outside provider (idempotent there: once a run).
        self._at_provider = False

    @workflow.run
    async def run(self, input: EnvelopeInput) -> EnvelopeResult:
        for _ in range(TURNS_PER_RUN):
            self._wake = False
            plan = await self._call(PLAN_ACTIVITY, input, EnvelopePlan)
            if plan.state == "resent":
                workflow.continue_as_new(input.model_copy(update={"send_round": plan.send_round}))
            if plan.state != "open":
                return await self._finish(input, plan)
            if await self._step(input, plan):
                continue
            now = workflow.now()
            wake_at = next_wake(now, plan.expires_at, plan.warning_at, plan.next_reminder_at)
            timeout = wake_at - now if wake_at is not None else None
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._wake, timeout=timeout)
        workflow.continue_as_new(input)

    async def _step(self, input: EnvelopeInput, plan: EnvelopePlan) -> bool:
        """One thing due now, done; False when nothing is (the workflow sleeps)."""
        now = workflow.now()
        builtin = plan.provider == BUILTIN
        if plan.expires_at is not None and now >= plan.expires_at:
            await self._call(EXPIRE_ACTIVITY, input, StepOutcome, mail=True)
        elif not builtin and not self._at_provider:
            await self._call(PROVIDER_SEND_ACTIVITY, input, StepOutcome, mail=True)
            self._at_provider = True
        elif builtin and plan.undelivered:
            await self._call(DELIVER_ACTIVITY, input, StepOutcome, mail=True)
        elif builtin and self._asked is not None:
            asked, self._asked = self._asked, None
            await self._remind(input, asked)
        elif plan.warning_at is not None and now >= plan.warning_at:
            await self._call(WARN_ACTIVITY, input, StepOutcome, mail=True)
        elif builtin and plan.next_reminder_at is not None and now >= plan.next_reminder_at:
            await self._remind(input, None)
        else:
            return False
        return True

    async def _finish(self, input: EnvelopeInput, plan: EnvelopePlan) -> EnvelopeResult:
        status = plan.status
        if plan.state == "voided":
            await self._call(VOID_ACTIVITY, input, StepOutcome, mail=True)
        elif plan.state == "declined":
            await self._call(DECLINE_ACTIVITY, input, StepOutcome, mail=True)
            status = "declined"
        elif plan.state == "signed":
            await self._call(SEAL_ACTIVITY, input, StepOutcome, seal=True)
            done = await self._call(COMPLETE_ACTIVITY, input, StepOutcome)
            if not done.done:
                # Voided between the last signature and the completion: the next plan says so.
                again = await self._call(PLAN_ACTIVITY, input, EnvelopePlan)
                return await self._finish(input, again)
            await self._call(COPIES_ACTIVITY, input, StepOutcome, mail=True)
            status = "completed"
        return EnvelopeResult(status=status, send_round=input.send_round)

    async def _remind(self, input: EnvelopeInput, asked: RemindNow | None) -> None:
        """The reminders due, or (``asked``) a staff "remind now" to everyone waiting."""
        step = RemindInput(
            **self._input(input).model_dump(),
            manual=asked is not None,
            requested_by=asked.requested_by if asked is not None else None,
        )
        await workflow.execute_activity(
            REMIND_ACTIVITY,
            step,
            result_type=StepOutcome,
            start_to_close_timeout=MAIL_TIMEOUT,
            schedule_to_close_timeout=MAIL_GIVE_UP,
            retry_policy=MAIL_RETRY,
        )

    def _input(self, input: EnvelopeInput) -> StepInput:
        return StepInput(
            firm_id=input.firm_id,
            envelope_id=input.envelope_id,
            send_round=input.send_round,
            at=workflow.now(),
        )

    async def _call(
        self,
        name: str,
        input: EnvelopeInput,
        result_type: type[T],
        *,
        mail: bool = False,
        seal: bool = False,
    ) -> T:
        if seal:
            timeout, give_up, retry = SEAL_TIMEOUT, None, SEAL_RETRY
        elif mail:
            timeout, give_up, retry = MAIL_TIMEOUT, MAIL_GIVE_UP, MAIL_RETRY
        else:
            timeout, give_up, retry = READ_TIMEOUT, None, READ_RETRY
        result: T = await workflow.execute_activity(
            name,
            self._input(input),
            result_type=result_type,
            start_to_close_timeout=timeout,
            schedule_to_close_timeout=give_up,
            retry_policy=retry,
        )
        return result

    @workflow.signal(name=RECIPIENT_SIGNAL)
    def recipient_changed(self, changed: RecipientChanged) -> None:
        self._wake = True

    @workflow.signal(name=CORRECTED_SIGNAL)
    def recipient_corrected(self, changed: RecipientChanged) -> None:
        self._wake = True

    @workflow.signal(name=VOID_SIGNAL)
    def voided(self, voided: Voided) -> None:
        self._wake = True

    @workflow.signal(name=REMIND_SIGNAL)
    def remind_now(self, asked: RemindNow) -> None:
        self._asked = asked
        self._wake = True

    @workflow.signal(name=RESENT_SIGNAL)
    def resent(self, resent: Resent) -> None:
        self._wake = True
