"""A process's registrations that nothing else catches: every ``contracts.py`` shared with
the workflow sandbox (a forgotten one is only slower), and every activity a contracts module
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
from workflows.registry import PASSTHROUGH_MODULES

ROOT = Path(__file__).resolve().parents[3]


def contracts_modules() -> Iterator[ModuleType]:
    for path in sorted((ROOT / "workflows").rglob("contracts.py")):
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        yield importlib.import_module(dotted)


def test_every_contracts_module_is_passed_through_the_sandbox() -> None:
    modules = [module.__name__ for module in contracts_modules()]
    assert len(modules) >= 10  # the search finds the processes there are
    assert [name for name in modules if name not in PASSTHROUGH_MODULES] == []


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
