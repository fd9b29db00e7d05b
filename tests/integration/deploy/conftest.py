"""Fixtures for the deploy/ tests: paths, the NATS environment, test certificates and a real
3-node NATS cluster started from deploy/nats/nats-server.conf itself."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from attrs import frozen
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dossier.host.bus import bus_users
from dossier.messaging.embedded import free_port, nats_server_binary, wait_for_port

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
NATS_DIR = DEPLOY / "nats"
NODE_CONF = NATS_DIR / "nats-server.conf"

USERS = tuple(u.name for u in bus_users())
SERVICES = ("intake", "approvals", "retention")
PASSWORDS = {user: f"test-{user}-password" for user in (*USERS, "sys", "route")}


def nats_environment(**extra: str) -> dict[str, str]:
    """Every variable the deploy/nats files reference, set to test values."""
    env = dict(os.environ)
    for user in (*USERS, "sys"):
        env[f"NATS_{user.upper().replace('-', '_')}_PASSWORD"] = PASSWORDS[user]
    env["NATS_ROUTE_PASSWORD"] = PASSWORDS["route"]
    env.setdefault("NATS_SERVER_NAME", "test-node")
    env.setdefault("NATS_ROUTES", '["nats-route://127.0.0.1:6222"]')
    env.setdefault("NATS_STORE_DIR", "/nonexistent/not-created-by-t")
    env.update(extra)
    return env


def check_config(path: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``nats-server -t -c path``: parse and check a configuration without starting."""
    return subprocess.run(
        [nats_server_binary(), "-t", "-c", str(path)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


@frozen
class Certificates:
    ca: Path
    cert: Path
    key: Path

    def env(self) -> dict[str, str]:
        return {
            "NATS_TLS_CA": str(self.ca),
            "NATS_TLS_CERT": str(self.cert),
            "NATS_TLS_KEY": str(self.key),
        }


def _pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A throwaway CA and a server certificate for localhost it signed."""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dossier test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nats-1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Certificates(
        ca=_pem(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
        cert=_pem(folder / "server.pem", cert.public_bytes(serialization.Encoding.PEM)),
        key=_pem(
            folder / "server.key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        ),
    )


@frozen
class Node:
    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    log: Path


@frozen
class Cluster:
    nodes: tuple[Node, ...]

    def url(self, user: str | None, password: str | None = None) -> str:
        """All nodes' URLs for ``user`` (its test password unless given); None: anonymous."""
        if user is None:
            return ",".join(f"nats://127.0.0.1:{n.client_port}" for n in self.nodes)
        secret = password if password is not None else PASSWORDS[user]
        return ",".join(f"nats://{user}:{secret}@127.0.0.1:{n.client_port}" for n in self.nodes)

    def servers(self, user: str | None, password: str | None = None) -> list[str]:
        return self.url(user, password).split(",")

    def monitor(self, node: Node, path: str) -> dict[str, object]:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{node.monitor_port}{path}", timeout=2
        ) as answer:
            data: dict[str, object] = json.loads(answer.read())
            return data


def _healthy(node: Node) -> bool:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{node.monitor_port}/healthz", timeout=1
        ) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three nats-server processes running deploy/nats/nats-server.conf unchanged.

    Only what the deployment sets per host differs: the environment it documents
    (name, routes, store folder, passwords) and, on the command line, loopback
    addresses and free ports instead of 4222/6222/8222.
    """
    folder = tmp_path_factory.mktemp("nats-cluster")
    nodes = tuple(
        Node(f"nats-{i}", free_port(), free_port(), free_port(), folder / f"nats-{i}.log")
        for i in (1, 2, 3)
    )
    routes = json.dumps([f"nats-route://127.0.0.1:{n.cluster_port}" for n in nodes])
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for node in nodes:
            env = nats_environment(
                NATS_SERVER_NAME=node.name,
                NATS_ROUTES=routes,
                NATS_STORE_DIR=str(folder / node.name),
            )
            args = [nats_server_binary(), "-c", str(NODE_CONF), "-a", "127.0.0.1"]
            args += ["-p", str(node.client_port), "-m", str(node.monitor_port)]
            args += ["--cluster", f"nats://127.0.0.1:{node.cluster_port}"]
            with node.log.open("wb") as log:
                processes.append(
                    subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
                )
        for node in nodes:
            wait_for_port(node.client_port)
        deadline = time.monotonic() + 20
        while not all(_healthy(n) for n in nodes):
            if time.monotonic() > deadline:
                logs = "\n".join(n.log.read_text(errors="replace")[-2000:] for n in nodes)
                raise TimeoutError(f"the NATS cluster did not become healthy:\n{logs}")
            time.sleep(0.1)
        yield Cluster(nodes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
