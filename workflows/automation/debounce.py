"""Debounce: one workflow per automation and key collects triggers (part E builds it)."""

from temporalio import workflow

DEBOUNCE_WORKFLOW = "AutomationDebounceWorkflow"


@workflow.defn(name=DEBOUNCE_WORKFLOW)
class AutomationDebounceWorkflow:
    @workflow.run
    async def run(self, input: dict[str, object]) -> None:
        raise NotImplementedError
