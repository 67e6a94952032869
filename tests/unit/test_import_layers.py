"""The layering of DESIGN §2 holds: the import-linter contracts in pyproject.toml
([tool.importlinter]) pass. They fail on an upward import (core reaching into models, a
workflow importing a service, a provider importing the domain), on workflow code imported
outside workflows/, and on any import cycle between the modules or subpackages of one
package."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept() -> None:
    # The packages of this tree, not whichever copy an editable install points at.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
