"""What an outbox message asks for. The values are stored in ``outbox.kind`` by rows that
may wait for the relay across a deploy, so they never change."""

import enum


class MessageKind(enum.StrEnum):
    start_workflow = "start_workflow"
    signal_workflow = "signal_workflow"
    signal_with_start = "signal_with_start"
    # A domain event, delivered to the automations of its firm (a registered handler).
    event = "event"
    # Make an automation's Temporal Schedule match it (a registered handler).
    sync_schedule = "sync_schedule"
