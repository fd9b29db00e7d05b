"""deploy/compose: the file parses, its references resolve, its images are pinned or built
from deploy/Dockerfile, the services are replicated and checked, NATS is a cluster of 3."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from dossier.host.config import load_config
from tests.integration.deploy.conftest import DEPLOY, REPO, SERVICES

COMPOSE_DIR = DEPLOY / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
NATS_NODES = ("nats-1", "nats-2", "nats-3")
PINNED = re.compile(r"^[a-z0-9][a-z0-9._/-]*:(?!latest$)[A-Za-z0-9][A-Za-z0-9._-]*$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    given = service.get("depends_on", {})
    if isinstance(given, list):
        return dict.fromkeys(given, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in given.items()}


def command(service: dict[str, Any]) -> list[str]:
    given = service.get("command", [])
    return shlex.split(given) if isinstance(given, str) else [str(part) for part in given]


def test_every_dependency_is_a_service_of_the_file(compose: dict[str, Any]) -> None:
    names = set(services(compose))
    for name, service in services(compose).items():
        missing = set(depends_on(service)) - names
        assert not missing, f"{name} depends on unknown {missing}"


def test_images_are_built_from_the_dockerfile_or_pinned(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        if "build" in service:
            build = service["build"]
            context = (COMPOSE_DIR / build["context"]).resolve()
            assert context == REPO, f"{name}: the build context is the repository root"
            assert (context / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile", name
        else:
            image = service.get("image", "")
            assert PINNED.match(image), f"{name}: {image!r} is not an image with a pinned tag"


def test_the_dockerfile_installs_the_workspace_from_the_lock_file() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, flags=re.M)
    syncs = re.findall(r"uv sync [^\n]*", text)
    assert syncs
    assert all("--frozen" in line and "--no-dev" in line for line in syncs)
    for copied in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.M):
        assert (REPO / copied).exists(), f"the Dockerfile copies {copied}, which is not there"
    assert re.search(r"^USER \d+", text, flags=re.M), "the image runs as a non-root user"


@pytest.mark.parametrize("name", SERVICES)
def test_each_dossier_service_has_two_replicas_a_healthcheck_and_waits_for_its_jobs(
    compose: dict[str, Any], name: str
) -> None:
    service = services(compose)[name]
    assert service["deploy"]["replicas"] == 2
    assert "container_name" not in service
    assert "ports" not in service
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert "/healthz" in " ".join(test)
    assert command(service) == [
        "python",
        "-m",
        f"dossier.{name}.service",
        "--config",
        "/etc/dossier/dossier.toml",
    ]
    needs = depends_on(service)
    assert needs["migrate"] == "service_completed_successfully"
    assert needs["streams"] == "service_completed_successfully"
    assert needs["postgres"] == "service_healthy"
    assert all(needs[node] == "service_healthy" for node in NATS_NODES)
    url = service["environment"]["DOSSIER_NATS_URL"]
    assert url.count(f"nats://{name}:") == 3, "its own NATS user, on every node"


def test_the_one_shot_jobs_migrate_and_make_the_streams(compose: dict[str, Any]) -> None:
    migrate = services(compose)["migrate"]
    assert command(migrate)[-2:] == ["db", "upgrade"]
    assert depends_on(migrate) == {"postgres": "service_healthy"}
    streams = services(compose)["streams"]
    assert "/app/scripts/ensure_streams.py" in command(streams)
    assert command(streams)[-2:] == ["--replicas", "3"]
    assert "nats://ops:" in streams["environment"]["DOSSIER_NATS_URL"]
    for job in (migrate, streams):
        assert "restart" not in job
        assert "replicas" not in job.get("deploy", {})


def test_the_nats_nodes_form_one_cluster_of_three(compose: dict[str, Any]) -> None:
    nodes = {n: s for n, s in services(compose).items() if n.startswith("nats-")}
    assert set(nodes) == set(NATS_NODES)
    for name, node in nodes.items():
        env = node["environment"]
        assert env["NATS_SERVER_NAME"] == name
        routes = json.loads(env["NATS_ROUTES"])
        assert sorted(routes) == [f"nats-route://{n}:6222" for n in NATS_NODES]
        assert command(node) == ["nats-server", "-c", "/etc/nats/nats-server.conf"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in node["volumes"]}
        assert (COMPOSE_DIR / mounts["/etc/nats"]).resolve() == DEPLOY / "nats"
        assert env["NATS_STORE_DIR"].startswith("/data")
        assert "/data" in mounts, "JetStream's folder on a volume of its own"
        assert "/healthz" in " ".join(node["healthcheck"]["test"])
    assert len({n["volumes"][1] for n in nodes.values()}) == 3


def test_secrets_come_from_the_environment_not_the_file(compose: dict[str, Any]) -> None:
    """Passwords are ${...} from .env, including those inside URLs (user:password@host)."""
    checked = 0
    for name, service in services(compose).items():
        for key, value in service.get("environment", {}).items():
            text = str(value)
            if re.search(r"PASSWORD|SECRET_KEY", key):
                assert re.fullmatch(r"\$\{\w+(:\?[^}]*)?\}", text), f"{name}: {key} = {text}"
                checked += 1
            for password in re.findall(r"://[^:/@,]+:([^@]+)@", text):
                assert password.startswith("${"), f"{name}: {key} carries a password"
                checked += 1
    assert checked > 10
    assert not (COMPOSE_DIR / ".env").exists() or ".env" in (COMPOSE_DIR / ".gitignore").read_text()


@pytest.mark.parametrize(
    "config", [COMPOSE_DIR / "dossier.toml", *sorted((DEPLOY / "k8s").rglob("dossier.toml"))]
)
def test_the_container_configuration_loads_with_its_environment(config: Path) -> None:
    env = {
        "DOSSIER_TOKEN_PUBLIC_KEY": "placeholder",
        "DOSSIER_DATABASE_URL": "postgresql+psycopg://dossier:pw@postgres:5432/dossier",
        "DOSSIER_NATS_URL": "nats://intake:pw@nats-1:4222,nats://intake:pw@nats-2:4222",
        "DOSSIER_S3_ACCESS_KEY": "dossier",
        "DOSSIER_S3_SECRET_KEY": "pw",
    }
    loaded = load_config(config, env)
    assert loaded.storage.database_url.startswith("postgresql+psycopg://")
    assert loaded.nats.servers == ("nats://intake:pw@nats-1:4222", "nats://intake:pw@nats-2:4222")
    assert loaded.objects.kind == "s3"
    assert loaded.objects.secret_key == "pw"
    assert loaded.branches, "at least one branch"
    assert loaded.storage.master_key_file is not None
    assert loaded.storage.master_key_file.is_absolute()
    assert loaded.metrics.host == "0.0.0.0"  # noqa: S104 - scraped from outside
    assert loaded.metrics.port == 9464


def test_the_gateway_alone_holds_the_signing_keys_and_waits_for_healthy_services(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    gateway = services["gateway"]
    assert set(gateway["secrets"]) == {"master_key", "token_key", "session_key"}
    for name in SERVICES:
        assert "token_key" not in services[name].get("secrets", [])
        assert gateway["depends_on"][name]["condition"] == "service_healthy"
    assert "gateway:" in gateway["environment"]["DOSSIER_NATS_URL"]
    assert "/api/v1/health" in " ".join(gateway["healthcheck"]["test"])
