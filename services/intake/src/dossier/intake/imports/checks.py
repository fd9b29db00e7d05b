"""Checking an import file's rows (`dossier.intake.imports`): the branch's rules exactly as an
online registration, then duplicates within the file and against the chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime

import attrs
from attrs import field, frozen
from sqlalchemy import Connection, and_, or_, select

from dossier.core.enums import Channel, RegistrationStatus, StudentStatus
from dossier.core.errors import Problem, ValidationError
from dossier.core.hookspecs import FieldKind
from dossier.core.plugins import BranchRules
from dossier.core.records import (
    Guardian,
    IdDocument,
    LearningNeeds,
    PersonalDetails,
    Registration,
)
from dossier.intake.imports.parsing import ParsedRow, cell_problem
from dossier.intake.imports.sheets import Header
from dossier.storage.blind_index import IndexKind
from dossier.storage.repositories.import_jobs import ImportProblem
from dossier.storage.repositories.registrations import KIND as REGISTRATION_OWNER
from dossier.storage.repositories.students import KIND as STUDENT_OWNER
from dossier.storage.schema import blind_indexes, registrations

PATH_COLUMNS: Mapping[str, str] = {
    "applicant.name": "name",
    "applicant.gender": "gender",
    "applicant.birth_date": "birth_date",
    "applicant.id_document": "id_number",
    "applicant.phone": "phone",
    "applicant.email": "email",
    "applicant.address": "address",
    "needs.target_language": "target_language",
    "needs.current_level": "current_level",
    "needs.goals": "goals",
    "needs.preferred_schedule": "preferred_schedule",
    "guardian": "guardian_name",
    "guardian.name": "guardian_name",
    "guardian.relation": "guardian_relation",
    "guardian.phone": "guardian_phone",
    "guardian_consent": "guardian_consent",
}
"""Where a rule's problem (a path into the registration) is shown: the column it came from."""


def column_of(path: str, rule: str) -> str:
    """The file column a validation problem belongs to (its path when none fits)."""
    if rule == "id_type_not_accepted":
        return "id_type"
    prefix = path
    while prefix:
        if prefix in PATH_COLUMNS:
            return PATH_COLUMNS[prefix]
        prefix = prefix.rpartition(".")[0]
    return path


@frozen(kw_only=True)
class CheckedRow:
    """A row after every check. ``registration``: the normalised record when the branch's
    rules accept it (it then claims its identity within the file); ``ok``: no problem at all."""

    number: int
    registration: Registration | None
    status: StudentStatus
    admitted_on: date | None
    problems: tuple[ImportProblem, ...]
    identity: Mapping[IndexKind, str] = field(factory=dict)

    @property
    def ok(self) -> bool:
        return self.registration is not None and not self.problems

    def with_problem(self, problem: ImportProblem) -> CheckedRow:
        return attrs.evolve(self, problems=(*self.problems, problem))


FIELD_CHECKS: tuple[tuple[str, FieldKind, str], ...] = (
    ("name", FieldKind.PERSON_NAME, "applicant.name"),
    ("birth_date", FieldKind.BIRTH_DATE, "applicant.birth_date"),
    ("phone", FieldKind.PHONE, "applicant.phone"),
    ("email", FieldKind.EMAIL, "applicant.email"),
    ("address", FieldKind.ADDRESS, "applicant.address"),
    ("target_language", FieldKind.FREE_TEXT, "needs.target_language"),
    ("current_level", FieldKind.FREE_TEXT, "needs.current_level"),
    ("goals", FieldKind.FREE_TEXT, "needs.goals"),
    ("preferred_schedule", FieldKind.FREE_TEXT, "needs.preferred_schedule"),
)
GUARDIAN_CHECKS: tuple[tuple[str, FieldKind, str], ...] = (
    ("guardian_name", FieldKind.PERSON_NAME, "guardian.name"),
    ("guardian_relation", FieldKind.FREE_TEXT, "guardian.relation"),
    ("guardian_phone", FieldKind.GUARDIAN_PHONE, "guardian.phone"),
)


class RowChecker:
    """Runs a parsed row through the branch's rules, exactly as an online registration.

    A row whose cells all parsed becomes a `Registration` (channel ``import``)
    checked by ``validate_registration``. A row with cells that did not parse
    cannot become one: its other cells still get their field rules
    (``check_field``), so the report shows every problem of the row at once;
    the cross-field rules run once its cells parse.
    """

    def __init__(self, rules: BranchRules, header: Header, today: date, at: datetime) -> None:
        self.rules = rules
        self.header = header
        self.today = today
        self.at = at

    def check(self, parsed: ParsedRow, registration_id: str) -> CheckedRow:
        values = parsed.values
        problems = [*parsed.problems, *self._dates(parsed)]
        registration: Registration | None = None
        if parsed.complete:
            try:
                registration = self.rules.validate_registration(
                    self._draft(parsed, registration_id), self.today
                )
            except ValidationError as invalid:
                problems.extend(self._located(parsed.number, p) for p in invalid.problems())
        else:
            problems.extend(self._field_problems(parsed))
        return CheckedRow(
            number=parsed.number,
            registration=registration,
            status=values.get("status", StudentStatus.ENROLLED),
            admitted_on=values.get("admitted_on"),
            problems=tuple(problems),
        )

    def _draft(self, parsed: ParsedRow, registration_id: str) -> Registration:
        v = parsed.values
        guardian = (
            Guardian(
                name=v["guardian_name"], relation=v["guardian_relation"], phone=v["guardian_phone"]
            )
            if parsed.has_guardian
            else None
        )
        return Registration(
            id=registration_id,
            branch=self.rules.branch.code,
            channel=Channel.IMPORT,
            applicant=PersonalDetails(
                name=v["name"],
                birth_date=v["birth_date"],
                id_document=IdDocument(type=v["id_type"], number=v["id_number"]),
                phone=v["phone"],
                gender=v["gender"],
                email=v["email"],
                address=v["address"],
            ),
            needs=LearningNeeds(
                target_language=v["target_language"],
                current_level=v["current_level"],
                goals=v["goals"],
                preferred_schedule=v["preferred_schedule"],
            ),
            guardian=guardian,
            guardian_consent=v["guardian_consent"],
            submitted_at=self.at,
        )

    def _dates(self, parsed: ParsedRow) -> list[ImportProblem]:
        admitted = parsed.values.get("admitted_on")
        born = parsed.values.get("birth_date")
        if admitted is None:
            return []
        if admitted > self.today:
            return [self._cell(parsed.number, "admitted_on", "date_in_future")]
        if born is not None and admitted < born:
            return [self._cell(parsed.number, "admitted_on", "before_birth_date")]
        return []

    def _field_problems(self, parsed: ParsedRow) -> list[ImportProblem]:
        values = parsed.values
        checks = [*FIELD_CHECKS, *(GUARDIAN_CHECKS if parsed.has_guardian else ())]
        failed = {problem.column for problem in parsed.problems}
        found: list[Problem] = []
        for column, kind, path in checks:
            if values.get(column) is not None and column not in failed:  # blank optional: None
                checked = self.rules.check_field(kind, path, values[column], self.today)
                found.extend(checked.problems)
        if "id_type" in values and "id_number" in values:
            document = IdDocument(type=values["id_type"], number=values["id_number"])
            found.extend(
                self.rules.check_field(
                    FieldKind.ID_DOCUMENT, "applicant.id_document", document, self.today
                ).problems
            )
        return [self._located(parsed.number, p) for p in found]

    def _located(self, row: int, problem: Problem) -> ImportProblem:
        column = column_of(problem.field, problem.rule)
        return cell_problem(self.header, row, column, problem.rule, problem.params)

    def _cell(self, row: int, column: str, rule: str) -> ImportProblem:
        return cell_problem(self.header, row, column, rule)


# -- duplicates ------------------------------------------------------------------------------

MATCHED_KINDS = (IndexKind.ID_DOCUMENT, IndexKind.NAME_BIRTH_PHONE)
MATCH_COLUMNS = {IndexKind.ID_DOCUMENT: "id_number", IndexKind.NAME_BIRTH_PHONE: "name"}


class FileIdentities:
    """The identities (blind-index digests) the rule-valid rows of one file have claimed."""

    def __init__(self, header: Header, digest: Callable[..., str]) -> None:
        self.header = header
        self._digest = digest
        self._claimed: dict[str, int] = {}

    def claim(self, row: CheckedRow) -> CheckedRow:
        """A rule-valid row claims its identities; a later row with one of them is a duplicate."""
        if row.registration is None:
            return row
        applicant = row.registration.applicant
        identity = {
            IndexKind.ID_DOCUMENT: self._digest(IndexKind.ID_DOCUMENT, applicant.id_document),
            IndexKind.NAME_BIRTH_PHONE: self._digest(
                IndexKind.NAME_BIRTH_PHONE,
                (applicant.name, applicant.birth_date, applicant.phone),
            ),
        }
        row = attrs.evolve(row, identity=identity)
        duplicate: ImportProblem | None = None
        for kind, digest in identity.items():
            first = self._claimed.setdefault(digest, row.number)
            if first != row.number and duplicate is None:
                duplicate = cell_problem(
                    self.header,
                    row.number,
                    MATCH_COLUMNS[kind],
                    "duplicate_in_file",
                    {"first_row": first, "matched_on": kind.value},
                )
        return row if duplicate is None else row.with_problem(duplicate)


def with_chain_duplicates(
    conn: Connection, rows: Sequence[CheckedRow], header: Header
) -> list[CheckedRow]:
    """Rows matching a student, or a pending registration, anywhere in the chain get a problem.

    One query per chunk over the blind indexes (ID document; name + birth
    date + phone). Phone alone is not a duplicate: families share phones.
    """
    wanted = {
        digest: kind
        for row in rows
        if row.ok
        for kind, digest in row.identity.items()
        if kind in MATCHED_KINDS
    }
    if not wanted:
        return list(rows)
    owner = registrations.c.id == blind_indexes.c.owner_id
    query = (
        select(blind_indexes.c.digest)
        .select_from(
            blind_indexes.outerjoin(
                registrations, and_(blind_indexes.c.owner_kind == REGISTRATION_OWNER, owner)
            )
        )
        .where(
            blind_indexes.c.kind.in_([k.value for k in MATCHED_KINDS]),
            blind_indexes.c.digest.in_(list(wanted)),
            or_(
                blind_indexes.c.owner_kind == STUDENT_OWNER,
                registrations.c.status == RegistrationStatus.SUBMITTED.value,
            ),
        )
    )
    found = set(conn.execute(query).scalars())
    return [_chain_checked(row, found, header) for row in rows]


def _chain_checked(row: CheckedRow, found: set[str], header: Header) -> CheckedRow:
    if not row.ok:
        return row
    for kind in MATCHED_KINDS:
        if row.identity.get(kind) in found:
            return row.with_problem(
                cell_problem(
                    header,
                    row.number,
                    MATCH_COLUMNS[kind],
                    "duplicate_in_chain",
                    {"matched_on": kind.value},
                )
            )
    return row
