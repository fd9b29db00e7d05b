"""`dossier keys generate|rotate`: new keys, and re-wrapping every data key under a new master.

Rotating the master key (主密钥轮换) without downtime (docs/operations.md):
generate a new key, configure it as ``keys.master_key_file`` and the old one
in ``keys.retired_master_key_files``, restart the services one by one (they
unwrap with either key and wrap new data keys with the new one), then run
``dossier keys rotate``: it re-wraps, batch by batch, every data key still
under a retired key. It is resumable: run it again after an interruption.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from dossier.cli.init import write_secret
from dossier.messaging.tokens import generate_private_key, private_key_from, public_key_text
from dossier.retention.archive import BackupKey
from dossier.storage.db import Database
from dossier.storage.keys import MasterKey

KINDS = ("master", "token", "backup")


def register(cli: click.Group, load: Any) -> None:
    """Add the ``keys`` group to ``cli``; ``load(home)`` gives the configuration."""

    @cli.group()
    def keys() -> None:
        """Key management: generate new keys, rotate the master key."""

    @keys.command("generate")
    @click.argument("kind", type=click.Choice(KINDS))
    @click.option(
        "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="New file."
    )
    def generate(kind: str, out: Path) -> None:
        """Write a new master, token-signing or backup key to a new file (mode 0600)."""
        if out.exists():
            raise click.ClickException(f"{out} exists already; not overwritten")
        if kind == "master":
            write_secret(out, MasterKey.generate().to_base64())
            click.echo(f"wrote {out}; key id {MasterKey.from_file(out).key_id}")
        elif kind == "token":
            private = generate_private_key()
            write_secret(out, private)
            click.echo(f"wrote {out}")
            click.echo(f"token_public_key = {public_key_text(private_key_from(private))!r}")
        else:
            write_secret(out, BackupKey.generate())
            click.echo(f"wrote {out}")

    @keys.command("rotate")
    @click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_obj
    def rotate(home: Path, batch_size: int, as_json: bool) -> None:
        """Re-wrap every data key under the configured master key (resumable)."""
        config = load(home)
        if not config.storage.retired_master_key_files:
            raise click.ClickException(
                "no keys.retired_master_key_files configured: name the old master key there "
                "and the new one as keys.master_key_file"
            )
        db = Database.open(config.storage, upgrade=False)
        try:
            rewrapped = db.rotate_master_key(db.vault.master, batch_size=batch_size)
            master_id = db.vault.master.key_id
        finally:
            db.dispose()
        if as_json:
            click.echo(json.dumps({"rewrapped": rewrapped, "master_key_id": master_id}))
        else:
            click.echo(f"{rewrapped} data key(s) re-wrapped under master key {master_id}")
            click.echo("every data key is under the new master; drop the retired key when")
            click.echo("no backup you keep was taken before this rotation")
