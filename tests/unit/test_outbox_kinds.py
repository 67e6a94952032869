"""Outbox message kinds: their stored strings never change (rows written before a deploy
are carried out after it), and each has someone to carry it out: the dispatcher itself for
the workflow kinds, a handler its domain registered for the others."""

from services.automations.outbox_handlers import register_outbox_handlers
from services.outbox.kinds import MessageKind
from services.outbox.registry import handler_for

WORKFLOW_KINDS = {
    MessageKind.start_workflow,
    MessageKind.signal_workflow,
    MessageKind.signal_with_start,
}


def test_the_stored_strings_stay_the_same() -> None:
    assert {kind.value for kind in MessageKind} == {
        "start_workflow",
        "signal_workflow",
        "signal_with_start",
        "event",
        "sync_schedule",
    }


def test_every_domain_kind_has_a_registered_handler() -> None:
    register_outbox_handlers()
    assert all(callable(handler_for(kind)) for kind in set(MessageKind) - WORKFLOW_KINDS)
