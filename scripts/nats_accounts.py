"""Rewrite deploy/nats/accounts.conf from the bus users (`dossier.host.bus`).

.venv/bin/python scripts/nats_accounts.py
"""

from __future__ import annotations

from pathlib import Path

from dossier.host.bus import render_accounts

ACCOUNTS = Path(__file__).resolve().parents[1] / "deploy" / "nats" / "accounts.conf"


def main() -> None:
    ACCOUNTS.write_text(render_accounts(), encoding="utf-8")
    print(f"wrote {ACCOUNTS}")


if __name__ == "__main__":
    main()
