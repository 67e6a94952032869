"""The browser suite: Playwright (web/e2e) driving Debian's Chromium against the whole
platform (tests/browser/stack.py). One pytest test runs every spec, so `make web-e2e`
reports it as pytest reports the rest; a failing spec fails it with Playwright's report."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.stack import WebStack, running_stack
from tests.launched import ROOT

pytestmark = pytest.mark.browser

WEB = ROOT / "web"
CHROMIUM = Path(os.environ.get("FIRMFLOW_CHROMIUM", "/usr/bin/chromium"))
# The whole suite's bound; Playwright's own per-test timeouts fire long before.
SUITE_SECONDS = 600


@pytest.fixture(scope="module")
def stack() -> Iterator[WebStack]:
    with running_stack(Path(os.environ.get("FIRMFLOW_WEB_DIST", WEB / "dist"))) as running:
        yield running


def test_every_playwright_spec_passes(stack: WebStack) -> None:
    npx = shutil.which("npx")
    assert npx is not None, "npx is missing: install Debian's npm (make web-deps does)"
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: install Debian's chromium"
    env = {**os.environ, **stack.env(), "FIRMFLOW_CHROMIUM": str(CHROMIUM)}
    # `make screenshots` names its own config: its capture file is no spec of the suite.
    config = os.environ.get("FIRMFLOW_PLAYWRIGHT_CONFIG", "playwright.config.ts")
    ran = subprocess.run(
        [
            npx,
            "playwright",
            "test",
            "--config",
            config,
            *os.environ.get("FIRMFLOW_SPECS", "").split(),
        ],
        cwd=WEB,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SUITE_SECONDS,
        check=False,
    )
    print(ran.stdout[-20000:])
    assert ran.returncode == 0, f"Playwright failed:\n{ran.stdout[-20000:]}\n{ran.stderr[-5000:]}"
