"""The baseline of bench/automation_throughput.py: the work of its automation written by hand
as a plain Temporal user would write it. Three GETs to the loopback server as local
activities, the same checks and sums as the automation's control steps in plain Python, and
one row in Postgres recording the run (a local activity too). No firmflow code: the
workflow runs in the SDK's default sandbox, its values go through the default data
converter, and its activities live in bench/handwritten_worker.py (named here by string, so
this module, which the sandbox re-imports for every run, imports nothing but the SDK)."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

WORKFLOW_NAME = "HandwrittenThreeCalls"
HTTP_GET = "handwritten_http_get"
RECORD_RUN = "handwritten_record_run"
TIMEOUT = timedelta(seconds=10)
RETRY = RetryPolicy(maximum_attempts=3)


@dataclass(frozen=True)
class CallsInput:
    base_url: str
    n: int


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class RunRecord:
    workflow_id: str
    n: int
    total: int


@workflow.defn(name=WORKFLOW_NAME)
class HandwrittenThreeCalls:
    @workflow.run
    async def run(self, params: CallsInput) -> int:
        if params.n < 0:
            raise ApplicationError("n must not be negative", non_retryable=True)
        first = await self._get(params, "one")
        if first.status != 200:
            raise ApplicationError("the first call failed", non_retryable=True)
        second = await self._get(params, "two")
        if second.body.get("kind") != "ok":
            raise ApplicationError("the second call answered another kind", non_retryable=True)
        subtotal = first.body["amount"] + second.body["amount"]
        third = await self._get(params, "three")
        if third.status != 200:
            raise ApplicationError("the third call failed", non_retryable=True)
        total: int = subtotal + third.body["amount"]
        record = RunRecord(workflow_id=workflow.info().workflow_id, n=params.n, total=total)
        await workflow.execute_local_activity(
            RECORD_RUN, record, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        return total

    async def _get(self, params: CallsInput, path: str) -> HttpResponse:
        response: HttpResponse = await workflow.execute_local_activity(
            HTTP_GET,
            f"{params.base_url}/{path}?n={params.n}",
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
            result_type=HttpResponse,
        )
        return response
