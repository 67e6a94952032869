import pytest

from services.automations.outbox_handlers import register_outbox_handlers

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.temporal",
    "tests.fixtures.firms",
    "tests.fixtures.servers",
    "tests.fixtures.workers",
]


@pytest.fixture(scope="session", autouse=True)
def _outbox_handlers() -> None:
    """Tests that call the outbox dispatcher directly find the domains' handlers, as the
    API and the worker do (they register them at start)."""
    register_outbox_handlers()
