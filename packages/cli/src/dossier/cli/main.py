"""The `dossier` command."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click

from dossier.cli.init import CONFIG_NAME, AlreadyInitialised, initialise
from dossier.core.errors import DossierError
from dossier.core.policy import Actor, Role
from dossier.messaging.config import Config, load_config
from dossier.messaging.tokens import TokenIssuer, private_key_from

DEFAULT_HOME = Path("dossier-data")


def _config(home: Path) -> Config:
    path = home / CONFIG_NAME
    if not path.exists():
        raise click.ClickException(f"no configuration at {path}: run `dossier init` first")
    try:
        return load_config(path)
    except DossierError as error:
        lines = [f"{p.field}: {p.rule}" for p in error.problems()] or [str(error)]
        raise click.ClickException("invalid configuration:\n  " + "\n  ".join(lines)) from None


@click.group()
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_HOME,
    envvar="DOSSIER_HOME",
    show_default=True,
    help="The data folder holding dossier.toml, keys and (embedded) data.",
)
@click.pass_context
def cli(ctx: click.Context, home: Path) -> None:
    """Dossier — student records (学员档案) for chains of language schools."""
    ctx.obj = home


@cli.command()
@click.pass_obj
def init(home: Path) -> None:
    """Create the data folder: configuration, master key, token signing key."""
    try:
        config = initialise(home)
    except AlreadyInitialised as exists:
        raise click.ClickException(f"{exists} exists already; not overwritten") from None
    click.echo(f"wrote {config}")
    click.echo(f"keys in {home / 'keys'} (readable by you only); keep a copy of master.key offline")


@cli.group()
def token() -> None:
    """Actor tokens for staff and tools."""


@token.command("issue")
@click.option("--actor", "actor_id", required=True, help="Who the token is for (staff id).")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Repeat for several roles.",
)
@click.option("--branch", "branches", multiple=True, help="Branch code; '*' for all.")
@click.option("--student-number", default=None, help="For student tokens: their own number.")
@click.option("--ttl-minutes", default=60, show_default=True, type=click.IntRange(1, 7 * 24 * 60))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of the token.")
@click.pass_obj
def token_issue(
    home: Path,
    actor_id: str,
    roles: tuple[str, ...],
    branches: tuple[str, ...],
    student_number: str | None,
    ttl_minutes: int,
    as_json: bool,
) -> None:
    """Mint an actor token signed with the configured key."""
    config = _config(home)
    if config.token_private_key_file is None:
        raise click.ClickException("keys.token_private_key_file is not configured")
    issuer = TokenIssuer(private_key_from(config.token_private_key_file.read_text().strip()))
    actor = Actor(
        id=actor_id,
        roles=frozenset(Role(r) for r in roles),
        branches=frozenset(branches),
        student_number=student_number,
    )
    value = issuer.issue(actor, ttl=timedelta(minutes=ttl_minutes))
    if as_json:
        click.echo(json.dumps({"token": value, "expires_in_minutes": ttl_minutes}))
    else:
        click.echo(value)


@cli.command()
@click.option(
    "--keep",
    "keep_home",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Run in this folder and keep it (default: a fresh temporary folder).",
)
def demo(keep_home: Path | None) -> None:
    """Start the embedded stack and walk through the records process, narrated."""
    from dossier.cli.demo import run_demo

    result = run_demo(keep_home, say=click.echo)
    if not result.get("audit_ok"):
        raise click.ClickException("the audit chain did not verify")


if __name__ == "__main__":
    cli(prog_name="dossier")
