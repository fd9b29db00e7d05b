"""`dossier account add|invite|password|roles|disable`: who may sign in to the web pages (网关账户).

Staff accounts get a password typed at a prompt (or read from stdin with
``--password-stdin`` for scripts); a student gets a one-time activation link
to choose their own, which staff can also create from the console. A student who
activated their account already is invited again only as a reset with
``--reason`` (recorded). A new password, new roles and disabling end every
session of the account at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dossier.cli.init import CONFIG_NAME
from dossier.core.enums import Locale
from dossier.core.policy import Role
from dossier.gateway.accounts import (
    AccountClosed,
    AccountExists,
    AccountStore,
    AlreadyActivated,
    WeakPassword,
)
from dossier.gateway.settings import load_settings
from dossier.storage.db import Database

STAFF_ROLES = [r.value for r in Role if r is not Role.STUDENT]


def register(cli: click.Group, load: Any) -> None:
    """Add the ``account`` group to ``cli``; ``load(home)`` gives the configuration."""

    @cli.group()
    def account() -> None:
        """Web sign-in accounts for staff and students."""

    @account.command("add")
    @click.option("--login", required=True, help="The name staff sign in with.")
    @click.option("--role", "roles", multiple=True, required=True, type=click.Choice(STAFF_ROLES))
    @click.option("--branch", "branches", multiple=True, required=True, help="'*': all branches.")
    @click.option("--locale", type=click.Choice([loc.value for loc in Locale]), default="zh-CN")
    @click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
    @click.pass_obj
    def add(
        home: Path,
        login: str,
        roles: tuple[str, ...],
        branches: tuple[str, ...],
        locale: str,
        password_stdin: bool,
    ) -> None:
        """Create a staff account."""
        config = load(home)
        password = (
            sys.stdin.readline().rstrip("\n")
            if password_stdin
            else click.prompt("password", hide_input=True, confirmation_prompt=True)
        )
        db = Database.open(config.storage)  # migrated first: the first account may come before `up`
        try:
            created = AccountStore(db).create(
                login, password, [Role(r) for r in roles], branches, locale=Locale(locale)
            )
        except AccountExists:
            raise click.ClickException(f"an account {login!r} exists already") from None
        except WeakPassword as weak:
            raise click.ClickException(f"password too weak: {weak}") from None
        finally:
            db.dispose()
        click.echo(f"account {created.login}: {', '.join(sorted(roles))} at {', '.join(branches)}")

    @account.command("invite")
    @click.option("--student-number", required=True)
    @click.option("--branch", required=True)
    @click.option("--reason", help="Reset an activated student's account, for this reason.")
    @click.pass_obj
    def invite(home: Path, student_number: str, branch: str, reason: str | None) -> None:
        """Print a one-time link for a student to choose a password (valid 7 days)."""
        settings = load_settings(home / CONFIG_NAME)
        db = Database.open(settings.config.storage)
        try:
            code = AccountStore(db).invite_student(student_number, branch, reason=reason)
        except AlreadyActivated:
            raise click.ClickException(
                "the student has activated their account already: "
                "reset it with --reason if it must be"
            ) from None
        except AccountClosed:
            raise click.ClickException(
                "the student's account is closed (their record was destroyed, or an admin "
                "disabled it): it cannot be invited again"
            ) from None
        finally:
            db.dispose()
        click.echo(f"{settings.public_url.rstrip('/')}/activate/{code}")

    def _account_id(store: AccountStore, login: str) -> str:
        found = store.find_by_login(login)
        if found is None:
            raise click.ClickException(f"no account {login!r}")
        return found.id

    @account.command("password")
    @click.option("--login", required=True)
    @click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
    @click.pass_obj
    def password(home: Path, login: str, password_stdin: bool) -> None:
        """Set a new password for an account (its sessions end)."""
        config = load(home)
        secret = (
            sys.stdin.readline().rstrip("\n")
            if password_stdin
            else click.prompt("password", hide_input=True, confirmation_prompt=True)
        )
        db = Database.open(config.storage, upgrade=False)
        try:
            store = AccountStore(db)
            store.set_password(_account_id(store, login), secret)
        except WeakPassword as weak:
            raise click.ClickException(f"password too weak: {weak}") from None
        finally:
            db.dispose()
        click.echo(f"account {login}: new password; its sessions have ended")

    @account.command("roles")
    @click.option("--login", required=True)
    @click.option("--role", "roles", multiple=True, required=True, type=click.Choice(STAFF_ROLES))
    @click.option("--branch", "branches", multiple=True, required=True, help="'*': all branches.")
    @click.pass_obj
    def roles(home: Path, login: str, roles: tuple[str, ...], branches: tuple[str, ...]) -> None:
        """Give a staff account new roles and branches (its sessions end)."""
        config = load(home)
        db = Database.open(config.storage, upgrade=False)
        try:
            store = AccountStore(db)
            store.set_roles(_account_id(store, login), [Role(r) for r in roles], branches)
        finally:
            db.dispose()
        click.echo(f"account {login}: {', '.join(sorted(roles))} at {', '.join(branches)}")

    @account.command("disable")
    @click.option("--login", required=True)
    @click.pass_obj
    def disable(home: Path, login: str) -> None:
        """Disable an account: it cannot sign in, and its sessions end."""
        config = load(home)
        db = Database.open(config.storage, upgrade=False)
        try:
            store = AccountStore(db)
            store.disable(_account_id(store, login))
        finally:
            db.dispose()
        click.echo(f"account {login}: disabled")
