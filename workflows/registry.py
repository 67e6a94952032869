"""Every workflow the worker runs."""

from workflows.automation.run import AutomationRunWorkflow
from workflows.client_import import ClientImportWorkflow
from workflows.outbox_relay import OutboxRelayWorkflow

WORKFLOWS: list[type] = [AutomationRunWorkflow, ClientImportWorkflow, OutboxRelayWorkflow]
