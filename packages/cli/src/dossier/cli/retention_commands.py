"""`dossier review …`, `dossier destruction …`: the operator's and reviewer's jobs, in-process.

They run against the configured database directly (the operator is on the
server), acting as ``--as`` (default: the login name) with the role the job
needs; every action is audited under that actor like any other request.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import click

from dossier.cli.progress import TerminalProgress, interactive
from dossier.core import wire
from dossier.core.caller import Caller
from dossier.core.contracts import retention as api
from dossier.core.enums import FindingStatus
from dossier.core.policy import Actor, Role
from dossier.host.config import Config
from dossier.host.runtime import object_store
from dossier.retention.destruction import Destruction
from dossier.retention.review import Reviews
from dossier.storage.db import Database


@contextmanager
def _database(config: Config) -> Iterator[Database]:
    db = Database.open(config.storage, upgrade=False)
    try:
        yield db
    finally:
        db.dispose()


def _caller(actor_id: str | None, role: Role) -> Caller:
    return Caller(Actor(id=f"cli:{actor_id or getpass.getuser()}", roles={role}, branches={"*"}))


def _emit(value: Any, as_json: bool, lines: Callable[[dict[str, Any]], list[str]]) -> None:
    data = wire.unstructure(value)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for line in lines(data):
        click.echo(line)


def _run_lines(run: dict[str, Any]) -> list[str]:
    rules = ", ".join(f"{r['rule']} {r['count']}" for r in run["by_rule"]) or "no findings"
    return [
        f"{run['id']}  {run['branch']} {run['quarter']}  {run['status']}  "
        f"{run['dossiers']} dossiers, {run['findings']} findings ({run['open']} open): {rules}"
    ]


def register(cli: click.Group, load: Callable[[Path], Config]) -> None:
    who = click.option("--as", "actor_id", default=None, help="Who acts (default: login name).")
    as_json = click.option("--json", "as_json", is_flag=True)

    @cli.group()
    def review() -> None:
        """Quarterly review (定期审核): run, list, show, resolve, sign off, export."""

    @review.command("run")
    @click.option("--branch", required=True)
    @click.option("--quarter", default=None, help="e.g. 2026Q4 (default: the current quarter)")
    @who
    @as_json
    @click.pass_obj
    def review_run(
        home: Path, branch: str, quarter: str | None, actor_id: str | None, as_json: bool
    ) -> None:
        """Review every dossier of a branch now; a stopped run picks up where it left off."""
        config = load(home)
        with _database(config) as db, TerminalProgress(enabled=interactive(as_json)) as bar:
            run = Reviews(db, config.branches).start_run(
                attrs.evolve(_caller(actor_id, Role.REVIEWER), progress=bar),
                api.StartReview(branch=branch, quarter=quarter),
            )
        _emit(run, as_json, _run_lines)

    @review.command("list")
    @click.option("--branch", required=True)
    @as_json
    @click.pass_obj
    def review_list(home: Path, branch: str, as_json: bool) -> None:
        """The branch's review runs, newest first."""
        config = load(home)
        with _database(config) as db:
            page = Reviews(db, config.branches).list_runs(
                _caller(None, Role.REVIEWER), api.ListReviewRuns(branch=branch)
            )
        _emit(
            page, as_json, lambda data: [line for run in data["items"] for line in _run_lines(run)]
        )

    @review.command("show")
    @click.argument("run_id")
    @click.option("--open", "only_open", is_flag=True, help="Only findings still open.")
    @as_json
    @click.pass_obj
    def review_show(home: Path, run_id: str, only_open: bool, as_json: bool) -> None:
        """A run's work list: one line per finding (student number, rule, what to do)."""
        config = load(home)
        with _database(config) as db:
            reviews = Reviews(db, config.branches)
            caller = _caller(None, Role.REVIEWER)
            run = reviews.get_run(caller, api.GetReviewRun(run_id=run_id))
            status = FindingStatus.OPEN if only_open else None
            findings = reviews.list_findings(
                caller, api.ListFindings(run_id=run_id, status=status, limit=200)
            )
        _emit(
            {"run": run, "findings": findings},
            as_json,
            lambda data: (
                _run_lines(data["run"])
                + [
                    f"  {f['id'][:8]}  {f['student_number']}  {f['severity']:<7}  {f['rule']}"
                    f"  → {f['suggested_action']}  [{f['status']}]"
                    for f in data["findings"]["items"]
                ]
            ),
        )

    @review.command("resolve")
    @click.argument("finding_id")
    @click.option("--note", required=True)
    @click.option("--waive", is_flag=True, help="Accept the finding as it is instead.")
    @who
    @click.pass_obj
    def review_resolve(
        home: Path, finding_id: str, note: str, waive: bool, actor_id: str | None
    ) -> None:
        """Mark a finding resolved (or waived), with a note."""
        config = load(home)
        with _database(config) as db:
            reviews = Reviews(db, config.branches)
            caller = _caller(actor_id, Role.REVIEWER)
            if waive:
                reviews.waive(caller, api.WaiveFinding(finding_id=finding_id, note=note))
            else:
                reviews.resolve(caller, api.ResolveFinding(finding_id=finding_id, note=note))
        click.echo("waived" if waive else "resolved")

    @review.command("sign-off")
    @click.argument("run_id")
    @click.option("--note", required=True)
    @who
    @as_json
    @click.pass_obj
    def review_sign_off(
        home: Path, run_id: str, note: str, actor_id: str | None, as_json: bool
    ) -> None:
        """Sign off a run (refused while findings are open)."""
        config = load(home)
        with _database(config) as db:
            run = Reviews(db, config.branches).sign_off(
                _caller(actor_id, Role.REVIEWER), api.SignOffReview(run_id=run_id, note=note)
            )
        _emit(run, as_json, _run_lines)

    @review.command("export")
    @click.argument("run_id")
    @click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None)
    @click.pass_obj
    def review_export(home: Path, run_id: str, out: Path | None) -> None:
        """The run's findings as CSV (to stdout, or --out FILE)."""
        config = load(home)
        with _database(config) as db:
            export = Reviews(db, config.branches).export_csv(
                _caller(None, Role.REVIEWER), api.ExportReview(run_id=run_id)
            )
        if out is None:
            sys.stdout.write(export.content)
        else:
            out.write_text(export.content, encoding="utf-8")
            click.echo(f"wrote {out}")

    @cli.group()
    def destruction() -> None:
        """Destruction (资料销毁): certificates of executed requests."""

    def _destruction(config: Config, db: Database) -> Destruction:
        return Destruction(
            db,
            config.branches,
            object_store(config.objects),
            documents_bucket=config.objects.documents_bucket,
            backups_bucket=config.objects.backups_bucket,
        )

    @destruction.command("list")
    @click.option("--branch", required=True)
    @as_json
    @click.pass_obj
    def destruction_list(home: Path, branch: str, as_json: bool) -> None:
        """Destruction certificates of a branch, newest first."""
        config = load(home)
        with _database(config) as db:
            page = _destruction(config, db).list_certificates(
                _caller(None, Role.AUDITOR), api.ListCertificates(branch=branch)
            )
        _emit(
            page,
            as_json,
            lambda data: [
                f"{c['id']}  {c['student_number']}  executed {c['executed_at']}  "
                f"by {c['responsible_person']}  verified "
                f"{'ok' if (c.get('verification') or {}).get('ok') else 'NO'}"
                for c in data["items"]
            ],
        )

    @destruction.command("certificate")
    @click.argument("certificate_id")
    @click.pass_obj
    def destruction_certificate(home: Path, certificate_id: str) -> None:
        """One destruction certificate (销毁证明), in full, as JSON."""
        config = load(home)
        with _database(config) as db:
            certificate = _destruction(config, db).get_certificate(
                _caller(None, Role.AUDITOR), api.GetCertificate(certificate_id=certificate_id)
            )
        click.echo(json.dumps(wire.unstructure(certificate), ensure_ascii=False, indent=2))
