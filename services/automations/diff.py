"""What changed between two definitions: steps added, removed and changed (each change a
JSON pointer with the value before and after), and the trigger and start step."""

from typing import Any

from services.automations.validation import pointer

Change = dict[str, Any]


def _changes(before: Any, after: Any, path: tuple[str | int, ...]) -> list[Change]:
    """Leaf-level changes from ``before`` to ``after``: objects are compared member by
    member; lists and scalars are replaced as a whole when they differ (an index-wise
    list diff would report every later element after one insertion)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in before.keys() - after.keys():
            out.append({"op": "remove", "pointer": pointer(*path, key), "before": before[key]})
        for key in after.keys() - before.keys():
            out.append({"op": "add", "pointer": pointer(*path, key), "after": after[key]})
        for key in before.keys() & after.keys():
            out += _changes(before[key], after[key], (*path, key))
        return sorted(out, key=lambda change: str(change["pointer"]))
    # JSON equality: 1 == 1.0 is no change, but True == 1 would be one.
    if before == after and type(before) is type(after):
        return []
    return [{"op": "replace", "pointer": pointer(*path), "before": before, "after": after}]


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The difference between two definitions (already valid, so ``steps`` is an object)."""
    steps_before: dict[str, Any] = before.get("steps") or {}
    steps_after: dict[str, Any] = after.get("steps") or {}
    changed = []
    for step_id in sorted(steps_before.keys() & steps_after.keys()):
        changes = _changes(steps_before[step_id], steps_after[step_id], ("steps", step_id))
        if changes:
            where = pointer("steps", step_id)
            changed.append({"id": step_id, "pointer": where, "changes": changes})
    others = [
        change
        for key in sorted((before.keys() | after.keys()) - {"steps"})
        for change in _changes(
            {key: before[key]} if key in before else {},
            {key: after[key]} if key in after else {},
            (),
        )
    ]
    trigger_before, trigger_after = before.get("trigger"), after.get("trigger")
    return {
        "trigger": None
        if trigger_before == trigger_after
        else {"before": trigger_before, "after": trigger_after},
        "steps": {
            "added": [
                {"id": step_id, "pointer": pointer("steps", step_id)}
                for step_id in sorted(steps_after.keys() - steps_before.keys())
            ],
            "removed": [
                {"id": step_id, "pointer": pointer("steps", step_id)}
                for step_id in sorted(steps_before.keys() - steps_after.keys())
            ],
            "changed": changed,
        },
        # Changes outside the steps: trigger, start, schema_version.
        "changes": others,
    }
