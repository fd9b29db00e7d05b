"""Change requests (信息变更): parsing submitted text per field, and applying approved values."""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.core.changes import (
    CHANGEABLE,
    OPTIONAL,
    apply_changes,
    changed_paths,
    current_value,
    parse_value,
    render_value,
)
from dossier.core.enums import Gender, IdDocumentType
from dossier.core.hookspecs import FieldKind
from dossier.core.records import Guardian, IdDocument
from tests.support.builders import dossier, field_change, guardian

GROUPS = ("personal", "guardian", "needs")

EXAMPLES: dict[str, tuple[str, object]] = {
    "personal.name": ("Li Na", "Li Na"),
    "personal.birth_date": ("2001-02-28", date(2001, 2, 28)),
    "personal.id_document": (
        "passport:E12345678",
        IdDocument(type=IdDocumentType.PASSPORT, number="E12345678"),
    ),
    "personal.phone": ("+8613900001111", "+8613900001111"),
    "personal.email": ("li.na@example.com", "li.na@example.com"),
    "personal.address": ("广州市天河区1号", "广州市天河区1号"),
    "personal.passport_name": ("LI NA", "LI NA"),
    "personal.gender": ("female", Gender.FEMALE),
    "guardian.name": ("Li Qiang", "Li Qiang"),
    "guardian.relation": ("mother", "mother"),
    "guardian.phone": ("+8613700002222", "+8613700002222"),
    "needs.target_language": ("ja", "ja"),
    "needs.current_level": ("N3", "N3"),
    "needs.goals": ("JLPT N2", "JLPT N2"),
    "needs.preferred_schedule": ("evenings", "evenings"),
}
"""A valid submitted text for every changeable path, and the value it parses to."""


def test_every_changeable_path_has_an_example_and_a_known_group() -> None:
    assert set(EXAMPLES) == set(CHANGEABLE)
    assert {path.partition(".")[0] for path in CHANGEABLE} == set(GROUPS)
    assert set(CHANGEABLE) >= OPTIONAL


def test_field_kinds_drive_the_branch_rules() -> None:
    assert CHANGEABLE["personal.birth_date"] is FieldKind.BIRTH_DATE
    assert CHANGEABLE["personal.id_document"] is FieldKind.ID_DOCUMENT
    assert CHANGEABLE["guardian.phone"] is FieldKind.GUARDIAN_PHONE
    assert CHANGEABLE["personal.email"] is FieldKind.EMAIL


# -- parse_value ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_parse_value_of_every_path(path: str) -> None:
    text, value = EXAMPLES[path]
    assert parse_value(path, text) == (value, [])
    assert render_value(value) == text


@pytest.mark.parametrize("path", sorted(CHANGEABLE))
@pytest.mark.parametrize("blank", [None, ""])
def test_blank_clears_only_optional_fields(path: str, blank: str | None) -> None:
    value, problems = parse_value(path, blank)
    assert value is None
    if path in OPTIONAL:
        assert problems == []
    else:
        assert [(p.field, p.rule) for p in problems] == [(path, "required")]


@pytest.mark.parametrize("text", ["2001-02-30", "2001-13-01", "yesterday", "01/02/2001", "2001"])
def test_a_bad_birth_date_is_invalid_date(text: str) -> None:
    value, problems = parse_value("personal.birth_date", text)
    assert value is None
    assert [(p.field, p.rule) for p in problems] == [("personal.birth_date", "invalid_date")]


@pytest.mark.parametrize("text", ["Female", "f", "unknown", "女"])
def test_a_bad_gender_lists_the_allowed_ones(text: str) -> None:
    value, problems = parse_value("personal.gender", text)
    assert value is None
    (problem,) = problems
    assert (problem.field, problem.rule) == ("personal.gender", "not_allowed_value")
    assert problem.params["allowed"] == ", ".join(g.value for g in Gender)


@pytest.mark.parametrize("document_type", list(IdDocumentType))
def test_every_id_document_type_parses(document_type: IdDocumentType) -> None:
    text = f"{document_type.value}:AB1234567"
    value, problems = parse_value("personal.id_document", text)
    assert problems == []
    assert value == IdDocument(type=document_type, number="AB1234567")
    assert render_value(value) == text


def test_an_id_number_may_contain_a_colon() -> None:
    value, _ = parse_value("personal.id_document", "other:A:1")
    assert value == IdDocument(type=IdDocumentType.OTHER, number="A:1")


@pytest.mark.parametrize(
    "text", ["passport", "passport:", ":E1234567", "visa:E1234567", "PASSPORT:E1234567"]
)
def test_a_malformed_id_document_asks_for_type_and_number(text: str) -> None:
    value, problems = parse_value("personal.id_document", text)
    assert value is None
    (problem,) = problems
    assert (problem.field, problem.rule) == ("personal.id_document", "wrong_type")
    assert problem.params == {"expected": "id_document_text"}
    assert "E1234567" not in str(problem.params)


@settings(max_examples=100, deadline=None)
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_dates_round_trip_through_their_text(day: date) -> None:
    assert parse_value("personal.birth_date", render_value(day)) == (day, [])


def test_render_value_of_missing_and_enum_values() -> None:
    assert render_value(None) is None
    assert render_value(Gender.OTHER) == "other"
    assert render_value("as is") == "as is"


# -- current_value ---------------------------------------------------------------------------


def test_current_value_reads_every_path() -> None:
    record = dossier(guardian=guardian())
    for path in CHANGEABLE:
        group, _, name = path.partition(".")
        assert current_value(record, path) == getattr(getattr(record, group), name)


def test_current_value_of_a_guardian_field_without_guardian_is_none() -> None:
    record = dossier(guardian=None)
    assert current_value(record, "guardian.name") is None
    assert current_value(record, "guardian.phone") is None


# -- apply_changes ---------------------------------------------------------------------------


def _everything_but(record: Any, paths: set[str]) -> dict[str, object]:
    return {path: current_value(record, path) for path in CHANGEABLE if path not in paths}


@pytest.mark.parametrize("path", sorted(EXAMPLES))
def test_apply_sets_exactly_one_field(path: str) -> None:
    record = dossier(guardian=guardian())
    _, value = EXAMPLES[path]
    changed = apply_changes(record, {path: value})
    assert current_value(changed, path) == value
    assert _everything_but(changed, {path}) == _everything_but(record, {path})
    assert changed.version == record.version + 1
    untouched = {"personal", "guardian", "needs", "version"}
    for attribute in attrs.fields(type(record)):
        if attribute.name not in untouched:
            assert getattr(changed, attribute.name) == getattr(record, attribute.name)


paths = st.lists(st.sampled_from(sorted(EXAMPLES)), unique=True, min_size=1)


@settings(max_examples=60, deadline=None)
@given(chosen=paths)
def test_apply_sets_the_approved_values_and_bumps_the_version_once(chosen: list[str]) -> None:
    record = dossier(guardian=guardian())
    values = {path: EXAMPLES[path][1] for path in chosen}
    changed = apply_changes(record, values)
    for path, value in values.items():
        assert current_value(changed, path) == value
    assert _everything_but(changed, set(chosen)) == _everything_but(record, set(chosen))
    assert changed.version == record.version + 1
    assert changed.history == record.history
    assert changed.status is record.status
    assert record == dossier(guardian=guardian())


def test_apply_without_bump_keeps_the_version() -> None:
    record = dossier()
    assert apply_changes(record, {"needs.goals": "fluency"}, bump=False).version == record.version


def test_apply_can_clear_an_optional_field() -> None:
    changed = apply_changes(dossier(), {"personal.email": None, "personal.address": None})
    assert changed.personal.email is None
    assert changed.personal.address is None


@pytest.mark.parametrize(
    "path", ["personal.nickname", "status", "guardian.id_document", "needs", "", "student_number"]
)
def test_apply_refuses_a_path_that_is_not_changeable(path: str) -> None:
    record = dossier()
    with pytest.raises(KeyError):
        apply_changes(record, {"needs.goals": "x", path: "value"})


def test_a_guardian_is_created_for_a_dossier_without_one() -> None:
    record = dossier(guardian=None)
    changed = apply_changes(
        record,
        {
            "guardian.name": "Li Qiang",
            "guardian.relation": "mother",
            "guardian.phone": "+8613700002222",
        },
    )
    assert changed.guardian == Guardian(name="Li Qiang", relation="mother", phone="+8613700002222")
    assert changed.personal == record.personal


def test_a_partial_new_guardian_keeps_the_missing_fields_blank() -> None:
    changed = apply_changes(dossier(guardian=None), {"guardian.phone": "+8613700002222"})
    assert changed.guardian == Guardian(name="", relation="", phone="+8613700002222")


def test_an_existing_guardian_keeps_its_other_fields() -> None:
    before = guardian(id_document=IdDocument(type=IdDocumentType.PASSPORT, number="G1"))
    changed = apply_changes(dossier(guardian=before), {"guardian.phone": "+8613700002222"})
    assert changed.guardian == attrs.evolve(before, phone="+8613700002222")


def test_changed_paths_lists_the_fields_in_order() -> None:
    changes = [field_change("needs.goals", "a"), field_change("personal.phone", "b")]
    assert changed_paths(changes) == ("needs.goals", "personal.phone")
    assert changed_paths([]) == ()
