"""Every NATS configuration file in deploy/nats is one nats-server accepts (``nats-server -t``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.deploy.conftest import (
    NATS_DIR,
    NODE_CONF,
    Certificates,
    check_config,
    nats_environment,
)

CONF_FILES = sorted(NATS_DIR.glob("*.conf"))


def test_the_deploy_folder_has_the_node_accounts_and_tls_files() -> None:
    names = {path.name for path in CONF_FILES}
    assert {"nats-server.conf", "accounts.conf", "tls-clients.conf", "tls-routes.conf"} <= names


@pytest.mark.parametrize("path", CONF_FILES, ids=[p.name for p in CONF_FILES])
def test_every_conf_file_passes_nats_server_t(path: Path, certificates: Certificates) -> None:
    result = check_config(path, nats_environment(**certificates.env()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "missing", ["NATS_INTAKE_PASSWORD", "NATS_ROUTE_PASSWORD", "NATS_ROUTES", "NATS_SERVER_NAME"]
)
def test_the_node_refuses_to_start_without_a_variable_it_references(missing: str) -> None:
    """No built-in default password: an unset variable is an error, not an empty secret."""
    env = nats_environment()
    del env[missing]
    result = check_config(NODE_CONF, env)
    assert result.returncode != 0
    assert missing in result.stdout + result.stderr


def test_the_node_with_its_tls_includes_switched_on_is_valid(
    tmp_path: Path, certificates: Certificates
) -> None:
    """The commented TLS includes of nats-server.conf, uncommented, give a valid node."""
    text = NODE_CONF.read_text()
    enabled, switched = re.subn(r'^(\s*)# (include "tls-[a-z]+\.conf")$', r"\1\2", text, flags=re.M)
    assert switched == 2, "nats-server.conf should carry both TLS includes, commented"
    for path in CONF_FILES:
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "nats-server.conf").write_text(enabled)
    result = check_config(tmp_path / "nats-server.conf", nats_environment(**certificates.env()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_password_is_written_in_the_files() -> None:
    for path in CONF_FILES:
        for line in path.read_text().splitlines():
            code = line.split("#", 1)[0]
            match = re.search(r"\bpassword\s*[:=]\s*(\S+)", code)
            if match:
                assert match.group(1).startswith("$"), f"{path.name}: {line.strip()}"
