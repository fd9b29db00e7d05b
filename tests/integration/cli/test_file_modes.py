"""The data folder is its owner's alone (issue 16, item 8): ``dossier init`` makes the folder
0700 and the configuration and keys 0600, and every Dossier process creates files with the
umask 077, so the SQLite database and logs of ``dossier up`` are 0600 too."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_and_a_database_upgrade_leave_nothing_readable_by_others(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)  # an existing, open folder is closed too
    for command in (["init"], ["db", "upgrade"]):
        subprocess.run(
            [sys.executable, "-m", "dossier.cli.main", "--home", str(home), *command],
            check=True,
            capture_output=True,
            timeout=120,
        )
    assert mode(home) == 0o700
    made = list(home.rglob("*"))
    files = [p for p in made if p.is_file()]
    assert any(p.suffix == ".db" for p in files), "the SQLite database was not where expected"
    assert {p.name for p in files} >= {"dossier.toml", "master.key", "token.key"}
    assert {str(p.relative_to(home)): oct(mode(p)) for p in files if mode(p) != 0o600} == {}
    folders = [p for p in made if p.is_dir()]
    assert {str(p.relative_to(home)): oct(mode(p)) for p in folders if mode(p) != 0o700} == {}
