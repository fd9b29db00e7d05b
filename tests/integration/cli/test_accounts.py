"""`dossier account add|invite` on a fresh data folder, the first thing an operator does."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from dossier.cli.main import cli
from dossier.core.policy import Role
from dossier.gateway.accounts import MAX_FAILURES, AccountStore, SignInRefused
from dossier.host.config import load_config
from dossier.storage.db import Database


def account(home: Path, *args: str, password: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["--home", str(home), "account", "add", *args, "--password-stdin"],
        input=password + "\n",
    )
    return result.exit_code, result.output


def test_the_first_account_is_made_before_anything_ran_and_can_sign_in(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert CliRunner().invoke(cli, ["--home", str(home), "init"]).exit_code == 0
    code, shown = account(
        home, "--login", "admin", "--role", "admin", "--branch", "*", password="a-long-password-1"
    )
    assert code == 0, shown
    again, refused = account(
        home, "--login", "admin", "--role", "admin", "--branch", "*", password="another-password"
    )
    assert (again, "exists already" in refused) == (1, True)
    weak, said = account(
        home, "--login", "clerk", "--role", "front_desk", "--branch", "SH01", password="short"
    )
    assert (weak, "too weak" in said) == (1, True)

    invited = CliRunner().invoke(
        cli,
        ["--home", str(home), "account", "invite", "--student-number", "SH01-26-000001-W",
         "--branch", "SH01"],
    )  # fmt: skip
    assert invited.exit_code == 0, invited.output
    assert "/activate/" in invited.output

    db = Database.open(load_config(home / "dossier.toml").storage, upgrade=False)
    try:
        signed_in = AccountStore(db).authenticate("admin", "a-long-password-1")
    finally:
        db.dispose()
    assert signed_in.roles == frozenset({Role.ADMIN})
    assert signed_in.branches == frozenset({"*"})


def test_sign_ins_lockouts_and_invitations_are_logged_by_account_id_never_by_login(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    assert CliRunner().invoke(cli, ["--home", str(home), "init"]).exit_code == 0
    db = Database.open(load_config(home / "dossier.toml").storage)
    try:
        store = AccountStore(db)
        with caplog.at_level(logging.INFO, logger="dossier.gateway.accounts"):
            made = store.create("zhang.clerk", "a-long-password-1", [Role.FRONT_DESK], ["SH01"])
            for _ in range(MAX_FAILURES):
                with pytest.raises(SignInRefused):
                    store.authenticate("zhang.clerk", "wrong-password-x")
            store.invite_student("SH01-26-000001-W", "SH01")
    finally:
        db.dispose()
    refused = [r for r in caplog.records if r.getMessage() == "sign-in refused"]
    assert [getattr(r, "outcome", None) for r in refused] == ["invalid"] * 4 + ["locked"]
    assert {getattr(r, "account", None) for r in refused} == {made.id}
    assert any(getattr(r, "student_number", None) == "SH01-26-000001-W" for r in caplog.records)
    for record in caplog.records:
        shown = record.getMessage() + repr(vars(record))
        assert "zhang.clerk" not in shown
        assert "password" not in shown


def test_account_changes_end_sessions_and_an_activated_student_is_reset_only_with_a_reason(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    assert CliRunner().invoke(cli, ["--home", str(home), "init"]).exit_code == 0
    code, shown = account(
        home, "--login", "clerk", "--role", "front_desk", "--branch", "SH01",
        password="a-long-password-1",
    )  # fmt: skip
    assert code == 0, shown
    db = Database.open(load_config(home / "dossier.toml").storage, upgrade=False)
    try:
        store = AccountStore(db)
        clerk = store.authenticate("clerk", "a-long-password-1")
        versions = [clerk.session_version]
        for args in (
            ["password", "--login", "clerk", "--password-stdin"],
            ["roles", "--login", "clerk", "--role", "enrolment_officer", "--branch", "SH01"],
            ["disable", "--login", "clerk"],
        ):
            done = CliRunner().invoke(
                cli, ["--home", str(home), "account", *args], input="another-long-password\n"
            )
            assert done.exit_code == 0, done.output
            changed = store.find_by_login("clerk")
            assert changed is not None
            versions.append(changed.session_version)
        assert versions == [0, 1, 2, 3]
        assert store.find(clerk.id) is None  # disabled

        number = "SH01-26-000001-W"
        store.activate(store.invite_student(number, "SH01"), "the-students-own-1")
        refused = CliRunner().invoke(
            cli,
            ["--home", str(home), "account", "invite", "--student-number", number,
             "--branch", "SH01"],
        )  # fmt: skip
        assert (refused.exit_code, "--reason" in refused.output) == (1, True)
        reset = CliRunner().invoke(
            cli,
            ["--home", str(home), "account", "invite", "--student-number", number,
             "--branch", "SH01", "--reason", "lost the password"],
        )  # fmt: skip
        assert reset.exit_code == 0, reset.output
        student = store.find_by_login(number)
        assert student is not None
        assert [e.kind for e in store.events(student.id)] == ["invited", "activated", "reset"]
        with pytest.raises(SignInRefused):
            store.authenticate(number, "the-students-own-1")
    finally:
        db.dispose()
