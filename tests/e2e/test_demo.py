"""The README's first command, the way a newcomer runs it: the demo, then the data it leaves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy


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
    home = tmp_path / "demo"
    shown = dossier("demo", "--keep", str(home))
    assert shown.returncode == 0, shown.stdout + shown.stderr
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
