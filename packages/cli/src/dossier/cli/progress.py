"""A progress bar on the terminal for the CLI's long jobs (backup, verify, restore, review run).

`TerminalProgress` is a `dossier.core.progress.ProgressSink`: one click
progress bar per stage on stderr (with the stage's total when the job knows
it, a moving marker when it does not). It draws only for a person at a
terminal: when stderr is not a terminal, or the command prints ``--json``, it
shows nothing at all.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TextIO

import click

from dossier.core.progress import Reported

LABELS = {
    "rows": "rows     ",
    "objects": "documents",
    "parts": "parts    ",
    "dossiers": "dossiers ",
    "ledger": "ledger   ",
}


def interactive(as_json: bool = False, file: TextIO | None = None) -> bool:
    """Whether to draw: stderr is a terminal and the output is not for a script."""
    return not as_json and (file or sys.stderr).isatty()


def _unsized() -> Iterator[None]:
    """An iterable without a length: click then draws a bar of unknown length."""
    yield from ()


class TerminalProgress:
    """Draws each stage's bar on ``file`` (stderr); use as a context manager, or `close`."""

    def __init__(self, *, enabled: bool, file: TextIO | None = None) -> None:
        self.enabled = enabled
        self.file = file or sys.stderr
        self._bar: Any = None
        self._stage: str | None = None
        self._total: int | None = None
        self._pos = 0

    def __call__(self, progress: Reported) -> None:
        if not self.enabled:
            return
        if progress.stage != self._stage or progress.total != self._total:
            self._open(progress)
        step = progress.done - self._pos
        if step > 0:
            self._bar.update(step)
            self._pos = progress.done

    def _open(self, progress: Reported) -> None:
        self.close()
        self._stage, self._total, self._pos = progress.stage, progress.total, 0
        self._bar = click.progressbar(
            _unsized() if progress.total is None else None,
            length=progress.total,
            label=LABELS.get(progress.stage, progress.stage),
            file=self.file,
            show_pos=True,
            show_eta=progress.total is not None,
        )
        self._bar.__enter__()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
