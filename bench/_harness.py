"""What every benchmark shares: the --quick flag, timing, peak memory, and the output form.

DESIGN.md §7: a human table first, then one JSON object per figure on its own
line — ``bench``, ``figure``, ``value``, ``unit``, and ``ceiling``/``ratio``/``goal``
where a ceiling measured in the same run applies (``goal`` alone where the goal
is absolute), and ``peak_rss_mb``. A benchmark reports; it never fails on a
missed goal.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, same code paths (< 60 s)"
    )
    return parser.parse_args()


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MiB (Linux: KiB units)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_of(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Figure:
    bench: str
    figure: str
    value: float
    unit: str
    ceiling: float | None = None
    goal: float | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ceiling is None or self.ceiling == 0:
            return None
        return round(self.value / self.ceiling, 3)

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "bench": self.bench,
            "figure": self.figure,
            "value": round(self.value, 3),
            "unit": self.unit,
        }
        if self.ceiling is not None:
            out["ceiling"] = round(self.ceiling, 3)
            out["ratio"] = self.ratio
        if self.goal is not None:
            out["goal"] = self.goal
        out.update(self.extra)
        out["peak_rss_mb"] = peak_rss_mb()
        return out


def report(figures: Sequence[Figure]) -> None:
    """Print the human table, then one JSON line per figure."""
    header = ("figure", "value", "unit", "ceiling", "ratio", "goal", "note")
    rows = [
        (
            f.figure,
            f"{f.value:,.1f}",
            f.unit,
            "" if f.ceiling is None else f"{f.ceiling:,.1f}",
            "" if f.ratio is None else f"{f.ratio:.3f}",
            "" if f.goal is None else str(f.goal),
            f.note,
        )
        for f in figures
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"peak memory: {peak_rss_mb()} MiB")
    for f in figures:
        print(json.dumps(f.as_json(), ensure_ascii=False))


DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def bench_database(folder: Path) -> AbstractContextManager[str]:
    """A throwaway PostgreSQL database (``DOSSIER_BENCH_POSTGRES_URL``, else this machine's),
    or SQLite in ``folder`` when no PostgreSQL answers."""
    import os

    import sqlalchemy

    url = os.environ.get("DOSSIER_BENCH_POSTGRES_URL", DEFAULT_PG)
    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except sqlalchemy.exc.OperationalError:
        return nullcontext(f"sqlite:///{folder}/bench.db")
    from tests.support.postgres import throwaway_database

    return throwaway_database(url)
