"""A client in another language: JavaScript with the official NATS client, from `$SRV.INFO` alone.

`tests/e2e/js/client_test.mjs` (run by node) discovers the services, builds a
registration from the endpoint's published request schema, validates it with
ajv, submits it twice with one idempotency key, then submits a malformed body
and reads the structured error. It prints one JSON summary line; this test
checks it. node and npm are required (CI has them): their absence fails the
test, it does not skip it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from dossier.core.policy import Role
from tests.support.stack import Stack, logs

JS = Path(__file__).parent / "js"
CLIENT = JS / "client_test.mjs"
BRANCH = "SH01"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not on PATH: this test runs a JavaScript NATS client "
            "and needs node (>= 18) and npm installed",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
def js_client() -> Path:
    """`tests/e2e/js` with its locked packages installed (`npm ci` when missing or stale)."""
    npm = _tool("npm")
    installed = JS / "node_modules" / ".package-lock.json"  # npm's record of what it installed
    lock = JS / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed in {JS}:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return CLIENT


@pytest.fixture
def intake(dossier_stack: Stack) -> Stack:
    dossier_stack.start("intake")
    dossier_stack.wait_until_serving("intake")
    return dossier_stack


def run_client(client: Path, stack: Stack, token: str) -> dict[str, Any]:
    node = _tool("node")
    started = time.monotonic()
    done = subprocess.run(
        [node, str(client)],
        cwd=client.parent,
        env={
            **os.environ,
            "NATS_URL": stack.nats_url,
            "NATS_USER": "staff",
            "NATS_PASSWORD": stack.config().bus("staff").password or "",
            "DOSSIER_TOKEN": token,
            "DOSSIER_BRANCH": BRANCH,
            "DOSSIER_SERVICE": "dossier-intake",
            "DOSSIER_ENDPOINT": "registration-submit",
            "DISCOVERY_MS": "1000",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    lines = done.stdout.strip().splitlines()
    context = (
        f"node exited {done.returncode} after {elapsed:.1f}s\n"
        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\n"
        f"service logs:\n{json.dumps(logs(stack), ensure_ascii=False, indent=1)[-4000:]}"
    )
    assert lines, context
    summary: dict[str, Any] = json.loads(lines[-1])
    print(f"node ran {elapsed:.1f}s: {lines[-1]}")  # shown with -rP or on failure
    assert done.returncode == 0, context
    assert summary["ok"], context
    return summary


def test_a_javascript_client_registers_from_the_published_schema(
    intake: Stack, js_client: Path
) -> None:
    desk = intake.token("desk-js", Role.FRONT_DESK, branches=(BRANCH,))

    summary = run_client(js_client, intake, desk)

    assert summary["failures"] == []
    assert "dossier-intake" in summary["services"]
    assert summary["service"]["version"]
    assert summary["endpoint"] == {
        "name": "registration-submit",
        "subject": "dossier.intake.registration.submit",
        "operation": "registration.submit",
        "changes": "true",
        "max_bytes": summary["endpoint"]["max_bytes"],
    }
    built = summary["built"]
    assert built["branch"] == BRANCH
    assert built["applicant"]["name"] == "王小明"
    assert built["applicant"]["id_document"]["type"] == "prc_resident_id"
    receipt = summary["receipt"]
    assert receipt["branch"] == BRANCH
    assert receipt["status"] == "submitted"
    assert receipt["registration_id"]
    assert summary["replayed"] is True
    refused = summary["refused"]
    assert refused["code"] == "400"
    assert refused["error"] == "validation_failed"
    assert {"applicant", "nickname"} <= set(refused["fields"])
