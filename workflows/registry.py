"""Every workflow the worker runs."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.automation.debounce.workflow import AutomationDebounceWorkflow
from workflows.automation.run.foreach.workflow import AutomationForeachWorkflow
from workflows.automation.run.workflow import AutomationRunWorkflow
from workflows.automation.schedule.workflow import AutomationScheduleWorkflow
from workflows.billing.dunning.workflow import DunningWorkflow
from workflows.billing.payment_retry.workflow import PaymentRetryWorkflow
from workflows.billing.recurring.workflow import RecurringInvoiceWorkflow
from workflows.billing.stripe_event.workflow import StripeEventWorkflow
from workflows.clients.client_import.workflow import ClientImportWorkflow
from workflows.outbox.relay.workflow import OutboxRelayWorkflow

WORKFLOWS: list[type] = [
    AutomationDebounceWorkflow,
    AutomationForeachWorkflow,
    AutomationRunWorkflow,
    AutomationScheduleWorkflow,
    ClientImportWorkflow,
    DunningWorkflow,
    OutboxRelayWorkflow,
    PaymentRetryWorkflow,
    RecurringInvoiceWorkflow,
    StripeEventWorkflow,
]

# Pure modules the workflows use (every process's contracts among them), shared with the
# host rather than imported afresh in each run's sandbox: building the definition's pydantic
# models per run cost more than the rest of a run's workflow code together. They do no I/O
# and keep no state that affects results (the expression compile cache only saves work), so
# sharing them cannot break determinism.
PASSTHROUGH_MODULES = (
    "core.search_attributes",
    "jinja2",
    "markupsafe",
    "pure.expressions",
    "workflows.automation.debounce.contracts",
    "workflows.automation.definition",
    "workflows.automation.definition.base",
    "workflows.automation.definition.params",
    "workflows.automation.definition.steps",
    "workflows.automation.definition.triggers",
    "workflows.automation.run.foreach.contracts",
    "workflows.automation.run.contracts",
    "workflows.automation.run.state",
    "workflows.automation.run.until",
    "workflows.automation.schedule.contracts",
    "workflows.billing.dunning.contracts",
    "workflows.billing.payment_retry.contracts",
    "workflows.billing.recurring.contracts",
    "workflows.billing.stripe_event.contracts",
    "workflows.clients.client_import.contracts",
    "workflows.outbox.relay.contracts",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox every worker runs the workflows in (it stays on; see DESIGN §5)."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )
