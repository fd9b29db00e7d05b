"""查阅记录 and misuse alerts: who saw a student's unmasked data, and reading that looks wrong.

Every request that reveals a student's unmasked personal data or documents is
recorded by the service that answers it (intake: dossier reads, search hits,
document downloads; approvals: exports, disclosures), chained per branch. The
student sees who in the school viewed their record (role and display name,
when); auditors see it per student and per staff member. Per-branch thresholds
raise alerts that the branch manager and the auditor see and the auditor
acknowledges with a comment. Answered by approvals.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from attrs import frozen

from dossier.core.contracts.base import Contract, Declare
from dossier.core.policy import Operation

# -- requests --------------------------------------------------------------------------------


@frozen(kw_only=True)
class ListMyReads:
    """Who in the school viewed the student's record, newest first (for the student)."""

    type: ClassVar[str] = "read_trail.mine"
    student_number: str
    limit: int = 50
    before: datetime | None = None
    """The next page: entries older than this (the last ``at`` of the page before)."""


@frozen(kw_only=True)
class ListStudentReads:
    """Every recorded read of one student's record, newest first (for auditors)."""

    type: ClassVar[str] = "read_trail.student"
    student_number: str
    limit: int = 50
    before: datetime | None = None


@frozen(kw_only=True)
class ListStaffReads:
    """Every recorded read by one staff member (actor id, e.g. ``web:li.officer``) in a branch,
    newest first (for auditors)."""

    type: ClassVar[str] = "read_trail.staff"
    branch: str
    actor: str
    limit: int = 50
    before: datetime | None = None


@frozen(kw_only=True)
class ListReadAlerts:
    """A branch's misuse alerts, newest first (branch manager, auditor)."""

    type: ClassVar[str] = "read_alert.list"
    branch: str
    open_only: bool = False
    limit: int = 50


@frozen(kw_only=True)
class AcknowledgeReadAlert:
    """The auditor has looked at an alert: their comment is kept with it and audited."""

    type: ClassVar[str] = "read_alert.acknowledge"
    alert_id: str
    comment: str


# -- views -----------------------------------------------------------------------------------


@frozen(kw_only=True)
class ReadLine:
    """One recorded read: when, by whom, which kinds of data (never values), which channel.

    For the student, ``viewer`` is the staff member's display name and ``actor``,
    ``request_id`` are left out."""

    at: datetime
    student_number: str
    branch: str
    viewer: str
    roles: tuple[str, ...]
    kinds: tuple[str, ...]
    channel: str
    actor: str | None = None
    request_id: str | None = None


@frozen(kw_only=True)
class ReadPage:
    items: tuple[ReadLine, ...]
    next_before: datetime | None = None
    """Pass as ``before`` for the next (older) page; None when this was the last."""


@frozen(kw_only=True)
class ReadAlertView:
    alert_id: str
    branch: str
    actor: str
    rule: str
    """``reads_per_hour``, ``reads_per_day``, ``after_hours`` or ``exports_per_hour``."""
    window: str
    count: int
    threshold: int
    raised_at: datetime
    notices: tuple[str, ...] = ()
    """The texts sent to the branch manager (``channel: text``)."""
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    comment: str | None = None


@frozen(kw_only=True)
class ReadAlertPage:
    items: tuple[ReadAlertView, ...]


# -- the endpoints ---------------------------------------------------------------------------

_O = Operation
_ = Declare("approvals")

CONTRACTS: tuple[Contract, ...] = (
    _(ListMyReads, _O.READ_TRAIL_OWN, ReadPage, changes=False),
    _(ListStudentReads, _O.READ_TRAIL_READ, ReadPage, changes=False),
    _(ListStaffReads, _O.READ_TRAIL_READ, ReadPage, changes=False),
    _(ListReadAlerts, _O.READ_ALERT_READ, ReadAlertPage, changes=False),
    _(AcknowledgeReadAlert, _O.READ_ALERT_ACKNOWLEDGE, ReadAlertView, changes=True),
)
