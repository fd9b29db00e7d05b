"""The CLI's progress bar: drawn per stage on a terminal, nothing otherwise."""

from __future__ import annotations

import io

from dossier.cli.progress import TerminalProgress, interactive
from dossier.core.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_per_stage_on_a_terminal() -> None:
    screen = Terminal()
    with TerminalProgress(enabled=interactive(file=screen), file=screen) as bar:
        for done in (0, 50, 100):
            bar(Progress("rows", done, 100))
        bar(Progress("objects", 3))
    drawn = screen.getvalue()
    assert "rows" in drawn
    assert "100/100" in drawn
    assert "documents" in drawn


def test_nothing_for_scripts_or_pipes() -> None:
    pipe = io.StringIO()
    assert not interactive(file=pipe)
    assert not interactive(as_json=True, file=Terminal())
    with TerminalProgress(enabled=interactive(file=pipe), file=pipe) as bar:
        bar(Progress("rows", 5, 10))
    assert pipe.getvalue() == ""
