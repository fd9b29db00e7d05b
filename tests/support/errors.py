"""Every error code a service may answer with, and its status (`dossier.core.errors.STATUSES`,
filled as the error classes of every package and service are defined)."""

from __future__ import annotations

from collections.abc import Mapping

import dossier.approvals.service
import dossier.host.runtime
import dossier.intake.service
import dossier.messaging.service
import dossier.messaging.tokens
import dossier.retention.service
from dossier.core.errors import STATUSES

LOADED = (
    dossier.approvals.service,
    dossier.host.runtime,
    dossier.intake.service,
    dossier.messaging.service,
    dossier.messaging.tokens,
    dossier.retention.service,
)
"""Imported for their error classes: each registers its code as it is defined."""


def error_statuses() -> Mapping[str, int]:
    return dict(STATUSES)
