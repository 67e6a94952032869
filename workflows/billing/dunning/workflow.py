"""DunningWorkflow: one per sent invoice (``dunning-<invoice id>``). It emails the invoice,
then sleeps until each step of the firm's dunning policy and carries it out, until the
invoice is paid, void or uncollectible, or every step is done.

Every turn starts with the plan activity, which re-reads the invoice, the pause flags and
the policy (services/billing/dunning.py holds the rules), so a signal never carries state:
payment received, pause changed and policy changed all just wake the workflow to plan
again. Which steps are done lives in Postgres (``dunning_reminders``) and in ``handled``,
carried across continue-as-new."""

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.billing.dunning.contracts import (
        NEXT_STEP_QUERY,
        PAUSE_CHANGED_SIGNAL,
        PAYMENT_RECEIVED_SIGNAL,
        PLAN_ACTIVITY,
        POLICY_CHANGED_SIGNAL,
        SEND_ACTIVITY,
        WORKFLOW_NAME,
        DunningInput,
        DunningResult,
        DunningState,
        NextStep,
        Plan,
        PlanInput,
        SendInput,
        SendOutcome,
        SendResult,
    )

PLAN_TIMEOUT = timedelta(seconds=30)
# Every attempt and back-off together: bounded explicitly, not by the server's ten years.
PLAN_GIVE_UP = timedelta(hours=1)
PLAN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=30,
)
# The send holds the invoice's row lock while the SMTP exchange runs (its own timeout is
# 10 s); a mail server down for hours is retried for about a day before the run fails.
SEND_TIMEOUT = timedelta(seconds=60)
SEND_GIVE_UP = timedelta(days=2)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    maximum_attempts=60,
)
DONE_OUTCOMES = (SendOutcome.sent, SendOutcome.escalated, SendOutcome.skipped, SendOutcome.already)


@workflow.defn(name=WORKFLOW_NAME)
class DunningWorkflow:
    def __init__(self) -> None:
        self._wake = False
        self._plan: Plan | None = None
        self._handled: list[str] = []

    @workflow.run
    async def run(self, input: DunningInput) -> DunningResult:
        self._handled = list(input.handled)
        for _ in range(input.turns_per_run):
            if workflow.info().is_continue_as_new_suggested():
                break
            self._wake = False
            plan = await workflow.execute_activity(
                PLAN_ACTIVITY,
                PlanInput(
                    firm_id=input.firm_id,
                    invoice_id=input.invoice_id,
                    handled=self._handled,
                    now=workflow.now(),
                ),
                result_type=Plan,
                start_to_close_timeout=PLAN_TIMEOUT,
                schedule_to_close_timeout=PLAN_GIVE_UP,
                retry_policy=PLAN_RETRY,
            )
            self._plan = plan
            if plan.state == DunningState.waiting:
                await workflow.wait_condition(lambda: self._wake)
                continue
            if plan.next is None:
                return DunningResult(state=plan.state, reason=plan.reason, handled=self._handled)
            delay = plan.next.at - workflow.now()
            if delay > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._wake, timeout=delay)
                # Plan again before sending: the invoice may have changed while asleep.
                continue
            result = await workflow.execute_activity(
                SEND_ACTIVITY,
                SendInput(
                    firm_id=input.firm_id,
                    invoice_id=input.invoice_id,
                    step=plan.next,
                    superseded=plan.superseded,
                    now=workflow.now(),
                ),
                result_type=SendResult,
                start_to_close_timeout=SEND_TIMEOUT,
                schedule_to_close_timeout=SEND_GIVE_UP,
                retry_policy=SEND_RETRY,
            )
            # Until the next plan the query shows no step rather than the one just done.
            self._plan = None
            if result.outcome in DONE_OUTCOMES:
                self._handled = [*self._handled, *plan.superseded, plan.next.key]
            if result.closed:
                return DunningResult(
                    state=DunningState.closed, reason="closed at send", handled=self._handled
                )
        workflow.continue_as_new(
            DunningInput(
                firm_id=input.firm_id,
                invoice_id=input.invoice_id,
                handled=self._handled,
                turns_per_run=input.turns_per_run,
            )
        )

    def _poke(self) -> None:
        self._wake = True

    @workflow.signal(name=PAYMENT_RECEIVED_SIGNAL)
    def payment_received(self) -> None:
        self._poke()

    @workflow.signal(name=PAUSE_CHANGED_SIGNAL)
    def pause_changed(self) -> None:
        self._poke()

    @workflow.signal(name=POLICY_CHANGED_SIGNAL)
    def policy_changed(self) -> None:
        self._poke()

    @workflow.query(name=NEXT_STEP_QUERY)
    def next_step(self) -> NextStep:
        plan = self._plan
        if plan is None:
            return NextStep(state=DunningState.scheduled, handled=self._handled)
        step = plan.next
        return NextStep(
            state=plan.state,
            reason=plan.reason,
            step_key=step.key if step else None,
            at=step.at if step else None,
            local_at=step.local_at if step else None,
            paused=plan.state == DunningState.waiting and plan.reason.startswith("paused"),
            handled=self._handled,
            policy_version=plan.policy_version,
        )
