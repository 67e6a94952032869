import pytest

from services.automations.outbox_handlers import register_outbox_handlers

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.temporal",
    "tests.fixtures.firms",
    "tests.fixtures.servers",
    "tests.fixtures.storage",
    "tests.fixtures.workers",
]


@pytest.fixture(scope="session", autouse=True)
def _outbox_handlers() -> None:
    """Tests that call the outbox dispatcher directly find the domains' handlers, as the
    API and the worker do (they register them at start)."""
    register_outbox_handlers()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``pytest -n N --dist loadgroup`` (``make test``), the end-to-end tests run one
    after another on one worker: each starts worker processes (or the whole launcher) under
    a deadline, and side by side they starve each other of the CPU. The tests of a module
    that uses a module-scoped fixture (a time-skipping Temporal server, generated SAML keys,
    …) run on one worker, so the fixture is built once. Every other test is scheduled on its
    own, which keeps the workers evenly loaded."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("e2e") is not None:
            item.add_marker(pytest.mark.xdist_group("e2e"))
        elif isinstance(item, pytest.Function) and uses_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def uses_module_fixture(item: pytest.Function) -> bool:
    definitions = item._fixtureinfo.name2fixturedefs.values()
    return any(fixture.scope == "module" for chain in definitions for fixture in chain)
