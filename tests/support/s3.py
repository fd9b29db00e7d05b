"""A real S3 endpoint for tests: moto's standalone server in a subprocess.

moto's server accepts any credentials; the ones here only make the minio
client sign its requests the way it would against MinIO.
"""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from dossier.messaging.embedded import free_port

ACCESS_KEY = "dossier-test"
SECRET_KEY = "dossier-test-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION


def unique_bucket(prefix: str = "test") -> str:
    """A bucket name nobody else on the shared server uses (S3 rules: lowercase, <= 63)."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/moto-api/")
        conn.getresponse().read()
    except OSError:
        return False
    finally:
        conn.close()
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def moto_server(startup_timeout: float = 60.0) -> Iterator[S3Server]:
    """Start ``python -m moto.server`` on a free port, wait until it answers, stop it after."""
    with tempfile.TemporaryFile() as log:
        for _ in range(3):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + startup_timeout
                while process.poll() is None and time.monotonic() < deadline:
                    if _answers(port):
                        yield S3Server(endpoint=f"127.0.0.1:{port}")
                        return
                    time.sleep(0.1)
            finally:
                _stop(process)
        log.seek(0)
        tail = log.read()[-2000:].decode(errors="replace")
        raise RuntimeError(f"moto server did not start:\n{tail}")
