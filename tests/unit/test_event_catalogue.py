"""The event catalogue stays true: every event it promises is emitted somewhere in
services/ with its key field, names are reserved by namespace, and docs/automations.md
lists exactly the catalogue."""

import ast
from collections.abc import Iterator
from pathlib import Path

from pure.event_catalogue import (
    CATALOGUE,
    CUSTOM_KEY_FIELD,
    is_reserved,
    key_field,
    run_source,
)

ROOT = Path(__file__).resolve().parents[2]
_OUTBOX_EVENT = "outbox.event"
# outbox.event(name, dedupe_key, **data)
_BASE = (["name", "dedupe_key"], "name", frozenset[str]())


def catalogue_table() -> str:
    """The table docs/automations.md carries (generated here, compared below)."""
    rows = [f"| `{e.name}` | `{e.key_field}` | {e.description} |" for e in CATALOGUE.values()]
    return "\n".join(["| event | key field | when |", "|---|---|---|", *rows])


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and (func.value.id, func.attr) == ("outbox", "event")
    ):
        return _OUTBOX_EVENT
    return func.id if isinstance(func, ast.Name) else None


def _name_arg(call: ast.Call, params: list[str], name_param: str) -> ast.expr | None:
    index = params.index(name_param)
    if len(call.args) > index and not isinstance(call.args[index], ast.Starred):
        return call.args[index]
    return next((kw.value for kw in call.keywords if kw.arg == name_param), None)


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    return (call for call in ast.walk(node) if isinstance(call, ast.Call))


def emitted_events() -> dict[str, set[str]]:
    """Event name → the data fields it is emitted with, for every ``outbox.event`` call in
    services/ whose name is a literal, directly or through a module's helper functions
    that pass their own parameter on as the name (invoices' ``_event`` and ``_move``)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "services").rglob("*.py")):
        tree = ast.parse(path.read_text())
        emitters: dict[str, tuple[list[str], str, frozenset[str]]] = {_OUTBOX_EVENT: _BASE}
        grew = True
        while grew:
            grew = False
            for function in _functions(tree):
                params = [a.arg for a in function.args.args + function.args.kwonlyargs]
                if function.name in emitters:
                    continue
                for call in _calls(function):
                    emitter = emitters.get(_callee(call) or "")
                    if emitter is None:
                        continue
                    arg = _name_arg(call, emitter[0], emitter[1])
                    if isinstance(arg, ast.Name) and arg.id in params:
                        fields = emitter[2] | {kw.arg for kw in call.keywords if kw.arg}
                        emitters[function.name] = (params, arg.id, frozenset(fields))
                        grew = True
                        break
        for call in _calls(tree):
            emitter = emitters.get(_callee(call) or "")
            if emitter is None:
                continue
            arg = _name_arg(call, emitter[0], emitter[1])
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                fields = emitter[2] | {kw.arg for kw in call.keywords if kw.arg}
                found.setdefault(arg.value, set()).update(fields)
    return found


def test_every_catalogued_event_is_emitted_with_its_key_field() -> None:
    emitted = emitted_events()
    for event in CATALOGUE.values():
        assert event.name in emitted, f"{event.name} is catalogued but never emitted"
        assert event.key_field in emitted[event.name], (event.name, sorted(emitted[event.name]))


def test_every_event_in_firmflows_namespaces_is_catalogued() -> None:
    # Else an automation could neither trigger on it nor wait for it, and the docs miss it.
    emitted = emitted_events()
    uncatalogued = sorted(name for name in emitted if is_reserved(name) and name not in CATALOGUE)
    assert uncatalogued == []


def test_the_scan_sees_helpers_and_direct_calls() -> None:
    emitted = emitted_events()
    # Through invoices' _move → _event helpers, and one straight outbox.event call.
    assert {"invoice_id", "client_id", "number"} <= emitted["invoice.voided"]
    assert {"client_id", "fields", "changes", "source"} <= emitted["client.updated"]


def test_reserved_namespaces_and_key_fields() -> None:
    assert is_reserved("invoice.paid") and is_reserved("invoice.anything_new")
    assert is_reserved("client.chased") and is_reserved("credit_note.voided")
    assert not is_reserved("custom.signed") and not is_reserved("contract.signed")
    assert key_field("client.updated") == "client_id"
    assert key_field("invoice.paid") == "invoice_id"
    assert key_field("contract.signed") == CUSTOM_KEY_FIELD == "key"


def test_a_run_is_named_as_the_source_only_for_an_automations_action() -> None:
    run_id = "0b6f7a52-52fe-4a3c-9c7d-7a4f3f2b8e11"
    assert run_source(f"automation-run-{run_id}") == {"run_id": run_id}
    assert run_source("req-123") is None
    assert run_source(None) is None


def test_the_docs_list_exactly_the_catalogue() -> None:
    text = (ROOT / "docs" / "automations.md").read_text()
    assert catalogue_table() in text
