"""Plugin discovery and the one typed wrapper every hook call goes through.

`PluginHost` knows the available plugins by name (entry points of group
``dossier.plugins``, or a mapping given by the caller — tests build it
without entry points). `PluginHost.rules_for(branch)` returns `BranchRules`:
a plugin manager holding the default rules plus the branch's enabled plugins,
with typed methods for each hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from importlib.metadata import entry_points
from typing import Any

import attrs
import pluggy

from dossier.core import hookspecs
from dossier.core.branch import Branch
from dossier.core.changes import CHANGEABLE, current_value, parse_value
from dossier.core.enums import DocumentKind, DocumentStage
from dossier.core.errors import Problem, ValidationError
from dossier.core.hookspecs import Delivery, FieldCheck, FieldKind, Notice, StaffNotice
from dossier.core.messages import DEFAULT_CATALOGUE, Catalogue
from dossier.core.policy import Role
from dossier.core.records import (
    FieldChange,
    IdDocument,
    Registration,
    ReviewFinding,
    StudentDossier,
)
from dossier.core.student_number import DEFAULT_FORMAT, StudentNumberFormat
from dossier.core.wire import Partial

ENTRY_POINT_GROUP = "dossier.plugins"
DEFAULT_PLUGIN = "default"

REGISTRATION_FIELDS: Mapping[str, FieldKind] = {
    "applicant.name": FieldKind.PERSON_NAME,
    "applicant.birth_date": FieldKind.BIRTH_DATE,
    "applicant.id_document": FieldKind.ID_DOCUMENT,
    "applicant.phone": FieldKind.PHONE,
    "applicant.email": FieldKind.EMAIL,
    "applicant.address": FieldKind.ADDRESS,
    "applicant.passport_name": FieldKind.PASSPORT_NAME,
    "guardian.name": FieldKind.PERSON_NAME,
    "guardian.relation": FieldKind.FREE_TEXT,
    "guardian.phone": FieldKind.GUARDIAN_PHONE,
    "guardian.id_document": FieldKind.ID_DOCUMENT,
    "needs.target_language": FieldKind.FREE_TEXT,
    "needs.current_level": FieldKind.FREE_TEXT,
    "needs.goals": FieldKind.FREE_TEXT,
    "needs.preferred_schedule": FieldKind.FREE_TEXT,
}
"""Every field of a registration (and of its submission) that a field rule checks, by path,
with the kind of its value. The guardian's are checked when there is a guardian."""

OPTIONAL_FIELDS = frozenset(
    {"applicant.email", "applicant.address", "applicant.passport_name", "guardian.id_document"}
)
"""Fields left out (None) are not checked; every other field is, whatever its value."""

_VALUE_TYPES: Mapping[FieldKind, type[object]] = {
    FieldKind.BIRTH_DATE: date,
    FieldKind.ID_DOCUMENT: IdDocument,
}
"""What a value of each kind is on the wire when it is not text."""


class UnknownPlugin(LookupError):
    """A branch enables a plugin that is not installed."""


def discover_plugins() -> dict[str, object]:
    """Load every installed plugin of group ``dossier.plugins``, by entry-point name."""
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


class PluginHost:
    def __init__(self, plugins: Mapping[str, object] | None = None) -> None:
        if plugins is None:
            plugins = discover_plugins()
        if DEFAULT_PLUGIN not in plugins:
            from dossier.core.rules import default

            plugins = {DEFAULT_PLUGIN: default, **plugins}
        self._plugins = dict(plugins)
        self._cache: dict[Branch, BranchRules] = {}

    @property
    def available(self) -> tuple[str, ...]:
        return tuple(self._plugins)

    def rules_for(self, branch: Branch) -> BranchRules:
        rules = self._cache.get(branch)
        if rules is None:
            missing = [name for name in branch.plugins if name not in self._plugins]
            if missing:
                raise UnknownPlugin(f"branch {branch.code} enables unknown plugin(s): {missing}")
            names = [DEFAULT_PLUGIN, *(n for n in branch.plugins if n != DEFAULT_PLUGIN)]
            rules = BranchRules(branch, [(n, self._plugins[n]) for n in names])
            self._cache[branch] = rules
        return rules


class BranchRules:
    """The branch's rules, as typed methods over its plugin manager."""

    def __init__(self, branch: Branch, plugins: Iterable[tuple[str, object]]) -> None:
        self.branch = branch
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs.DossierSpecs)
        for name, plugin in plugins:
            self._pm.register(plugin, name=name)
        self._pm.check_pending()
        self._hook: Any = self._pm.hook
        extra: dict[str, Any] = {}
        for templates in self._hook.dossier_messages():
            extra.update(templates)
        self.catalogue: Catalogue = DEFAULT_CATALOGUE.merged(extra)

    @property
    def plugin_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._pm.list_name_plugin())

    # -- single values -------------------------------------------------------------

    def check_field(self, kind: FieldKind, path: str, value: object, today: date) -> FieldCheck:
        result: FieldCheck | None = self._hook.dossier_check_field(
            branch=self.branch, kind=kind, path=path, value=value, today=today
        )
        return result if result is not None else FieldCheck(value)

    # -- whole records -------------------------------------------------------------

    def validate_registration(self, registration: Registration, today: date) -> Registration:
        """Every field rule and every cross-field rule; the normalised record, or all problems.

        Cross-field rules see the record with whatever could be normalised and
        must themselves skip a comparison whose inputs are invalid.
        """
        checker = _Checker(self, today)
        normalised = checker.registration(registration)
        problems = checker.problems + self._joined(
            self._hook.dossier_validate_registration(
                branch=self.branch, registration=normalised, today=today
            )
        )
        problems.extend(self._missing_documents(DocumentStage.REGISTRATION, registration))
        if problems:
            raise ValidationError(problems)
        return normalised

    def check_fields(
        self, partial: Partial, fields: Mapping[str, FieldKind], today: date
    ) -> list[Problem]:
        """The field rules of a body that failed its shape, over its well-shaped fields.

        ``fields`` maps paths (``applicant.phone``) to kinds; a field that failed its
        shape, or was left out, is skipped. Cross-field rules need the whole record
        and wait for a body that has its shape.
        """
        problems: list[Problem] = []
        for path, kind in fields.items():
            value = partial.get(path, _VALUE_TYPES.get(kind, str))
            if value is not None:
                problems.extend(self.check_field(kind, path, value, today).problems)
        return problems

    def validate_change(
        self, dossier: StudentDossier, changes: Sequence[FieldChange], today: date
    ) -> dict[str, object]:
        """Check a change request against the dossier: the parsed, normalised new values by path.

        Raises `ValidationError` with every problem: unknown or repeated
        fields, values that break a field rule, values equal to the current
        one, and the plugins' cross-field rules.
        """
        problems: list[Problem] = []
        values: dict[str, object] = {}
        valid: dict[str, object] = {}
        for change in changes:
            path = change.field
            kind = CHANGEABLE.get(path)
            if kind is None:
                problems.append(Problem(path, "not_changeable"))
                continue
            if path in values:
                problems.append(Problem(path, "duplicate_field"))
                continue
            value, parse_problems = parse_value(path, change.after)
            problems.extend(parse_problems)
            field_problems = list(parse_problems)
            if value is not None and not parse_problems:
                checked = self.check_field(kind, path, value, today)
                field_problems.extend(checked.problems)
                value = checked.value
            if not parse_problems and value == current_value(dossier, path):
                field_problems.append(Problem(path, "unchanged"))
            problems.extend(field_problems)
            values[path] = value
            if not field_problems:
                valid[path] = value
        problems.extend(
            self._joined(
                self._hook.dossier_validate_change(
                    branch=self.branch, dossier=dossier, values=valid, today=today
                )
            )
        )
        if problems:
            raise ValidationError(problems)
        return values

    def student_number_format(self) -> StudentNumberFormat:
        fmt: StudentNumberFormat | None = self._hook.dossier_student_number_format(
            branch=self.branch
        )
        return fmt or DEFAULT_FORMAT

    def required_documents(self, stage: DocumentStage) -> frozenset[DocumentKind]:
        answers = self._hook.dossier_required_documents(branch=self.branch, stage=stage)
        return frozenset(kind for kinds in answers for kind in kinds)

    def review(self, dossier: StudentDossier, today: date) -> list[ReviewFinding]:
        answers = self._hook.dossier_review_dossier(
            branch=self.branch, dossier=dossier, today=today
        )
        return [finding for findings in answers for finding in findings]

    def mask(self, kind: FieldKind, value: str, role: Role) -> str:
        masked: str | None = self._hook.dossier_mask_value(
            branch=self.branch, kind=kind, value=value, role=role
        )
        return value if masked is None else masked

    def notify_staff(self, notice: StaffNotice, channels: Sequence[str]) -> list[Delivery]:
        answer: Delivery | None = self._hook.dossier_notify_staff(
            branch=self.branch, notice=notice, channels=list(channels)
        )
        return [] if answer is None else [answer]

    def notify(self, notice: Notice, channels: Sequence[str]) -> list[Delivery]:
        answers = self._hook.dossier_notify_student(
            branch=self.branch, notice=notice, channels=list(channels)
        )
        return list(answers)

    def _joined(self, answers: Iterable[Sequence[Problem]]) -> list[Problem]:
        return [problem for problems in answers for problem in problems]

    def _missing_documents(self, stage: DocumentStage, registration: Registration) -> list[Problem]:
        present = {doc.kind for doc in registration.documents}
        return [
            Problem("documents", "document_required", {"kind": kind.value})
            for kind in sorted(self.required_documents(stage) - present)
        ]


class _Checker:
    """Runs `dossier_check_field` over a registration's fields, collecting every problem."""

    def __init__(self, rules: BranchRules, today: date) -> None:
        self.rules = rules
        self.today = today
        self.problems: list[Problem] = []

    def registration(self, registration: Registration) -> Registration:
        """The registration with each of its `REGISTRATION_FIELDS` normalised where valid."""
        groups: dict[str, dict[str, Any]] = {}
        for path, kind in REGISTRATION_FIELDS.items():
            group, _, name = path.partition(".")
            holder = getattr(registration, group)
            if holder is None:  # no guardian
                continue
            value = getattr(holder, name)
            if value is None and path in OPTIONAL_FIELDS:
                continue
            result = self.rules.check_field(kind, path, value, self.today)
            self.problems.extend(result.problems)
            checked = result.value
            if kind is FieldKind.ID_DOCUMENT and not isinstance(checked, IdDocument):
                checked = value
            groups.setdefault(group, {})[name] = checked
        return attrs.evolve(
            registration,
            **{
                group: attrs.evolve(getattr(registration, group), **values)
                for group, values in groups.items()
            },
        )
