"""Every workflow the worker runs."""

from workflows.client_import import ClientImportWorkflow
from workflows.outbox_relay import OutboxRelayWorkflow

WORKFLOWS: list[type] = [ClientImportWorkflow, OutboxRelayWorkflow]

__all__ = ["WORKFLOWS", "ClientImportWorkflow", "OutboxRelayWorkflow"]
