"""学员档案: a dossier, masked for the caller's role, and the search over the blind indexes."""

from __future__ import annotations

from datetime import date

from dossier.core.caller import Caller
from dossier.core.contracts.intake import DossierView, GetDossier, SearchDossiers, SearchResult
from dossier.core.errors import DossierError, Problem, ValidationError
from dossier.core.hookspecs import FieldKind
from dossier.core.plugins import BranchRules
from dossier.core.policy import Operation
from dossier.core.records import StudentDossier
from dossier.core.views import Masker
from dossier.intake.views import dossier_summary, dossier_view
from dossier.storage.blind_index import IndexKind
from dossier.storage.usecases import UseCases


class DossierHandlers(UseCases):
    def get_dossier(self, caller: Caller, query: GetDossier) -> DossierView:
        """The dossier, masked for the caller's role; what it shows unmasked is recorded in the
        read trail (查阅记录), committed before the answer leaves."""
        with self.db.unit_of_work() as uow:
            dossier = self._dossier(uow, caller.actor, Operation.DOSSIER_READ, query.student_number)
            mask = Masker(self._rules(dossier.branch), caller.actor)
            view = dossier_view(dossier, mask)
            read = (dossier.branch, dossier.student_number, mask.revealed_groups())
            self._recorded_reads(caller, [read], uow)
        return view

    def search(self, caller: Caller, query: SearchDossiers) -> SearchResult:
        """By student number, or (blind indexes) by phone, or by name + birth date + phone."""
        branch = self._branch(query.branch, "branch")
        self._require(caller.actor, Operation.DOSSIER_SEARCH, branch.code)
        rules = self.plugins.rules_for(branch)
        today = self._today(branch.code)
        with self.db.unit_of_work() as uow:
            numbers: set[str] = set()
            if query.student_number:
                numbers.add(query.student_number)
            if query.phone:
                phone = _checked(rules, FieldKind.PHONE, "phone", query.phone, today)
                if query.name and query.birth_date:
                    name = _checked(rules, FieldKind.PERSON_NAME, "name", query.name, today)
                    numbers.update(
                        uow.students.find_by_blind_index(
                            IndexKind.NAME_BIRTH_PHONE, (str(name), query.birth_date, str(phone))
                        )
                    )
                else:
                    numbers.update(uow.students.find_by_blind_index(IndexKind.PHONE, str(phone)))
            elif query.name:
                raise ValidationError(
                    [Problem("phone", "required")]
                )  # names are only searchable with phone (blind index)
            found: list[StudentDossier] = []
            for number in sorted(numbers):
                try:
                    dossier = uow.students.get(number)
                except DossierError:
                    continue
                if dossier.branch == branch.code:
                    found.append(dossier)
        items = []
        reads = []
        for dossier in found:
            mask = Masker(rules, caller.actor)
            items.append(dossier_summary(dossier, mask))
            reads.append((branch.code, dossier.student_number, mask.revealed_groups()))
        self._recorded_reads(caller, reads)
        return SearchResult(items=tuple(items))


def _checked(rules: BranchRules, kind: FieldKind, path: str, value: str, today: date) -> object:
    result = rules.check_field(kind, path, value, today)
    if result.problems:
        raise ValidationError(result.problems)
    return result.value
