"""Rewrite the rules table of docs/errors.md from the message catalogue of the shipped plugins.

.venv/bin/python scripts/errors_doc.py
"""

from __future__ import annotations

from pathlib import Path

import dossier.core.rules.hongkong as hongkong
from dossier.core.branch import Branch
from dossier.core.enums import Locale
from dossier.core.plugins import PluginHost

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
HEADER = "| rule | en | zh-CN |\n|---|---|---|\n"


def rules_table() -> str:
    branch = Branch(code="HK01", name="Hong Kong", plugins=("hongkong",))
    catalogue = PluginHost({"hongkong": hongkong}).rules_for(branch).catalogue
    rows = []
    for rule in sorted(catalogue.templates):
        if rule.startswith(("term.", "field.")):
            continue
        texts = catalogue.templates[rule]
        en, zh = (texts.get(loc, "").replace("|", "/") for loc in (Locale.EN, Locale.ZH_CN))
        rows.append(f"| `{rule}` | {en} | {zh} |\n")
    return HEADER + "".join(rows)


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    DOC.write_text(text[: text.index(HEADER)] + rules_table(), encoding="utf-8")


if __name__ == "__main__":
    main()
