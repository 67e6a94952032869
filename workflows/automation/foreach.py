"""The foreach step: runs its body once per item in a child workflow (part F builds it)."""

from temporalio import workflow

FOREACH_WORKFLOW = "AutomationForeachWorkflow"


@workflow.defn(name=FOREACH_WORKFLOW)
class AutomationForeachWorkflow:
    @workflow.run
    async def run(self, input: dict[str, object]) -> None:
        raise NotImplementedError
