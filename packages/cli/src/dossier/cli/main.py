"""The `dossier` command."""

from __future__ import annotations

import json
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy.exc import DBAPIError

from dossier.cli import account_commands, backup_commands, key_commands, retention_commands
from dossier.cli.init import CONFIG_NAME, AlreadyInitialised, initialise
from dossier.core.enums import Locale
from dossier.core.errors import DossierError
from dossier.core.policy import Actor, Role
from dossier.host.config import Config, load_config
from dossier.host.process import private_files
from dossier.messaging.tokens import TokenIssuer, private_key_from

DEFAULT_HOME = Path("dossier-data")


def _config(home: Path) -> Config:
    path = home / CONFIG_NAME
    if not path.exists():
        raise click.ClickException(f"no configuration at {path}: run `dossier init` first")
    try:
        return load_config(path)
    except DossierError as error:
        lines = [p.message(Locale.EN) for p in error.problems()] or [str(error)]
        raise click.ClickException("invalid configuration:\n  " + "\n  ".join(lines)) from None


class DossierGroup(click.Group):
    """Dossier's own errors end the command with their message and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DossierError as error:
            problems = "".join(f"\n  {p.message(Locale.EN)}" for p in error.problems())
            raise click.ClickException(f"{error.message(Locale.EN)}{problems}") from None
        except DBAPIError as error:
            raise click.ClickException(
                f"the database failed ({type(error.orig).__name__}); "
                "is it reachable and migrated (`dossier db upgrade`)?"
            ) from None


@click.group(cls=DossierGroup)
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
    private_files()  # the data folder, database, logs and keys: the owner's alone
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
    click.echo(f"nats      {load_config(config).nats.servers[0]} (started by `dossier up`)")
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
@click.option(
    "--ttl-minutes",
    default=15,
    show_default=True,
    type=click.IntRange(1, 12 * 60),
    help="How long the token lives: a copied token is worth only its lifetime.",
)
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
@click.pass_obj
def up(home: Path) -> None:
    """Start the embedded stack from the data folder's configuration; Ctrl-C stops it."""

    from dossier.cli.stack import EmbeddedStack

    _config(home)
    stack = EmbeddedStack(home)
    stack.start()
    click.echo(f"nats      {stack.nats_url}  (JetStream in {stack.home / 'nats'})")
    click.echo(f"database  {_redacted(stack.config.storage.database_url)}")
    click.echo(f"objects   {stack.config.objects.kind} {stack.config.objects.path}")
    click.echo(f"services  {', '.join(stack.services)}  (logs in {stack.home / 'logs'})")
    for service, port in stack.metrics_ports.items():
        click.echo(f"  {service:<10} http://127.0.0.1:{port}/metrics  /healthz")
    click.echo("Dossier is up. Ctrl-C stops it.")
    sys.stdout.flush()
    stopping: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: stopping.append(number))
    try:
        while not stopping and all(stack.running().values()):
            time.sleep(0.5)
    finally:
        click.echo("stopping…")
        stack.stop()
    down = [name for name, alive in stack.running().items() if not alive]
    if down and not stopping:
        raise click.ClickException(f"stopped because {', '.join(down)} exited; see logs")


@cli.command()
@click.option(
    "--interval", type=float, default=1.0, show_default=True, help="Seconds between samples."
)
@click.option("--endpoints", is_flag=True, help="One line per endpoint too.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(home: Path, interval: float, endpoints: bool, as_json: bool) -> None:
    """Services, instances, request rates and errors (from $SRV.STATS); exit 1 if one is missing."""
    import asyncio

    from nats.errors import Error as NatsError

    from dossier.cli.stack import SERVICES
    from dossier.cli.status import collect, render

    config = _config(home)
    try:
        found = asyncio.run(collect(config.bus("staff"), SERVICES, interval=interval))
    except (OSError, TimeoutError, NatsError) as error:
        servers = ", ".join(config.nats.servers)
        raise click.ClickException(
            f"NATS at {servers} does not answer ({type(error).__name__})"
        ) from None
    shown = json.dumps(found.to_json(), ensure_ascii=False) if as_json else render(found, endpoints)
    click.echo(shown)
    if not found.ok:
        sys.exit(1)


def _redacted(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.group()
def db() -> None:
    """The database: migrations."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(home: Path) -> None:
    """Apply every pending migration (the migration history is the schema's truth)."""
    from dossier.storage.migrations import upgrade

    config = _config(home)
    upgrade(config.storage.database_url)
    click.echo(f"{_redacted(config.storage.database_url)} is at the latest schema")


@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option("--branch", default=None, help="Only this branch's chain.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def audit_verify(home: Path, branch: str | None, as_json: bool) -> None:
    """Recompute every audit hash chain and the read trail's (查阅记录); exit 1 and name the
    first broken entry if any."""
    from dossier.storage.db import Database

    database = Database.open(_config(home).storage, upgrade=False)
    try:
        report = database.verify_audit(branch)
        reads = database.verify_read_trail(branch)
    finally:
        database.dispose()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "entries": dict(report.branches),
                    "breaks": [
                        {
                            "branch": b.branch,
                            "seq": b.seq,
                            "entry": b.entry_id,
                            "problem": b.problem,
                        }
                        for b in report.breaks
                    ],
                    "read_trail": {
                        "ok": reads.ok,
                        "entries": dict(reads.branches),
                        "breaks": [
                            {
                                "branch": b.branch,
                                "seq": b.seq,
                                "entry": b.entry_id,
                                "problem": b.problem,
                            }
                            for b in reads.breaks
                        ],
                    },
                }
            )
        )
    else:
        for name, count in sorted(report.branches.items()):
            click.echo(f"{name}: {count} entries")
        for item in report.breaks:
            click.echo(f"BROKEN {item.branch} #{item.seq} ({item.entry_id}): {item.problem}")
        click.echo("audit chain intact" if report.ok else "audit chain BROKEN")
        for item in reads.breaks:
            click.echo(
                f"BROKEN read trail {item.branch} #{item.seq} ({item.entry_id}): {item.problem}"
            )
        click.echo("read trail intact" if reads.ok else "read trail BROKEN")
    if not (report.ok and reads.ok):
        sys.exit(1)


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
    failed = [k for k in ("audit_ok", "certificate_ok", "backup_ok") if not result.get(k)]
    if failed:
        raise click.ClickException(f"the demo did not finish as it should: {', '.join(failed)}")


backup_commands.register(cli, _config)
retention_commands.register(cli, _config)
key_commands.register(cli, _config)
account_commands.register(cli, _config)

if __name__ == "__main__":
    cli(prog_name="dossier")
