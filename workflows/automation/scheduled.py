"""The workflow an automation's Temporal Schedule starts at each fire (part D builds it)."""

from temporalio import workflow

SCHEDULED_WORKFLOW = "AutomationScheduleWorkflow"


@workflow.defn(name=SCHEDULED_WORKFLOW)
class AutomationScheduleWorkflow:
    @workflow.run
    async def run(self, input: dict[str, object]) -> None:
        raise NotImplementedError
