"""Every workflow the worker runs."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.automation.debounce import AutomationDebounceWorkflow
from workflows.automation.foreach import AutomationForeachWorkflow
from workflows.automation.run import AutomationRunWorkflow
from workflows.automation.scheduled import AutomationScheduleWorkflow
from workflows.billing.dunning import DunningWorkflow
from workflows.billing.payment_retry import PaymentRetryWorkflow
from workflows.billing.recurring import RecurringInvoiceWorkflow
from workflows.billing.stripe_event import StripeEventWorkflow
from workflows.client_import import ClientImportWorkflow
from workflows.outbox_relay import OutboxRelayWorkflow

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

# Pure modules the workflows use, shared with the host rather than imported afresh in each
# run's sandbox: building the definition's pydantic models per run cost more than the rest
# of a run's workflow code together. They do no I/O and keep no state that affects results
# (the expression compile cache only saves work), so sharing them cannot break determinism.
PASSTHROUGH_MODULES = (
    "core.search_attributes",
    "jinja2",
    "markupsafe",
    "services.expressions",
    "workflows.automation.contracts",
    "workflows.automation.definition",
    "workflows.automation.definition_base",
    "workflows.automation.definition_params",
    "workflows.automation.definition_steps",
    "workflows.automation.definition_triggers",
    "workflows.automation.foreach_contracts",
    "workflows.automation.state",
    "workflows.automation.until",
    "workflows.billing.dunning_contracts",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox every worker runs the workflows in (it stays on; see DESIGN §5)."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )
