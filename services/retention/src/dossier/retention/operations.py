"""Backups and audit verification as service use cases: access-checked, summarised for the wire."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.contracts.retention import (
    AuditCheck,
    BackupCheck,
    BackupList,
    BackupSummary,
    ChainBreakView,
    CreateBackup,
    ListBackups,
    VerifyAudit,
    VerifyBackup,
)
from dossier.core.plugins import PluginHost
from dossier.core.policy import Operation
from dossier.retention.archive import Manifest
from dossier.retention.backups import Backups
from dossier.storage.db import Database
from dossier.storage.usecases import UseCases, utc_now


def summary(manifest: Manifest) -> BackupSummary:
    return BackupSummary(
        id=manifest.id,
        kind=manifest.kind,
        base=manifest.base,
        created_at=manifest.created_at.isoformat(),
        parts=len(manifest.parts),
        bytes=sum(p.size for p in manifest.parts),
        rows=sum(manifest.tables.values()),
        objects=manifest.objects,
        retain_until=manifest.retain_until.isoformat() if manifest.retain_until else None,
    )


class Operations(UseCases):
    """The operator's use cases: backups (``backup.*``) and audit verification."""

    def __init__(
        self,
        db: Database,
        backups: Backups,
        branches: Mapping[str, Branch] | None = None,
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(db, branches or {}, plugins=plugins, clock=clock)
        self.backups = backups

    def create_backup(self, caller: Caller, command: CreateBackup) -> BackupSummary:
        self._require(caller.actor, Operation.BACKUP_MANAGE, None)
        created = self.backups.create(incremental=command.incremental, progress=caller.progress)
        return summary(created)

    def list_backups(self, caller: Caller, _: ListBackups) -> BackupList:
        self._require(caller.actor, Operation.BACKUP_MANAGE, None)
        return BackupList(items=tuple(summary(m) for m in self.backups.catalogue()))

    def verify_backup(self, caller: Caller, query: VerifyBackup) -> BackupCheck:
        self._require(caller.actor, Operation.BACKUP_MANAGE, None)
        result = self.backups.verify(query.backup_id, progress=caller.progress)
        return BackupCheck(
            backup_id=result.backup_id,
            ok=result.ok,
            parts=result.parts,
            rows=sum(result.rows.values()),
            objects=result.objects,
            problem=result.problem,
        )

    def verify_audit(self, caller: Caller, query: VerifyAudit) -> AuditCheck:
        self._require(caller.actor, Operation.AUDIT_VERIFY, query.branch)
        report = self.db.verify_audit(query.branch)
        reads = self.db.verify_read_trail(query.branch)
        return AuditCheck(
            ok=report.ok,
            entries=dict(report.branches),
            breaks=tuple(
                ChainBreakView(branch=b.branch, seq=b.seq, entry_id=b.entry_id, problem=b.problem)
                for b in report.breaks
            ),
            read_trail_ok=reads.ok,
            read_trail_entries=dict(reads.branches),
            read_trail_breaks=tuple(
                ChainBreakView(branch=b.branch, seq=b.seq, entry_id=b.entry_id, problem=b.problem)
                for b in reads.breaks
            ),
        )
