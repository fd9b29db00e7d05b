"""Progress of the long jobs (backup, verify, restore, quarterly review): one sink type for all.

A job calls its ``progress`` sink with a `Progress` — the stage it is in, how
much of the stage is done and, when known, the stage's total — as often as it
likes; the sink decides what to show or send and how often (a progress bar on
a terminal, events on NATS, nothing). A sink must be cheap and must not fail
the job: the jobs call it in their own thread, between units of work.

Stages, in order (``done`` counts up within a stage; ``total`` is None when unknown):

- backup create: ``rows`` (table rows written, of the snapshot's), ``objects`` (documents);
- backup verify: ``parts`` (parts checked, of the manifest's);
- backup restore: ``rows`` (rows loaded, of the backup's), ``objects`` (documents written,
  of the chain's), ``ledger`` (replaying the destruction ledger);
- review run: ``dossiers`` (dossiers reviewed, of the branch's).

Nothing personal is ever in a `Progress`: stage names and counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from attrs import frozen


@frozen
class Progress:
    stage: str
    done: int
    total: int | None = None


class Reported(Protocol):
    """What a sink hears: `Progress`, or a job's own record with the same three properties
    (an import's `ImportProgress`)."""

    @property
    def stage(self) -> str: ...

    @property
    def done(self) -> int: ...

    @property
    def total(self) -> int | None: ...


ProgressSink = Callable[[Reported], None]


def quiet(_: Reported) -> None:
    """The sink that ignores everything (the default)."""
