"""The read trail's cost: ``dossier.get`` throughput and p50 with the trail on and off.

    .venv/bin/python bench/read_trail.py [--quick]

In process (the use case an embedding application and the intake service both
call), on a throwaway PostgreSQL database (``DOSSIER_BENCH_POSTGRES_URL``, else
the local server at 127.0.0.1:5432/test; SQLite when neither answers): N admitted
students, 8 enrolment officers in 8 threads opening dossiers at random. Each
read shows the officer the unmasked personal data, so with the trail on every
read inserts its entry in its own transaction before it answers; the service's
sealer thread chains the entries under the branch's head lock and checks the
misuse thresholds just after (`ReadSealer`), in this process as in a service.

The phases alternate (off, on, off, on) in the same run so both see the same
database and the same machine; the figure is the sum of each. The switch is
`UseCases.read_trail`, a measurement switch for this bench only — a deployment
never turns the trail off. Opening hours are set to the whole day so the
after-hours rule (one alert per officer and day) does not colour the figure.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import Figure, arguments, bench_database, percentile, report
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.contracts.intake import GetDossier
from dossier.core.policy import Actor, Role
from dossier.intake.handlers import Intake
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import LocalObjectStore
from dossier.storage.schema import read_trail
from tests.reliability.faults import admit_students

THREADS = 8


def _phase(intake: Intake, numbers: list[str], reads: int, seed: int) -> tuple[float, list[float]]:
    """``reads`` dossier reads by THREADS officers: (seconds, latencies)."""
    rng = random.Random(seed)
    plan = [(f"bench-officer-{i % THREADS}", rng.choice(numbers)) for i in range(reads)]
    callers = {
        f"bench-officer-{i}": Caller(
            Actor(
                id=f"bench-officer-{i}",
                roles=frozenset({Role.ENROLMENT_OFFICER}),
                branches=frozenset({"SH01"}),
            )
        )
        for i in range(THREADS)
    }

    def one(job: tuple[str, str]) -> float:
        started = time.perf_counter()
        intake.get_dossier(callers[job[0]], GetDossier(student_number=job[1]))
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        latencies = list(pool.map(one, plan, chunksize=16))
    return time.perf_counter() - started, latencies


def main() -> None:
    args = arguments(__doc__ or "")
    students = 500 if args.quick else 5_000
    reads = 1_000 if args.quick else 6_000
    branches = {"SH01": Branch(code="SH01", name="Bench", opens_at_hour=0, closes_at_hour=24)}
    with tempfile.TemporaryDirectory() as tmp, bench_database(Path(tmp)) as url:
        upgrade(url)
        db = Database(url, MasterKey.generate())
        try:
            numbers = admit_students(db, students, with_id_proof=False)
            store = LocalObjectStore(Path(tmp) / "objects")
            store.ensure_bucket("documents")
            intake = Intake(db, branches, DocumentStore(store, "documents"))
            intake.read_trail = False
            intake.seal_in_background = True  # as the intake service does
            _phase(intake, numbers, reads // 4, 0)  # warm-up
            off_s, on_s = 0.0, 0.0
            off_lat: list[float] = []
            on_lat: list[float] = []
            for round_ in range(2):
                for enabled in (False, True):
                    intake.read_trail = enabled
                    seconds, latencies = _phase(intake, numbers, reads // 2, round_ + 1)
                    if enabled:
                        on_s, on_lat = on_s + seconds, on_lat + latencies
                    else:
                        off_s, off_lat = off_s + seconds, off_lat + latencies
            intake.stop_sealing()
            intake.seal_reads()
            with db.engine.connect() as conn:
                recorded = conn.execute(
                    sqlalchemy.select(sqlalchemy.func.count()).select_from(read_trail)
                ).scalar_one()
            verified = db.verify_read_trail().ok
            engine = url.split(":", 1)[0]
        finally:
            db.dispose()
    off_rate, on_rate = len(off_lat) / off_s, len(on_lat) / on_s
    note = f"in process, {THREADS} threads, {students:,} students, {engine}"
    report(
        [
            Figure(
                "read_trail",
                "dossier_get_per_s_trail_on",
                on_rate,
                "1/s",
                ceiling=off_rate,
                goal=0.8,
                note=note + f"; {recorded:,} entries, chain verifies: {verified}",
            ),
            Figure("read_trail", "dossier_get_per_s_trail_off", off_rate, "1/s", note=note),
            Figure(
                "read_trail",
                "dossier_get_p50_ms_trail_on",
                percentile(on_lat, 50) * 1000,
                "ms",
                ceiling=percentile(off_lat, 50) * 1000,
                note=note,
            ),
            Figure(
                "read_trail",
                "dossier_get_p50_ms_trail_off",
                percentile(off_lat, 50) * 1000,
                "ms",
                note=note,
            ),
            Figure(
                "read_trail",
                "dossier_get_p99_ms_trail_on",
                percentile(on_lat, 99) * 1000,
                "ms",
                ceiling=percentile(off_lat, 99) * 1000,
                note=note,
            ),
        ]
    )


if __name__ == "__main__":
    main()
