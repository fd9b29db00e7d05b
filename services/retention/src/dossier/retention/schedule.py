"""When the quarterly review (定期审核) is due: quarters, and which runs to start or chase.

Every branch reviews its dossiers once a quarter, from the first instant of
the quarter in the branch's own time zone. `due_runs` is the pure part of the
scheduler the service calls periodically: which branch/quarter runs should
start now (none exists yet for the current quarter), and which runs are
overdue (not signed off ``sign_off_days`` after their quarter began).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from attrs import frozen

from dossier.core.branch import Branch
from dossier.core.enums import ReviewRunStatus

SIGN_OFF_DAYS = 30
"""A run not signed off this many days after its quarter began is overdue."""

_QUARTER = re.compile(r"([0-9]{4})Q([1-4])")


@frozen(order=True)
class Quarter:
    """A calendar quarter, written ``2026Q4`` (Q1 = January–March)."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.fullmatch(text)
        if match is None:
            raise ValueError("a quarter is written YYYYQn, n from 1 to 4")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}Q{self.number}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * (self.number - 1) + 1, 1)

    def next(self) -> Quarter:
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    def previous(self) -> Quarter:
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )

    def starts_at(self, time_zone: str) -> datetime:
        """The quarter's first instant in ``time_zone`` (aware)."""
        first = self.first_day
        return datetime(first.year, first.month, first.day, tzinfo=ZoneInfo(time_zone))


def current_quarter(now: datetime, time_zone: str) -> Quarter:
    return Quarter.of(now.astimezone(ZoneInfo(time_zone)).date())


class RunState(Protocol):
    """What the schedule needs to know of an existing run."""

    @property
    def branch(self) -> str: ...

    @property
    def quarter(self) -> str: ...

    @property
    def status(self) -> ReviewRunStatus: ...


@frozen
class DueRun:
    branch: str
    quarter: str


@frozen
class OverdueRun:
    branch: str
    quarter: str
    status: ReviewRunStatus
    sign_off_due: datetime


@frozen
class Schedule:
    start: tuple[DueRun, ...]
    overdue: tuple[OverdueRun, ...]


def due_runs(
    now: datetime,
    branches: Iterable[Branch],
    existing_runs: Iterable[RunState],
    *,
    sign_off_days: int = SIGN_OFF_DAYS,
) -> Schedule:
    """Runs to start now, and runs whose sign-off is overdue, in branch and quarter order.

    A branch's run of its current quarter is due from the quarter's first
    instant (branch time) until one exists, whatever its status. A run that is
    not signed off is overdue once ``sign_off_days`` have passed since its
    quarter began — a run of an earlier quarter left unsigned stays overdue.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zones = {branch.code: branch.time_zone for branch in branches}
    runs = list(existing_runs)
    have = {(run.branch, run.quarter) for run in runs}
    start = [
        DueRun(code, str(current_quarter(now, zone)))
        for code, zone in sorted(zones.items())
        if (code, str(current_quarter(now, zone))) not in have
    ]
    overdue = []
    for run in runs:
        if run.status is ReviewRunStatus.SIGNED_OFF:
            continue
        zone = zones.get(run.branch, "UTC")
        due = Quarter.parse(run.quarter).starts_at(zone) + timedelta(days=sign_off_days)
        if now >= due:
            overdue.append(OverdueRun(run.branch, run.quarter, run.status, due))
    overdue.sort(key=lambda o: (o.branch, o.quarter))
    return Schedule(start=tuple(start), overdue=tuple(overdue))
