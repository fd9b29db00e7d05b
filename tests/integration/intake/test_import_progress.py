"""``import.start`` and ``import.resume`` tell a progress callback after each chunk."""

from __future__ import annotations

import base64
from collections.abc import Callable

from dossier.intake.api import ImportFormat, ImportState, StartImport
from dossier.intake.handlers import Caller
from dossier.intake.imports import Importer, ImportProgress
from tests.integration.intake.conftest import OFFICER, csv_file, student_row


def test_start_reports_each_chunk_as_stage_done_and_total(
    make_importer: Callable[..., Importer],
) -> None:
    importer = make_importer(chunk_size=5)
    data = csv_file([student_row(n) for n in range(12)])
    command = StartImport(
        branch="SH01",
        format=ImportFormat.CSV,
        content=base64.b64encode(data).decode(),
        source_system="x",
    )
    heard: list[ImportProgress] = []
    report = importer.start(
        Caller(OFFICER.actor, "progress-key-01"), command, progress=heard.append
    )
    assert report.state is ImportState.COMPLETED
    assert [(p.stage, p.done, p.total) for p in heard] == [
        ("importing", 5, 12),
        ("importing", 10, 12),
        ("completed", 12, 12),
    ]
