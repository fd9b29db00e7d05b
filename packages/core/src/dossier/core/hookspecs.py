"""The hooks a branch plugin may implement (pluggy project ``dossier``).

A plugin is any module or object with functions marked ``@hookimpl`` whose
names match the specs below. Plugins are found through the entry-point group
``dossier.plugins`` and enabled per branch (`Branch.plugins`); the default
rules (`dossier.core.rules.default`) are always registered first, so a branch
plugin registered later is asked first and can override a ``firstresult`` hook.
Never call ``pm.hook`` directly: go through `dossier.core.plugins.BranchRules`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum

import pluggy
from attrs import field, frozen

from dossier.core.branch import Branch
from dossier.core.enums import DocumentKind, DocumentStage
from dossier.core.errors import Problem
from dossier.core.messages import Templates
from dossier.core.policy import Role
from dossier.core.records import Registration, ReviewFinding, StudentDossier
from dossier.core.student_number import StudentNumberFormat

PROJECT = "dossier"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class FieldKind(StrEnum):
    """What a value is, so that one rule serves every place the value appears."""

    PERSON_NAME = "person_name"
    PASSPORT_NAME = "passport_name"
    """A name as printed in a passport, beside the name as written; optional (blank → None)."""
    BIRTH_DATE = "birth_date"
    ID_DOCUMENT = "id_document"
    PHONE = "phone"
    """The student's own contact: a mobile number that can receive text messages."""
    GUARDIAN_PHONE = "guardian_phone"
    """A number a person answers, mobile or landline: the guardian's contact."""
    EMAIL = "email"
    ADDRESS = "address"
    FREE_TEXT = "free_text"


@frozen
class FieldCheck:
    """A checked value: normalised (``+8613800138000``) when valid, with any problems found."""

    value: object
    problems: tuple[Problem, ...] = ()


@frozen(kw_only=True)
class Notice:
    """Something to tell a student (变更通知…). Holds no personal data beyond the student number."""

    student_number: str
    kind: str
    token: str | None = None
    params: dict[str, str] = field(factory=dict)


@frozen(kw_only=True)
class StaffNotice:
    """Something to tell the staff holding ``role`` in a branch (a misuse alert to the branch
    manager…). ``params`` name staff accounts, rules and counts, never a student's data."""

    role: str
    kind: str
    params: dict[str, str] = field(factory=dict)


@frozen(kw_only=True)
class Delivery:
    """What a notify plugin did or queued: the channel and the text sent."""

    channel: str
    text: str


class DossierSpecs:
    @hookspec(firstresult=True)
    def dossier_check_field(
        self, branch: Branch, kind: FieldKind, path: str, value: object, today: date
    ) -> FieldCheck | None:
        """Check and normalise one value of the given kind found at ``path``.

        Return a `FieldCheck` (normalised value, problems naming ``path``), or
        None to leave the value to the next plugin. The first non-None answer
        wins, and the last registered plugin is asked first.
        """

    @hookspec
    def dossier_validate_registration(
        self, branch: Branch, registration: Registration, today: date
    ) -> Sequence[Problem]:
        """Cross-field rules for a registration whose fields each passed `dossier_check_field`.

        Return every problem found (empty when none); all plugins' lists are joined.
        """

    @hookspec
    def dossier_validate_change(
        self,
        branch: Branch,
        dossier: StudentDossier,
        values: Mapping[str, object],
        today: date,
    ) -> Sequence[Problem]:
        """Cross-field rules for a change request against the current dossier.

        ``values`` maps each changed path (``personal.birth_date``) to its parsed,
        normalised new value; fields that failed their own rule are left out.
        Return every problem found (empty when none); all plugins' lists are joined.
        """

    @hookspec(firstresult=True)
    def dossier_student_number_format(self, branch: Branch) -> StudentNumberFormat | None:
        """Return the student-number format for ``branch``, or None to defer.

        The default plugin answers with the chain's default format.
        """

    @hookspec
    def dossier_required_documents(
        self, branch: Branch, stage: DocumentStage
    ) -> Sequence[DocumentKind]:
        """Return the document kinds required at ``stage``; the union of all answers applies."""

    @hookspec
    def dossier_review_dossier(
        self, branch: Branch, dossier: StudentDossier, today: date
    ) -> Sequence[ReviewFinding]:
        """Quarterly review (定期审核) rules: return the findings for one dossier (or none)."""

    @hookspec(firstresult=True)
    def dossier_mask_value(
        self, branch: Branch, kind: FieldKind, value: str, role: Role
    ) -> str | None:
        """Return ``value`` as ``role`` may see it (``138****1234``), or None to defer."""

    @hookspec
    def dossier_notify_student(
        self, branch: Branch, notice: Notice, channels: Sequence[str]
    ) -> Delivery | None:
        """Tell a student about ``notice`` on one of ``channels`` (``outbox``, ``sms``…).

        Return the `Delivery` made or queued, or None when this plugin does not
        serve any of the channels. Text must not contain personal data beyond
        what the channel already holds (never an ID number).
        """

    @hookspec(firstresult=True)
    def dossier_notify_staff(
        self, branch: Branch, notice: StaffNotice, channels: Sequence[str]
    ) -> Delivery | None:
        """Tell the branch's staff of ``notice.role`` about ``notice`` on one of ``channels``
        (``outbox`` by default: kept with the alert; a plugin may send mail or a message).
        Return the `Delivery` made, or None when this plugin serves none of the channels."""

    @hookspec
    def dossier_messages(self) -> Templates:
        """Return message templates (rule code → locale → text) for the rules this plugin adds."""
