"""Reliability benchmark (issue 8): faults, hostile input, access and privacy, as counts.

    .venv/bin/python bench/reliability.py            # 2,000 requests per fault, ~10,000 fuzz cases
    .venv/bin/python bench/reliability.py --quick    # the CI sizes (120 requests, ~1,700 cases)

Each part runs the reliability suite's own drivers (tests/reliability) against
real processes: a fresh PostgreSQL database, its own nats-server, the three
services, moto-free (local objects).

1. **Faults**: ``kill -9`` of one of two instances of each service mid-load
   (then restarted), the nats-server killed and restarted, PostgreSQL backends
   terminated and the server refusing connections for a while — each under
   ``--requests`` mutating requests that clients re-send with their
   idempotency key until answered. Counted: requests, lost (answered but no
   effect, or never answered), duplicated (an effect twice), internal errors.
2. **Access**: every endpoint × every role × own/other branch through NATS,
   token attacks, and existence probes across branches. ``matrix_leaks`` is
   every cell answered otherwise than the policy says (leak or wrong code),
   every token attack not refused with its documented code, and every probe
   that told an existing student from a number nobody has.
3. **Fuzz**: every endpoint with hostile payloads (Hypothesis), counting
   cases and internal errors; a rejected case must leave the database as it was.
4. **Privacy**: markers in every personal field of the flows, services at
   DEBUG; ``marker_leaks`` counts markers in logs, audit entries, events and
   error replies.

5. **Locked down** (issue 16): the bus attacks (`tests/reliability/bus_attacks.py`: no
   credentials, listening to everything, purging and deleting streams and consumers, a
   fake service) and gateway-bound tokens replayed from another connection; the gateway's
   answers to hostile bodies and a session cookie copied before sign-out.

6. **Destruction** (issue 16, item 7): a student with a marker in every free-text field
   linked to them (through the use cases), a backup restored into a scratch bucket, the
   student destroyed; ``free_text_after_destruction`` counts the markers still readable in
   any column of any table of the PostgreSQL database, plus the scratch copies of their
   documents left (`tests/integration/retention/test_free_text_destruction.py`).

Figures with a goal: ``lost``, ``duplicated``, ``internal_errors``,
``matrix_leaks``, ``marker_leaks``, ``free_text_after_destruction``, ``bus_unauthenticated_access``,
``replayed_token_accepted``, ``session_after_signout``,
``gateway_5xx_on_hostile_input`` (goal 0); without: ``requests_under_fault``,
``fuzz_cases``, ``matrix_cells``. A missed goal does not change the exit code;
a run that cannot complete does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from bench._harness import Figure, report  # noqa: E402
from dossier.storage.migrations import upgrade  # noqa: E402
from tests.e2e.gateway.conftest import running_site  # noqa: E402
from tests.e2e.gateway.hostile import hostile_statuses, session_after_signout  # noqa: E402
from tests.integration.retention.test_free_text_destruction import (  # noqa: E402
    free_text_after_destruction,
)
from tests.reliability import fuzz  # noqa: E402
from tests.reliability.bus_attacks import bus_attacks  # noqa: E402
from tests.reliability.faults import FaultCounts  # noqa: E402
from tests.reliability.matrix import assess_stack  # noqa: E402
from tests.reliability.test_faults_kill import kill_fault  # noqa: E402
from tests.reliability.test_faults_nats import nats_fault  # noqa: E402
from tests.reliability.test_faults_postgres import postgres_fault  # noqa: E402
from tests.reliability.test_marker_leaks import marker_leaks  # noqa: E402
from tests.support.nats import nats_server  # noqa: E402
from tests.support.postgres import answers, throwaway_database  # noqa: E402
from tests.support.stack import stack  # noqa: E402

BENCH = "reliability"
ENV = "DOSSIER_BENCH_POSTGRES_URL"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SERVICES = ("intake", "approvals", "retention")


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_faults(server_url: str, folder: Path, requests: int) -> list[FaultCounts]:
    runs = []
    for service in SERVICES:
        _log(f"kill -9 of {service} under {requests} requests…")
        runs.append(
            kill_fault(service, requests, server_url=server_url, folder=folder / f"kill-{service}")
        )
    _log(f"nats-server restarted under {requests} requests…")
    runs.append(nats_fault(requests, server_url=server_url, folder=folder / "nats"))
    _log(f"PostgreSQL connections terminated under {requests} requests…")
    result, _driven = postgres_fault(requests, server_url=server_url, folder=folder / "postgres")
    runs.append(result)
    return runs


def run_matrix(server_url: str, folder: Path) -> dict[str, int]:
    _log("access matrix, token attacks, existence probes…")
    with (
        throwaway_database(server_url) as url,
        nats_server(folder / "nats") as nats,
        stack(folder / "home", url, nats) as running,
    ):
        upgrade(url)
        for service in SERVICES:
            running.start(service)
        for service in SERVICES:
            running.wait_until_serving(service)
        counts = asyncio.run(assess_stack(running))
        _log("bus attacks: no credentials, listening, JetStream, a fake service, replays…")
        attacks = asyncio.run(bus_attacks(running))
    replayed = attacks.pop("replay_sniffed_tokens")
    return {**counts, "bus_unauthenticated_access": sum(attacks.values()), "replayed": replayed}


def run_gateway(server_url: str, folder: Path) -> dict[str, int]:
    """The gateway before a stranger: hostile bodies, and a cookie copied before sign-out."""
    _log("the gateway: hostile bodies, a session after sign-out…")
    with running_site(folder, server_url) as site:
        statuses = hostile_statuses(site.base)
        return {
            "gateway_5xx": sum(status >= 500 for status in statuses.values()),
            "hostile_requests": len(statuses),
            "session_after_signout": session_after_signout(site),
        }


def run_fuzz(examples: int) -> fuzz.FuzzStats:
    """The fuzz test module in this process (its stack, its Hypothesis settings); its stats."""
    _log(f"fuzzing every endpoint ({examples} Hypothesis cases each)…")
    os.environ["DOSSIER_FUZZ_EXAMPLES"] = str(examples)
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider", str(ROOT / "tests/reliability/test_fuzz_endpoints.py")]
    )
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise SystemExit(f"the fuzz run could not complete ({code})")
    return fuzz.STATS


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the CI sizes (a few minutes)")
    parser.add_argument("--requests", type=int, help="requests per fault run")
    args = parser.parse_args()
    requests = args.requests or (120 if args.quick else 2000)
    examples = 12 if args.quick else 150
    server_url = os.environ.get(ENV, DEFAULT_URL)
    if not answers(server_url):
        raise SystemExit(f"no PostgreSQL at {server_url} (set {ENV})")

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dossier-bench-reliability-") as scratch:
        folder = Path(scratch)
        faults = run_faults(server_url, folder / "faults", requests)
        matrix = run_matrix(server_url, folder / "matrix")
        gateway = run_gateway(server_url, folder / "gateway")
        leaks = marker_leaks(server_url=server_url, folder=folder / "leaks")
        _log("free text of a destroyed student, a scratch restore of their documents…")
        free_text = free_text_after_destruction(server_url, folder / "free-text")
    stats = run_fuzz(examples)
    _log(f"done in {time.monotonic() - started:.0f} s")

    fault_internal = sum(run.errors.get("internal_error", 0) for run in faults)
    internal = fault_internal + stats.by_code.get("internal_error", 0)
    internal += matrix["matrix_internal_errors"]
    matrix_leaks = (
        matrix["matrix_leaks"]
        + matrix["matrix_over_denials"]
        + matrix["token_attacks_accepted_or_miscoded"]
        + matrix["existence_probes_answered_differently"]
    )
    by_fault = "; ".join(f"{r.fault}: {r.lost}/{r.duplicated}" for r in faults)
    figures = [
        Figure(BENCH, "lost", sum(r.lost for r in faults), "count", goal=0, note=by_fault),
        Figure(BENCH, "duplicated", sum(r.duplicated for r in faults), "count", goal=0),
        Figure(BENCH, "internal_errors", internal, "count", goal=0),
        Figure(BENCH, "matrix_leaks", matrix_leaks, "count", goal=0),
        Figure(BENCH, "marker_leaks", leaks.leaks, "count", goal=0),
        Figure(
            BENCH,
            "free_text_after_destruction",
            free_text,
            "count",
            goal=0,
            note="markers readable in any column after destruction, plus scratch copies left",
        ),
        Figure(
            BENCH,
            "bus_unauthenticated_access",
            matrix["bus_unauthenticated_access"],
            "count",
            goal=0,
            note="no credentials, listening, JetStream purge/delete, a fake service",
        ),
        Figure(BENCH, "replayed_token_accepted", matrix["replayed"], "count", goal=0),
        Figure(BENCH, "session_after_signout", gateway["session_after_signout"], "count", goal=0),
        Figure(
            BENCH,
            "gateway_5xx_on_hostile_input",
            gateway["gateway_5xx"],
            "count",
            goal=0,
            note=f"of {gateway['hostile_requests']} hostile requests",
        ),
        Figure(BENCH, "requests_under_fault", sum(r.requests for r in faults), "count"),
        Figure(BENCH, "fuzz_cases", stats.cases, "count"),
        Figure(BENCH, "matrix_cells", matrix["matrix_cells"], "count"),
    ]
    report(figures)


if __name__ == "__main__":
    main()
