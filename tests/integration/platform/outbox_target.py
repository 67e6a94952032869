"""A workflow for the outbox tests to start and signal. It lives apart from the tests
because the workflow sandbox re-imports a workflow's module, which must stay light."""

from temporalio import workflow

from core.search_attributes import ProcessInput, StartAttributes


class TargetInput(ProcessInput):
    greeting: str

    def search_attributes(self) -> StartAttributes:
        return StartAttributes("outbox-test-target", None)


@workflow.defn
class TargetWorkflow:
    """Waits for "finish", then greets."""

    def __init__(self) -> None:
        self._name: str | None = None

    @workflow.run
    async def run(self, input: TargetInput) -> str:
        await workflow.wait_condition(lambda: self._name is not None)
        return f"{input.greeting} {self._name}"

    @workflow.signal
    def finish(self, name: str) -> None:
        self._name = name
