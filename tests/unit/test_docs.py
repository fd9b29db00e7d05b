"""The documentation names every error code and rule the code can produce."""

from __future__ import annotations

from pathlib import Path

import dossier.core.rules.hongkong as hongkong
from dossier.core.branch import Branch
from dossier.core.plugins import PluginHost
from dossier.messaging.replies import STATUS_BY_CODE

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_error_code_is_documented_with_its_status() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    for code, status in STATUS_BY_CODE.items():
        assert f"| `{code}` | {status} |" in text, f"docs/errors.md lacks {code} ({status})"


def test_every_rule_of_the_shipped_plugins_is_documented() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    branch = Branch(code="HK01", name="Hong Kong", plugins=("hongkong",))
    catalogue = PluginHost({"hongkong": hongkong}).rules_for(branch).catalogue
    missing = [
        rule
        for rule in catalogue.templates
        if not rule.startswith("term.") and f"`{rule}`" not in text
    ]
    assert missing == []
