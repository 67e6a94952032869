"""A process's registrations that nothing else catches: every workflow-side module shared with
the worker's sandbox (a forgotten one is only slower) and none with the strict one the replay
tests use, and every activity a contracts module
names registered with the worker (a forgotten one only shows as a workflow timing out)."""

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import get_args

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client

from activities import build_activities
from core.config import Settings
from workflows.automation.definition.steps import ActionStep
from workflows.automation.run.contracts import action_activity
from workflows.registry import workflow_runner

ROOT = Path(__file__).resolve().parents[3]


def contracts_modules() -> Iterator[ModuleType]:
    for path in sorted((ROOT / "workflows").rglob("contracts.py")):
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        yield importlib.import_module(dotted)


def workflow_side_modules() -> Iterator[str]:
    for package in ("workflows", "pure"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_workflow_side_module_is_shared_by_the_worker_and_none_by_the_strict_sandbox() -> (
    None
):
    modules = list(workflow_side_modules())
    assert len(modules) >= 40  # the search finds the modules there are
    worker = workflow_runner().restrictions.passthrough_modules
    strict = workflow_runner(strict=True).restrictions.passthrough_modules
    assert [name for name in modules if not _shared(name, worker)] == []
    assert [name for name in modules if _shared(name, strict)] == []


def _shared(module: str, passthrough: set[str]) -> bool:
    """What the sandbox does: a module is passed through when it or a parent is listed."""
    parts = module.split(".")
    return any(".".join(parts[:end]) in passthrough for end in range(1, len(parts) + 1))


async def _no_client() -> Client:
    raise AssertionError("building the activities must not connect to Temporal")


def test_every_activity_a_process_names_is_registered_with_the_worker(settings: Settings) -> None:
    registered = {
        getattr(function, "__temporal_activity_definition").name
        for function in build_activities(settings, async_sessionmaker(), _no_client)
    }
    named = {
        value
        for module in contracts_modules()
        for name, value in vars(module).items()
        if name.endswith("_ACTIVITY") and isinstance(value, str)
    }
    actions = {
        action_activity(get_args(step.model_fields["type"].annotation)[0])
        for step in get_args(ActionStep)
    }
    assert len(named) >= 16
    assert sorted((named | actions) - registered) == []
