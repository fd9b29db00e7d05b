"""Reviewer, operator and auditor pages: quarterly review, certificates, backups, audit chain."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
