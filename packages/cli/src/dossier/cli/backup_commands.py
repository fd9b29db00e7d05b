"""`dossier backup create|list|verify|restore|prune`: the operator's backup jobs, in-process.

Clear output for a person at a terminal (a progress bar per stage on stderr,
see `dossier.cli.progress`), ``--json`` for scripts (and no bar), and a
non-zero exit when anything failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from dossier.cli.progress import TerminalProgress, interactive
from dossier.host.config import Config
from dossier.host.runtime import object_store
from dossier.retention.archive import BackupKey, Manifest
from dossier.retention.backups import Backups
from dossier.storage.db import Database
from dossier.storage.keys import MasterKey


@contextmanager
def _backups(config: Config) -> Iterator[Backups]:
    if config.retention.backup_key_file is None:
        raise click.ClickException("keys.backup_key_file is not configured")
    db = Database.open(config.storage, upgrade=False)
    try:
        yield Backups(
            db,
            object_store(config.objects),
            documents_bucket=config.objects.documents_bucket,
            backups_bucket=config.objects.backups_bucket,
            key=BackupKey.from_file(config.retention.backup_key_file),
            retention=timedelta(days=config.retention.backup_retention_days),
            part_size=config.retention.backup_part_mb * 1024 * 1024,
        )
    finally:
        db.dispose()


def _summary(manifest: Manifest) -> dict[str, Any]:
    return {
        "id": manifest.id,
        "kind": manifest.kind,
        "base": manifest.base,
        "created_at": manifest.created_at.isoformat(),
        "parts": len(manifest.parts),
        "bytes": sum(p.size for p in manifest.parts),
        "rows": sum(manifest.tables.values()),
        "objects": manifest.objects,
        "retain_until": None
        if manifest.retain_until is None
        else manifest.retain_until.isoformat(),
    }


def register(cli: click.Group, load: Any) -> None:
    """Add the ``backup`` group to ``cli``; ``load(home)`` gives the configuration."""

    @cli.group()
    def backup() -> None:
        """Backups of the database and documents to the backup bucket (资料备份)."""

    @backup.command("create")
    @click.option("--incremental", is_flag=True, help="Only documents new since the last backup.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def create(home: Path, incremental: bool, as_json: bool) -> None:
        """Take a consistent backup now."""
        with _backups(load(home)) as backups, TerminalProgress(enabled=interactive(as_json)) as bar:
            manifest = backups.create(incremental=incremental, progress=bar)
        _print(_summary(manifest), as_json)

    @backup.command("list")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def list_(home: Path, as_json: bool) -> None:
        """Every backup, oldest first."""
        with _backups(load(home)) as backups:
            summaries = [_summary(m) for m in backups.catalogue()]
        if as_json:
            click.echo(json.dumps(summaries))
            return
        for s in summaries:
            click.echo(
                f"{s['id']}  {s['kind']:<11}  {s['parts']:>4} parts  {s['rows']:>8} rows  "
                f"{s['objects']:>6} objects  kept until {s['retain_until'] or '-'}"
            )

    @backup.command("verify")
    @click.argument("backup_id")
    @click.option("--restore-check", is_flag=True, help="Also restore into a scratch database.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def verify(home: Path, backup_id: str, restore_check: bool, as_json: bool) -> None:
        """Download every part and check every checksum; exit 1 if anything is wrong."""
        import tempfile

        config = load(home)
        with (
            _backups(config) as backups,
            tempfile.TemporaryDirectory() as scratch,
            TerminalProgress(enabled=interactive(as_json)) as bar,
        ):
            scratch_db = None
            if restore_check:
                from dossier.storage.migrations import upgrade

                url = f"sqlite:///{scratch}/verify.db"
                upgrade(url)
                scratch_db = Database(url, backups.db.vault.master)
            result = backups.verify(backup_id, restore_into=scratch_db, progress=bar)
            if scratch_db is not None:
                scratch_db.dispose()
        _print(
            {
                "id": result.backup_id,
                "ok": result.ok,
                "parts": result.parts,
                "rows": sum(result.rows.values()),
                "objects": result.objects,
                "restore_checked": result.restore_checked,
                "audit_ok": result.audit_ok,
                "problem": result.problem,
            },
            as_json,
        )
        if not result.ok:
            sys.exit(1)

    @backup.command("restore")
    @click.argument("backup_id")
    @click.option("--into-database", required=True, help="URL of an EMPTY database.")
    @click.option("--into-bucket", default=None, help="Bucket for the documents (default: same).")
    @click.option("--master-key-file", type=click.Path(path_type=Path, dir_okay=False))
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def restore(
        home: Path,
        backup_id: str,
        into_database: str,
        into_bucket: str | None,
        master_key_file: Path | None,
        as_json: bool,
    ) -> None:
        """Restore into an empty database (migrated here first); refuses anything not empty."""
        from dossier.storage.migrations import upgrade

        config = load(home)
        upgrade(into_database)
        with _backups(config) as backups:
            master = (
                MasterKey.from_file(master_key_file)
                if master_key_file is not None
                else backups.db.vault.master
            )
            target = Database(into_database, master)
            try:
                with TerminalProgress(enabled=interactive(as_json)) as bar:
                    manifest = backups.restore(
                        backup_id,
                        target,
                        objects_into=(
                            backups.objects,
                            into_bucket or config.objects.documents_bucket,
                        ),
                        progress=bar,
                    )
            finally:
                target.dispose()
        if as_json:
            _print({**_summary(manifest), "restored": True}, as_json)
        else:
            click.echo(f"restored {manifest.id}: {sum(manifest.tables.values())} rows")

    @backup.command("prune")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def prune(home: Path, as_json: bool) -> None:
        """Delete backups past their retention period (never the newest full one)."""
        with _backups(load(home)) as backups:
            removed = backups.prune()
        _print({"removed": removed}, as_json)


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data))
        return
    for key, value in data.items():
        click.echo(f"{key:>16}: {value}")
