"""Docs that must stay true as the code changes."""

import re
from pathlib import Path

from core.db import SystemPurpose

ROOT = Path(__file__).resolve().parents[2]


def test_every_cross_firm_purpose_is_documented() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("### Cross-firm paths", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))
    assert documented == {purpose.value for purpose in SystemPurpose}


def test_every_cross_firm_purpose_is_used_where_documented() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    for purpose, where in re.findall(r"^\| `(\w+)` \| `([\w/]+)", text, re.MULTILINE):
        module = ROOT / f"{where.split('.')[0]}.py"
        assert f"SystemPurpose.{purpose}" in module.read_text(), (purpose, module)
