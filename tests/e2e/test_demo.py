"""The README's first command, the way a newcomer runs it, then `dossier up` on what it left.

The test copies the checkout (the files git knows, nothing built) into a fresh
temporary folder and runs ``python3 dev.py demo`` there: uv builds a new
environment from the lock file, the demo starts its own stack and stops it.
Then ``dossier up`` restarts the stack on the kept data folder and the data
is still there, served over NATS; Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy

from dossier.core.contracts.intake import GetDossier
from dossier.core.contracts.retention import ListCertificates
from dossier.host.config import load_config
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.connection import connect

ROOT = Path(__file__).resolve().parents[2]


def fresh_checkout(target: Path) -> Path:
    """The project's files as a newcomer's clone has them: tracked and new, not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def newcomer_env() -> dict[str, str]:
    """No virtualenv of ours leaks in; the uv this checkout already uses is on PATH (dev.py
    would install its pinned one otherwise, which only costs time)."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if Path(found).exists():
        env["PATH"] = f"{Path(found).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def dossier(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dossier.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_demo_walks_through_the_whole_process_and_leaves_verifiable_data(
    tmp_path: Path,
) -> None:
    checkout = fresh_checkout(tmp_path / "dossier")
    home = tmp_path / "demo"
    shown = subprocess.run(
        [sys.executable, "dev.py", "demo", "--keep", str(home)],
        cwd=checkout,
        env=newcomer_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert (checkout / ".venv").is_dir()
    out = shown.stdout
    for step in (
        "refused (validation_failed)",
        "student number SH01-26-000001-",
        "acceptance refused",
        "front desk: 陈**",
        "the enrolment officer may not approve it",
        "the student confirms the change",
        "verification: nothing decryptable remains",
        "资料已于",
        "verified ok",
        "entries verified: intact",
    ):
        assert step in out, f"the demo did not show: {step}\n{out}"
    assert "Traceback" not in out + shown.stderr

    engine = sqlalchemy.create_engine(f"sqlite:///{home}/dossier.db")
    with engine.connect() as conn:
        tombstones = conn.exec_driver_sql("SELECT count(*) FROM tombstones").scalar_one()
        raw = b"".join(
            str(row).encode()
            for table in ("registrations", "students", "audit_log", "outbox")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")
        )
    engine.dispose()
    assert tombstones == 1
    assert "陈静怡".encode() not in raw
    assert b"E1234567" not in raw

    verified = dossier("--home", str(home), "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["ok"] is True

    certificates = dossier("--home", str(home), "destruction", "list", "--branch", "SH01", "--json")
    [certificate] = json.loads(certificates.stdout)["items"]
    assert certificate["verification"]["ok"] is True
    shown = dossier("--home", str(home), "destruction", "certificate", certificate["id"])
    assert json.loads(shown.stdout)["student_number"] == certificate["student_number"]

    run = dossier("--home", str(home), "review", "run", "--branch", "SH01", "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = json.loads(run.stdout)["id"]
    signed = dossier("--home", str(home), "review", "sign-off", run_id, "--note", "checked")
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert "signed_off" in signed.stdout

    backups = dossier("--home", str(home), "backup", "list", "--json")
    [backup] = json.loads(backups.stdout)
    checked = dossier("--home", str(home), "backup", "verify", backup["id"], "--restore-check")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    restarted_survives_with_the_same_data(checkout, home)


def wait_for_line(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = path.read_text(encoding="utf-8", errors="replace")
        if text in shown:
            return shown
        assert process.poll() is None, f"dossier up exited early:\n{shown}"
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} after {timeout}s:\n{path.read_text()}")


def restarted_survives_with_the_same_data(checkout: Path, home: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{home}/dossier.db")
    with engine.connect() as conn:
        [destroyed] = conn.exec_driver_sql("SELECT student_number FROM tombstones").scalars()
        [certificate] = conn.exec_driver_sql("SELECT id FROM destruction_certificates").scalars()
        entries = conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar_one()
    engine.dispose()

    output = home / "up.out"
    with output.open("wb") as out:
        up = subprocess.Popen(
            [str(checkout / ".venv" / "bin" / "dossier"), "--home", str(home), "up"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=newcomer_env(),
        )
    try:
        shown = wait_for_line(output, "Dossier is up", up, timeout=90)
        assert "/metrics" in shown

        status = dossier("--home", str(home), "status", "--json", "--interval", "0.2")
        assert status.returncode == 0, status.stdout + status.stderr
        answering = {i["service"] for i in json.loads(status.stdout)["instances"]}
        assert answering == {"intake", "approvals", "retention"}

        token = dossier(
            "--home", str(home), "token", "issue", "--actor", "ops-1",
            "--role", "enrolment_officer", "--role", "auditor", "--branch", "SH01",
        ).stdout.strip()  # fmt: skip

        async def read_back() -> tuple[list[str], str]:
            config = load_config(home / "dossier.toml")
            nc = await connect(config.bus("staff"), "test-demo")
            try:
                client = DossierClient(nc, token, timeout=10)
                listed = await client.send(ListCertificates(branch="SH01"))
                try:
                    await client.send(GetDossier(student_number=destroyed))
                except RemoteError as gone:
                    return [c.id for c in listed.items], gone.code
                return [c.id for c in listed.items], "answered"
            finally:
                await nc.close()

        certificates, destroyed_answer = asyncio.run(read_back())
        assert certificates == [certificate]
        assert destroyed_answer == "destroyed"
        audit = dossier("--home", str(home), "audit", "verify", "--json")
        assert sum(json.loads(audit.stdout)["entries"].values()) >= entries, audit.stdout
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(timeout=60)
    assert code == 0, output.read_text()
    assert "stopping" in output.read_text()
    assert "Traceback" not in output.read_text()
