#!/usr/bin/env python3
"""Dossier's two commands, on any machine with Python 3.11+ and a package index.

    python3 dev.py demo    # bring Dossier up on the embedded defaults and show it working
    python3 dev.py test    # install what the tests need, then ruff, mypy and the whole test suite

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


def test(extra: list[str]) -> None:
    uv = _uv()
    sync(uv)
    browser()
    _run(uv, "run", "--frozen", "ruff", "check", ".")
    _run(uv, "run", "--frozen", "ruff", "format", "--check", ".")
    _run(uv, "run", "--frozen", "mypy")
    _run(uv, "run", "--frozen", "pytest", *extra)


def demo(extra: list[str]) -> None:
    uv = _uv()
    sync(uv)
    _run(uv, "run", "--frozen", "dossier", "demo", *extra)


COMMANDS = {"test": test, "demo": demo}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
