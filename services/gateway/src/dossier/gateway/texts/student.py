"""Texts of the student's own pages: keys ``student.…``."""

from __future__ import annotations

from collections.abc import Mapping

from dossier.core.enums import Locale

EN, ZH = Locale.EN, Locale.ZH_CN

TEXT: Mapping[str, Mapping[Locale, str]] = {}
