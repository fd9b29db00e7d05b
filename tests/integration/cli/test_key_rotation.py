"""The operator's key rotations, through the `dossier` command on a real data folder."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dossier.cli.main import cli
from dossier.core.policy import Actor, Role
from dossier.host.config import load_config
from dossier.host.runtime import verifier
from dossier.messaging.tokens import TokenIssuer, TokenRejected, private_key_from
from dossier.storage.db import Database
from dossier.storage.errors import KeyUnavailable
from dossier.storage.schema import data_keys

ACTOR = Actor(id="clerk-1", roles={Role.FRONT_DESK}, branches={"SH01"})


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def set_keys(config: Path, **values: object) -> None:
    """Edit the [keys] table the way an operator edits the file."""
    lines = config.read_text(encoding="utf-8").splitlines()
    for name, value in values.items():
        lines = [line for line in lines if not line.startswith(f"{name} =")]
        at = lines.index("[keys]") + 1
        lines.insert(at, f"{name} = {json.dumps(value)}")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_master_key_rotation_rewraps_every_data_key_and_the_old_key_can_go(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    run("--home", str(home), "init")
    config = load_config(home / "dossier.toml")
    db = Database.open(config.storage)
    with db.engine.begin() as conn:
        keys = db.vault.session(conn)
        created = {f"student-{i}": keys.create(f"student-{i}") for i in range(5)}
    db.dispose()

    run("keys", "generate", "master", "--out", str(home / "keys" / "master-2027.key"))
    set_keys(
        home / "dossier.toml",
        master_key_file="keys/master-2027.key",
        retired_master_key_files=["keys/master.key"],
    )
    shown = json.loads(run("--home", str(home), "keys", "rotate", "--json"))
    assert shown["rewrapped"] == 5

    set_keys(home / "dossier.toml", retired_master_key_files=[])
    rotated = load_config(home / "dossier.toml")
    db = Database.open(rotated.storage, upgrade=False)
    try:
        with db.engine.begin() as conn:
            keys = db.vault.session(conn)
            assert {k: keys.get(k) for k in created} == created
            assert set(conn.execute(select(data_keys.c.master_key_id)).scalars()) == {
                db.vault.master.key_id
            }
    finally:
        db.dispose()

    old_only = Database.open(config.storage, upgrade=False)
    try:
        with old_only.engine.begin() as conn, pytest.raises(KeyUnavailable):
            old_only.vault.session(conn).get("student-0")
    finally:
        old_only.dispose()


def test_rotate_refuses_without_a_retired_key_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run("--home", str(home), "init")
    result = CliRunner().invoke(cli, ["--home", str(home), "keys", "rotate"])
    assert result.exit_code == 1
    assert "retired_master_key_files" in result.output


def test_token_key_rotation_accepts_old_tokens_only_while_the_old_key_is_retired(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    run("--home", str(home), "init")
    old = load_config(home / "dossier.toml")
    assert old.token_private_key_file is not None
    old_token = TokenIssuer(private_key_from(old.token_private_key_file.read_text().strip())).issue(
        ACTOR, ttl=timedelta(minutes=30)
    )

    shown = run("keys", "generate", "token", "--out", str(home / "keys" / "token-2027.key"))
    new_public = shown.split("token_public_key = ")[1].strip().strip("'")
    set_keys(
        home / "dossier.toml",
        token_private_key_file="keys/token-2027.key",
        token_public_key=new_public,
        retired_token_public_keys=[old.token_public_key],
    )
    during = load_config(home / "dossier.toml")
    new_token = run("--home", str(home), "token", "issue", "--actor", "clerk-1",
                    "--role", "front_desk", "--branch", "SH01").strip()  # fmt: skip
    assert verifier(during).verify(old_token).id == "clerk-1"
    assert verifier(during).verify(new_token).id == "clerk-1"

    set_keys(home / "dossier.toml", retired_token_public_keys=[])
    after = load_config(home / "dossier.toml")
    assert verifier(after).verify(new_token).id == "clerk-1"
    with pytest.raises(TokenRejected) as refused:
        verifier(after).verify(old_token)
    assert refused.value.code == "token_invalid"
