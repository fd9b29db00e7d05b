#!/usr/bin/env python3
"""Dossier's two commands, on any machine with Python 3.11+ and a package index.

    python3 dev.py demo    # bring Dossier up on the embedded defaults and show it working
    python3 dev.py test    # install what the tests need, then ruff, mypy and the whole test suite

and a third for developers while editing (CI does not run it):

    python3 dev.py fast    # ruff check and the unit tests, in seconds

Arguments after the command go to pytest (``test``, ``fast``) or to ``dossier demo``:
``python3 dev.py test tests/e2e -x``; ``-n 0`` runs the suite on one process.

The script needs nothing but the standard library: it installs uv (pinned) into
``.tools/`` when no uv is on PATH, lets uv build ``.venv/`` from the committed
lock file, then runs the step inside that environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV_VERSION = "0.13.8"


def _uv() -> str:
    on_path = shutil.which("uv")
    if on_path:
        return on_path
    tools = ROOT / ".tools"
    uv_bin = tools / "bin" / "uv"
    if not uv_bin.exists():
        print(f"dev.py: installing uv {UV_VERSION} into {tools}", flush=True)
        venv.create(tools, with_pip=True, clear=True)
        subprocess.check_call(
            [str(tools / "bin" / "python"), "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"]
        )
    return str(uv_bin)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    env.setdefault("UV_PYTHON", sys.executable)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Python caches compiled modules (__pycache__, ignored by git) even where the machine says
    # not to: the tests start some hundreds of Python processes (services, the CLI), and each
    # would otherwise compile every module it imports again, about 2 s of CPU a process.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(*args: str) -> None:
    print("+", " ".join(args), flush=True)
    code = subprocess.call(list(args), cwd=ROOT, env=_env())
    if code != 0:
        sys.exit(code)


def sync(uv: str) -> None:
    _run(uv, "sync", "--frozen", "--all-packages", "--all-groups")


BROWSER_PACKAGES = ("chromium", "fonts-noto-cjk")
"""Chromium for the browser tests; CJK fonts so screenshots of Chinese pages are readable."""


def browser() -> None:
    """The gateway's browser tests drive Debian's Chromium: install it when it is missing."""
    if shutil.which("chromium") and Path("/usr/share/fonts/opentype/noto").is_dir():
        return
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        print("dev.py: the browser tests need Chromium (Debian: apt-get install chromium)")
        return
    env = {**_env(), "DEBIAN_FRONTEND": "noninteractive"}
    for args in ([apt, "update", "-q"], [apt, "install", "-y", "-q", *BROWSER_PACKAGES]):
        print("+", " ".join(args), flush=True)
        if subprocess.call(args, env=env) != 0:
            sys.exit("dev.py: could not install Chromium")


TEST_WORKERS = "3"
"""pytest-xdist workers for the whole suite (``--dist loadfile``, see pyproject.toml). Most
tests wait on processes of their own (services, nats-server, PostgreSQL, a browser), so one
worker more than the two cores of the CI machine keeps both busy: measured there, 3 workers
finished first (4 only added contention: more CPU for the same tests, and a later finish)."""


def test(extra: list[str]) -> None:
    uv = _uv()
    sync(uv)
    browser()
    _run(uv, "run", "--frozen", "ruff", "check", ".")
    _run(uv, "run", "--frozen", "ruff", "format", "--check", ".")
    _run(uv, "run", "--frozen", "mypy")
    _run(uv, "run", "--frozen", "pytest", "-n", TEST_WORKERS, "--durations=25", *extra)


def fast(extra: list[str]) -> None:
    """The developer's loop while editing, not CI's: ruff check, then the unit tests (no
    servers) on two workers."""
    uv = _uv()
    sync(uv)
    _run(uv, "run", "--frozen", "ruff", "check", ".")
    _run(uv, "run", "--frozen", "pytest", "tests/unit", "-q", "-n", "2", *extra)


def demo(extra: list[str]) -> None:
    uv = _uv()
    sync(uv)
    _run(uv, "run", "--frozen", "dossier", "demo", *extra)


COMMANDS = {"test": test, "demo": demo, "fast": fast}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
