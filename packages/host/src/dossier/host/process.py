"""One entry point for every Dossier process (进程): intake, approvals, retention, the
gateway, the branch edge and the edge inbox.

    dossier-run intake --config dossier-data/dossier.toml
    dossier-run --list

Each process declares a `Process` (its name and the coroutine that runs it
from the configuration) under the entry-point group ``dossier.processes``;
its own console script (``dossier-intake`` …) is the same `Process.main`. So
every process reads its configuration the same way (a bad file is one line
per problem, exit 2), logs through the allow-list logger
(`dossier.messaging.logs`), and stops on SIGTERM or SIGINT by letting what is
in flight finish (`until_stopped`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from attrs import frozen

from dossier.core.errors import ValidationError
from dossier.host.config import Config, load_config
from dossier.messaging.logs import configure_logging

GROUP = "dossier.processes"

PRIVATE = 0o077
"""The umask of every Dossier process: what it creates — the data folder, the SQLite database,
logs, object folders, keys — is its owner's alone (folders 0700, files 0600)."""


def private_files() -> None:
    """From now on this process (and what it starts) creates files for its owner only."""
    os.umask(PRIVATE)


Start = Callable[[Path, Config], Coroutine[Any, Any, None]]
"""Runs a process from its configuration file (and the file's path, for sections of its own)
until `until_stopped` returns."""


@frozen
class Process:
    name: str
    description: str
    start: Start

    def main(self, argv: Sequence[str] | None = None) -> None:
        """``--config FILE``: configure logging, read the file, run until SIGTERM/SIGINT."""
        parser = argparse.ArgumentParser(prog=f"dossier-{self.name}", description=self.description)
        parser.add_argument("--config", type=Path, required=True)
        args = parser.parse_args(argv)
        private_files()
        configure_logging(self.name)
        try:
            config = load_config(args.config)
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(self.start(args.config, config))
        except ValidationError as invalid:  # the file, or the process's own section of it
            for problem in invalid.problems():
                print(f"{args.config}: {problem.field}: {problem.rule}", file=sys.stderr)
            raise SystemExit(2) from None


async def until_stopped(name: str) -> None:
    """Say the process is ready, then wait for SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    print(f"dossier-{name} ready", flush=True)
    await stopping.wait()


def processes() -> dict[str, Process]:
    """Every installed process, by name (entry points ``dossier.processes``)."""
    found: dict[str, Process] = {}
    for entry in entry_points(group=GROUP):
        process = entry.load()
        if isinstance(process, Process):
            found[entry.name] = process
    return found


def main(argv: Sequence[str] | None = None) -> None:
    """``dossier-run NAME --config FILE``, or ``dossier-run --list``."""
    given = list(sys.argv[1:] if argv is None else argv)
    known = processes()
    if not given or given[0] in ("--list", "-h", "--help"):
        print("dossier-run NAME --config FILE, where NAME is one of:")
        for name in sorted(known):
            print(f"  {name:12} {known[name].description}")
        raise SystemExit(0 if given[:1] == ["--list"] else 2)
    process = known.get(given[0])
    if process is None:
        raise SystemExit(f"dossier-run: no process {given[0]!r} (dossier-run --list)")
    process.main(given[1:])
