"""The automations domain's outbox handlers: events start and wake runs, schedule syncs
reconcile an automation's Temporal Schedule. Whatever dispatches the outbox (the API and
the worker) registers them once at start; the dispatcher itself names no domain."""

from services.automations import event_delivery, schedules
from services.outbox.kinds import MessageKind
from services.outbox.registry import register


def register_outbox_handlers() -> None:
    register(MessageKind.event, event_delivery.deliver)
    register(MessageKind.sync_schedule, schedules.sync)
