"""deploy/k8s: the Kustomize base and the branch overlays.

The files are checked as they are (valid YAML, every resource and generated file
present, probes, resources); where ``kubectl`` is installed (it carries Kustomize) each
overlay is also rendered and the rendered objects are checked, as applied.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.deploy.conftest import DEPLOY, SERVICES

K8S = DEPLOY / "k8s"
BASE = K8S / "base"
OVERLAYS = {"sh01": K8S / "overlays" / "sh01", "hk01": K8S / "overlays" / "hk01"}
KUBECTL = shutil.which("kubectl")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def kustomization(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return data


def base_objects() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for entry in kustomization(BASE)["resources"]:
        found.extend(documents(BASE / entry))
    return found


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in {"Deployment", "Job"}]


@pytest.mark.parametrize("folder", [BASE, *OVERLAYS.values()], ids=["base", *OVERLAYS])
def test_every_file_a_kustomization_names_exists_and_is_valid_yaml(folder: Path) -> None:
    spec = kustomization(folder)
    named = list(spec.get("resources", []))
    for generator in spec.get("configMapGenerator", []) + spec.get("secretGenerator", []):
        named += generator.get("files", [])
    assert named
    for entry in named:
        target = (folder / entry).resolve()
        assert target.exists(), f"{folder.name}: {entry} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").exists()
        elif target.suffix == ".yaml":
            assert all("kind" in d and "apiVersion" in d for d in documents(target)), entry
        elif target.suffix == ".toml":
            tomllib.loads(target.read_text())


def check_service_workloads(objects: list[dict[str, Any]]) -> None:
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        assert spec["replicas"] == 2, name
        container = spec["template"]["spec"]["containers"][0]
        assert container["command"][:3] == ["python", "-m", f"dossier.{name}.service"]
        ready, alive = container["readinessProbe"], container["livenessProbe"]
        assert ready["httpGet"]["path"] == "/healthz", name
        assert alive["httpGet"]["path"] in {"/livez", "/healthz"}, name
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ready["httpGet"]["port"] in ports
        assert ports["metrics"] == 9464
        env = {e["name"]: e for e in container["env"]}
        assert env["DOSSIER_METRICS_PORT"]["value"] == "9464"
        assert env["DOSSIER_NATS_URL"]["valueFrom"]["secretKeyRef"]["key"] == f"nats-url-{name}"
    for workload in workloads(objects):
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name
            assert _mebibytes(resources["requests"]["memory"]) <= _mebibytes(
                resources["limits"]["memory"]
            )
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def _mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


def test_the_base_deploys_the_three_services_with_probes_and_resources() -> None:
    check_service_workloads(base_objects())


def test_the_base_has_the_jobs_the_metrics_services_and_a_placeholder_secret() -> None:
    objects = base_objects()
    jobs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Job"}
    migrate = jobs["dossier-migrate"]["spec"]["template"]["spec"]["containers"][0]
    assert migrate["command"][-2:] == ["db", "upgrade"]
    streams = jobs["dossier-streams"]["spec"]["template"]["spec"]["containers"][0]
    assert "/app/scripts/ensure_streams.py" in streams["command"]
    assert streams["command"][-2:] == ["--replicas", "3"]
    selected = {
        o["spec"]["selector"]["app.kubernetes.io/name"] for o in objects if o["kind"] == "Service"
    }
    assert selected == set(SERVICES)
    for secret in (o for o in objects if o["kind"] == "Secret"):
        for key, value in secret["stringData"].items():
            assert "CHANGE-ME" in value, f"{secret['metadata']['name']}.{key} looks real"


@pytest.mark.parametrize("branch", OVERLAYS)
def test_each_overlay_sets_its_branch(branch: str) -> None:
    folder = OVERLAYS[branch]
    spec = kustomization(folder)
    assert spec["namespace"] == f"dossier-{branch}"
    assert spec["resources"] == ["../../base"]
    assert any(label["pairs"].get("dossier/branch") == branch for label in spec["labels"])
    (generator,) = spec["configMapGenerator"]
    assert generator["name"] == "dossier-config"
    assert generator["behavior"] == "replace"
    config = tomllib.loads((folder / generator["files"][0]).read_text())
    assert set(config["branches"]) == {branch.upper()}


def render(folder: Path) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    result = subprocess.run(
        [KUBECTL, "kustomize", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d is not None]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (with Kustomize) is not installed")
@pytest.mark.parametrize("branch", OVERLAYS)
def test_each_overlay_renders_for_its_own_branch(branch: str) -> None:
    objects = render(OVERLAYS[branch])
    check_service_workloads(objects)
    namespace = f"dossier-{branch}"
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] == "Namespace":
            assert meta["name"] == namespace
        else:
            assert meta["namespace"] == namespace, meta["name"]
        assert meta["labels"]["dossier/branch"] == branch
    (config_map,) = (o for o in objects if o["kind"] == "ConfigMap")
    config = tomllib.loads(config_map["data"]["dossier.toml"])
    assert set(config["branches"]) == {branch.upper()}
    time_zone = config["branches"][branch.upper()]["time_zone"]
    for workload in workloads(objects):
        pod = workload["spec"]["template"]
        assert pod["metadata"]["labels"]["dossier/branch"] == branch
        container = pod["spec"]["containers"][0]
        assert container["image"].endswith("/dossier:0.1.0"), container["image"]
        if workload["kind"] == "Deployment":
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["TZ"] == time_zone
        # The generated ConfigMap's hashed name is what every pod mounts.
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (with Kustomize) is not installed")
def test_the_base_renders() -> None:
    kinds = sorted({o["kind"] for o in render(BASE)})
    assert kinds == sorted(
        {"Namespace", "ConfigMap", "Secret", "Deployment", "Job", "Service", "PodDisruptionBudget"}
    )
