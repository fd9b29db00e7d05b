"""Intake end to end: registrations per second through NATS, beside a raw NATS echo.

    .venv/bin/python bench/intake.py [--quick]

Starts its own nats-server (from the wheel) and intake service processes on a
throwaway PostgreSQL database (``DOSSIER_BENCH_POSTGRES_URL``, else the local
server at 127.0.0.1:5432/test; SQLite when neither answers), then drives
``registration.submit`` with 64 requests in flight — request, validation by
the branch's rules, encryption, blind indexes, commit with audit entry, outbox
row and idempotency record, reply — and, in the same run, a raw echo
responder over the same NATS server with the same client and the same
concurrency: the ceiling.
"""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import Figure, arguments, bench_database, percentile, report
from dossier.core import wire
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.contracts.intake import ImportFormat
from dossier.core.policy import Actor, Role
from dossier.intake.imports.importer import Importer
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import LocalObjectStore
from tests.support.load import registration
from tests.support.nats import BusServer, bus_server, sign_in
from tests.support.stack import Stack, stack

IN_FLIGHT = 64


async def _drive(count: int, call: Callable[[int], Awaitable[None]]) -> tuple[float, list[float]]:
    """Run ``call(i)`` for i < count with IN_FLIGHT at once: (seconds, latencies)."""
    slots = asyncio.Semaphore(IN_FLIGHT)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with slots:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - started, latencies


ECHO = "dossier.intake.bench-echo"


async def echo_rate(server: BusServer, count: int, payload: bytes) -> tuple[float, list[float]]:
    """The ceiling: a Python echo responder in a queue group, same client, same concurrency,
    signed in as intake and staff are (the echo answers on a subject intake may serve)."""
    responder = await sign_in(server.url_for("intake"))
    client = await sign_in(server.url_for("staff"))

    async def echo(msg: Any) -> None:
        await msg.respond(msg.data)

    await responder.subscribe(ECHO, queue="echo", cb=echo)
    await responder.flush()

    async def call(_: int) -> None:
        await client.request(ECHO, payload, timeout=10)

    await _drive(min(count, 500), call)  # warm-up
    result = await _drive(count, call)
    await client.close()
    await responder.close()
    return result


async def submit_rate(running: Stack, count: int) -> tuple[float, list[float]]:
    nc = await sign_in(running.url_for("staff"))
    token = running.token("bench-desk", Role.FRONT_DESK)
    run_id = secrets.token_hex(4)

    async def call(i: int) -> None:
        reply = await nc.request(
            "dossier.intake.registration.submit",
            wire.dumps(registration(i)),
            timeout=30,
            headers={"Dossier-Actor": token, "Idempotency-Key": f"bench-{run_id}-{i:08d}"},
        )
        if reply.headers and "Nats-Service-Error-Code" in reply.headers:
            raise RuntimeError(f"submit refused: {reply.data[:200]!r}")

    await _drive(min(count // 10, 200), lambda i: call(count + i))  # warm-up
    result = await _drive(count, call)
    await nc.close()
    return result


def import_file(rows: int) -> bytes:
    """A CSV export of another system: ``rows`` students, Chinese headers, UTF-8 with BOM."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["姓名", "出生日期", "证件类型", "证件号码", "手机", "目标语言", "状态", "入学日期"]
    )
    for i in range(rows):
        writer.writerow(
            [
                "王小明",
                f"{1980 + i % 20}-0{1 + i % 9}-1{i % 10}",
                "passport",
                f"E{30_000_000 + i}",
                f"136{i:08d}",
                "en",
                ["enrolled", "completed", "withdrawn"][i % 3],
                "2020-09-01",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def import_rate(folder: Path, rows: int) -> tuple[float, str]:
    """Rows per second of the bulk import of a CSV (in process, the path ``import.start`` runs)."""
    data = import_file(rows)
    with bench_database(folder) as url:
        upgrade(url)
        db = Database(url, MasterKey.generate())
        store = LocalObjectStore(folder / "import-objects")
        store.ensure_bucket("documents")
        importer = Importer(
            db, {"SH01": Branch(code="SH01", name="上海一校")}, DocumentStore(store, "documents")
        )
        officer = Actor(id="bench-officer", roles={Role.ENROLMENT_OFFICER}, branches={"SH01"})
        started = time.perf_counter()
        report = importer.import_file(
            Caller(officer),
            io.BytesIO(data),
            branch="SH01",
            format=ImportFormat.CSV,
            source_system="bench",
        )
        seconds = time.perf_counter() - started
        db.dispose()
    if report.imported != rows:
        raise RuntimeError(f"imported {report.imported} of {rows} rows")
    return rows / seconds, url.split(":", 1)[0]


def main() -> None:
    args = arguments(__doc__ or "")
    count = 2_000 if args.quick else 20_000
    instances = 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = bus_server(folder / "nats")
        server.start()
        try:
            with bench_database(folder) as url:
                upgrade(url)
                with stack(folder / "home", url, server) as running:
                    for index in range(instances):
                        running.start("intake", log_name=f"intake-{index}")
                    running.wait_until_serving("intake", instances=instances)
                    payload = wire.dumps(registration(0))
                    echo_s, echo_lat = asyncio.run(echo_rate(server, count, payload))
                    submit_s, submit_lat = asyncio.run(submit_rate(running, count))
                    engine = url.split(":", 1)[0]
        finally:
            server.stop()
    import_rows = 5_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        imported, import_engine = import_rate(Path(tmp), import_rows)
    echo = count / echo_s
    rate = count / submit_s
    p50 = percentile(submit_lat, 50) * 1000
    p99 = percentile(submit_lat, 99) * 1000
    note = f"{instances} intake processes, {IN_FLIGHT} in flight, {engine}"
    report(
        [
            Figure(
                "intake", "registrations_per_s", rate, "1/s", ceiling=echo, goal=0.25, note=note
            ),
            Figure("intake", "submit_p50_ms", p50, "ms", note=note),
            Figure("intake", "submit_p99_ms", p99, "ms", goal=100.0, note=note),
            Figure("intake", "echo_requests_per_s", echo, "1/s", note="raw NATS echo, same client"),
            Figure(
                "intake",
                "import_rows_per_s",
                imported,
                "1/s",
                note=f"{import_rows:,}-row CSV, bulk path, {import_engine}",
            ),
            Figure(
                "intake",
                "echo_p99_ms",
                percentile(echo_lat, 99) * 1000,
                "ms",
                note="raw NATS echo, same client",
            ),
        ]
    )


if __name__ == "__main__":
    main()
