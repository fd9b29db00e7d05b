"""deploy/systemd: the units parse, run what exists, are hardened, and are ordered after
the jobs they need. ``systemd-analyze verify`` checks them too where it is installed."""

from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from dossier.cli.main import cli
from tests.integration.deploy.conftest import DEPLOY, SERVICES

SYSTEMD = DEPLOY / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service")) + sorted(SYSTEMD.glob("*.target"))
SERVICE_UNITS = sorted(SYSTEMD.glob("*.service"))
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
}
VENV = "/opt/dossier/venv/bin/"


def parse(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(path.read_text(), source=str(path))
    return parser


def exec_start(path: Path, instance: str | None = None) -> list[str]:
    line = parse(path)["Service"]["ExecStart"]
    if instance is not None:
        line = line.replace("%i", instance)
    return shlex.split(line)


def test_the_expected_units_are_there() -> None:
    names = {p.name for p in UNITS}
    assert {
        "nats-server.service",
        "dossier@.service",
        "dossier-migrate.service",
        "dossier-streams.service",
        "dossier.target",
    } <= names


@pytest.mark.parametrize("path", SERVICE_UNITS, ids=[p.name for p in SERVICE_UNITS])
def test_every_service_unit_is_hardened_and_runs_an_absolute_command(path: Path) -> None:
    unit = parse(path)
    assert unit["Unit"]["Description"]
    service = unit["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{path.name}: {key}"
    assert service["User"] not in {"root", "0"}
    assert service["EnvironmentFile"].startswith("/etc/")
    program = exec_start(path)[0]
    assert program.startswith("/")
    assert not re.search(r"\s", program)


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_template_starts_each_dossier_service_module(service: str) -> None:
    path = SYSTEMD / "dossier@.service"
    argv = exec_start(path, service)
    assert argv[0] == VENV + "python"
    assert argv[1] == "-m"
    assert argv[3:] == ["--config", "/etc/dossier/dossier.toml"]
    assert importlib.util.find_spec(argv[2]) is not None, f"no module {argv[2]}"
    assert service in parse(SYSTEMD / "dossier.target")["Unit"]["Wants"]


def test_the_service_template_comes_after_nats_and_the_one_shot_jobs() -> None:
    unit = parse(SYSTEMD / "dossier@.service")["Unit"]
    after = unit["After"].split()
    for needed in ("nats-server.service", "dossier-migrate.service", "dossier-streams.service"):
        assert needed in after
    assert "dossier-migrate.service" in unit["Requires"].split()


def test_the_migration_unit_runs_dossier_db_upgrade() -> None:
    path = SYSTEMD / "dossier-migrate.service"
    assert parse(path)["Service"]["Type"] == "oneshot"
    argv = exec_start(path)
    assert argv[0] == VENV + "dossier"
    home = argv.index("--home")
    assert argv[home + 1] == "/etc/dossier"
    assert argv[home + 2 :] == ["db", "upgrade"]
    context = click.Context(cli)
    group = cli.get_command(context, "db")
    assert isinstance(group, click.Group)
    assert group.get_command(context, "upgrade") is not None


def test_the_streams_unit_runs_the_deploy_script_with_three_replicas() -> None:
    argv = exec_start(SYSTEMD / "dossier-streams.service")
    assert argv[0] == VENV + "python"
    assert (DEPLOY / "scripts" / Path(argv[1]).name).exists()
    assert argv[2:] == ["--config", "/etc/dossier/dossier.toml", "--replicas", "3"]


def test_the_nats_unit_runs_the_deploy_config_with_its_store_on_the_state_directory() -> None:
    service = parse(SYSTEMD / "nats-server.service")["Service"]
    argv = exec_start(SYSTEMD / "nats-server.service")
    assert Path(argv[0]).name == "nats-server"
    assert argv[1:] == ["-c", "/etc/nats/nats-server.conf"]
    assert (
        service["Environment"] == f"NATS_STORE_DIR=/var/lib/{service['StateDirectory']}/jetstream"
    )
    assert service["KillSignal"] == "SIGUSR2"  # lame duck mode


def test_each_example_environment_file_names_only_known_settings() -> None:
    examples = sorted((SYSTEMD / "env").glob("*.env.example"))
    assert {p.name.split(".")[0] for p in examples} >= {*SERVICES, "dossier", "streams", "nats"}
    nats_variables = {
        variable
        for name in ("accounts.conf", "nats-server.conf")
        for line in (DEPLOY / "nats" / name).read_text().splitlines()
        for variable in re.findall(r"[:=]\s*\$(\w+)", line.split("#", 1)[0])
    }
    assert "NATS_INTAKE_PASSWORD" in nats_variables
    assert "NATS_ROUTES" in nats_variables
    ports = set()
    for path in examples:
        keys = {
            line.split("=", 1)[0]
            for line in path.read_text().splitlines()
            if line and not line.startswith("#")
        }
        if path.name.startswith("nats."):
            assert keys == nats_variables - {"NATS_STORE_DIR"}, "the unit sets NATS_STORE_DIR"
        else:
            assert all(k.startswith("DOSSIER_") for k in keys), path.name
        for line in path.read_text().splitlines():
            if line.startswith("DOSSIER_METRICS_PORT="):
                ports.add(line.split("=", 1)[1])
    assert len(ports) == len(SERVICES), "one metrics port per service on a host"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_finds_nothing_but_the_missing_install(tmp_path: Path) -> None:
    """Unknown keys, bad values and wrong sections show up; the programs under /opt and
    /usr/local are not installed here, which is the one complaint allowed."""
    for path in UNITS:
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(SYSTEMD / "dossier@.service", tmp_path / "dossier@intake.service")
    units = [str(tmp_path / p.name) for p in UNITS if p.name != "dossier@.service"]
    units.append(str(tmp_path / "dossier@intake.service"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "is not executable: No such file or directory" not in line
    ]
    assert complaints == []


def test_the_nightly_backup_timer_runs_the_backup_then_the_prune() -> None:
    timer = parse(SYSTEMD / "dossier-backup.timer")
    assert timer["Timer"]["Unit"] == "dossier-backup.service"
    assert timer["Timer"]["Persistent"] in {"yes", "true"}
    assert (SYSTEMD / timer["Timer"]["Unit"]).exists()
    service = parse(SYSTEMD / "dossier-backup.service")["Service"]
    assert exec_start(SYSTEMD / "dossier-backup.service")[-3:] == ["backup", "create", "--json"]
    assert shlex.split(service["ExecStartPost"])[-3:] == ["backup", "prune", "--json"]
    assert service["Type"] == "oneshot"


def test_the_gateway_runs_from_the_template_with_the_signing_keys_only_it_holds() -> None:
    argv = exec_start(SYSTEMD / "dossier@.service", "gateway")
    assert importlib.util.find_spec(argv[2]) is not None
    drop_in = (SYSTEMD / "dossier@gateway.service.d" / "keys.conf").read_text()
    assert "LoadCredential=token.key:" in drop_in
    assert "LoadCredential=session.key:" in drop_in
    for other in SERVICES:
        assert not (SYSTEMD / f"dossier@{other}.service.d" / "keys.conf").exists()
