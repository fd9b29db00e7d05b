"""Student numbers (学号): a per-branch, per-year sequence that never hands out a number twice.

PostgreSQL: one native sequence per branch and year (``dossier_sn_sh01_26``),
created on first use with ``CREATE SEQUENCE IF NOT EXISTS`` on a separate
autocommit connection. ``nextval`` takes no row lock and is never rolled
back, so any number of writers in any number of processes draw distinct
values without waiting for each other's transactions; a rolled-back
admission leaves a gap, never a reuse.

SQLite: a counter row per branch and year, bumped with
``INSERT … ON CONFLICT DO UPDATE … RETURNING``. SQLite has a single writer
(units of work start with ``BEGIN IMMEDIATE``), so the row lock costs nothing.

The number's text comes from core: the branch's `StudentNumberFormat`
(``rules.student_number_format()``) or the default format.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from dossier.core.branch import BRANCH_CODE
from dossier.core.plugins import BranchRules
from dossier.core.student_number import DEFAULT_FORMAT
from dossier.storage.schema import student_number_counters

MAX_SEQUENCE = 999_999_999


def sequence_name(branch: str, year: int) -> str:
    """The PostgreSQL sequence of ``branch`` in two-digit ``year``; checked, safe to inline."""
    if not BRANCH_CODE.fullmatch(branch) or not 0 <= year <= 99:
        raise ValueError("a branch code (A-Z0-9, 2–6) and a two-digit year are needed")
    return f"dossier_sn_{branch.lower()}_{year:02d}"


class NumberAllocator:
    """Hands out sequence values; one per `Database`, remembering which sequences exist."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._known: set[str] = set()

    def allocate(self, conn: Connection, branch: str, year: int, count: int = 1) -> list[int]:
        """``count`` fresh sequence values of ``branch`` in two-digit ``year``, ascending."""
        if count < 1:
            return []
        name = sequence_name(branch, year)
        if conn.dialect.name == "postgresql":
            self._ensure_sequence(name)
            values = conn.execute(
                text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
                {"seq": name, "n": count},
            ).scalars()
            return sorted(int(v) for v in values)
        statement = (
            sqlite.insert(student_number_counters)
            .values(branch=branch, year=year, last=count)
            .on_conflict_do_update(
                index_elements=["branch", "year"],
                set_={"last": student_number_counters.c.last + count},
            )
            .returning(student_number_counters.c.last)
        )
        last = int(conn.execute(statement).scalar_one())
        if last > MAX_SEQUENCE:
            raise OverflowError(f"student numbers of {branch}/{year:02d} are exhausted")
        return list(range(last - count + 1, last + 1))

    def _ensure_sequence(self, name: str) -> None:
        if name in self._known:
            return
        ddl = f"CREATE SEQUENCE IF NOT EXISTS {name} AS bigint MAXVALUE {MAX_SEQUENCE} NO CYCLE"
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            try:
                conn.exec_driver_sql(ddl)
            except DBAPIError:
                # Two sessions creating the same sequence at once: the loser may hit a
                # unique violation in the catalogue even with IF NOT EXISTS. It exists now.
                exists = text("SELECT to_regclass(:seq)")
                if conn.execute(exists, {"seq": name}).scalar() is None:
                    raise
        self._known.add(name)


class StudentNumbers:
    """``uow.numbers``: formatted student numbers, drawn inside a unit of work."""

    def __init__(self, allocator: NumberAllocator, conn: Connection) -> None:
        self._allocator = allocator
        self._conn = conn

    def next(self, branch: str, year: int, rules: BranchRules | None = None) -> str:
        """The next student number of ``branch`` for calendar ``year`` (e.g. 2026)."""
        return self.many(branch, year, 1, rules)[0]

    def many(
        self, branch: str, year: int, count: int, rules: BranchRules | None = None
    ) -> list[str]:
        yy = year % 100
        fmt = rules.student_number_format() if rules is not None else DEFAULT_FORMAT
        values = self._allocator.allocate(self._conn, branch, yy, count)
        return [fmt.format(branch, yy, value) for value in values]
