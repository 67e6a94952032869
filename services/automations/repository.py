"""The firm-scoped repositories of the automation domain, in a leaf module so that the
services of automations, versions and runs share them without importing one
another."""

from models import (
    Automation,
    AutomationRun,
    AutomationRunStep,
    AutomationVersion,
    InboundWebhook,
)
from services.repository import FirmScoped

AUTOMATIONS = FirmScoped(Automation, "automation")
VERSIONS = FirmScoped(AutomationVersion, "automation version")
RUNS = FirmScoped(AutomationRun, "automation run")
RUN_STEPS = FirmScoped(AutomationRunStep, "automation run step")
INBOUND_WEBHOOKS = FirmScoped(InboundWebhook, "inbound webhook")
