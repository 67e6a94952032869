"""Every workflow the worker runs."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.automation.debounce.workflow import AutomationDebounceWorkflow
from workflows.automation.run.foreach.workflow import AutomationForeachWorkflow
from workflows.automation.run.workflow import AutomationRunWorkflow
from workflows.automation.schedule.workflow import AutomationScheduleWorkflow
from workflows.billing.dunning.workflow import DunningWorkflow
from workflows.billing.invoice_pdf.workflow import InvoicePdfWorkflow
from workflows.billing.payment_retry.workflow import PaymentRetryWorkflow
from workflows.billing.recurring.workflow import RecurringInvoiceWorkflow
from workflows.billing.stripe_event.workflow import StripeEventWorkflow
from workflows.clients.client_import.workflow import ClientImportWorkflow
from workflows.documents.retention.workflow import RetentionSweepWorkflow
from workflows.documents.review.workflow import DocumentReviewWorkflow
from workflows.documents.text.workflow import DocumentTextWorkflow
from workflows.esignature.envelope.workflow import EnvelopeWorkflow
from workflows.outbox.relay.workflow import OutboxRelayWorkflow

WORKFLOWS: list[type] = [
    AutomationDebounceWorkflow,
    AutomationForeachWorkflow,
    AutomationRunWorkflow,
    AutomationScheduleWorkflow,
    ClientImportWorkflow,
    DocumentTextWorkflow,
    DocumentReviewWorkflow,
    DunningWorkflow,
    EnvelopeWorkflow,
    InvoicePdfWorkflow,
    OutboxRelayWorkflow,
    PaymentRetryWorkflow,
    RecurringInvoiceWorkflow,
    RetentionSweepWorkflow,
    StripeEventWorkflow,
]

# What the worker's sandbox shares with the host instead of importing afresh for every run.
# Re-importing firmflow's workflow-side modules (the interpreter, its steps, the waits, every
# process's contracts and the definition's pydantic models) cost about 50 ms of CPU per
# automation run, more than the rest of its workflow code together. They keep no state that
# affects results (the expression compile cache only saves work). The module of the
# workflow being run is still imported afresh in each run (the SDK insists), and the
# sandbox's checks on builtins (open, input ...) apply to shared code too. What sharing
# gives up is the per-module proxy that refuses ``datetime.now``, ``random`` or ``uuid4``
# in the shared modules, so ``strict`` keeps every firmflow module inside the sandbox: the
# replay tests replay every saved history that way, and tests/unit/test_workflow_sandbox.py
# shows a nondeterministic call failing the workflow task under both runners.
PASSTHROUGH_MODULES = ("jinja2", "markupsafe")
SHARED_FIRMFLOW_MODULES = ("core.search_attributes", "pure", "workflows")


def workflow_runner(*, strict: bool = False) -> SandboxedWorkflowRunner:
    """The sandbox every worker runs the workflows in (it stays on; see DESIGN §5)."""
    shared = PASSTHROUGH_MODULES if strict else PASSTHROUGH_MODULES + SHARED_FIRMFLOW_MODULES
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*shared)
    )
