"""Every problem at once: shape problems and the branch's rules come back in one answer.

The desk below is a use case written as the services write theirs
(`dossier.intake.handlers.submit_registration`): the branch's rules over a body,
or — through `checks_partial` — over what of a body had its shape.
"""

from __future__ import annotations

import string
from datetime import date
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dossier.core.rules.hongkong
from dossier.core import shape, wire
from dossier.core.attachments import Attachment
from dossier.core.branch import Branch
from dossier.core.commands import SubmitRegistration
from dossier.core.enums import Channel, Locale
from dossier.core.errors import AccessDenied, Problem, ValidationError
from dossier.core.plugins import REGISTRATION_FIELDS, PluginHost
from dossier.core.records import Registration
from dossier.core.shape import Unshaped, checks_partial
from dossier.core.wire import Partial, ShapeError
from tests.support.builders import AT, BRANCH, PERSONAL_MARKERS, submission

TODAY = AT.date()
SH = Branch(code=BRANCH, name="上海一校")
HK = Branch(code="HK01", name="香港校区", plugins=("hongkong",))
HOST = PluginHost({"hongkong": dossier.core.rules.hongkong})
CALLER = object()


class Desk:
    def __init__(self, branch: Branch = SH) -> None:
        self.branch = branch
        self.rules = HOST.rules_for(branch)

    def _partial_rules(self, caller: object, partial: Partial) -> list[Problem]:
        whole = partial.whole()
        if isinstance(whole, SubmitRegistration):  # only unknown keys were refused
            return self._problems(whole)
        return self.rules.check_fields(partial, REGISTRATION_FIELDS, TODAY)

    @checks_partial(_partial_rules)
    def submit(self, caller: object, command: SubmitRegistration) -> str:
        problems = self._problems(command)
        if problems:
            raise ValidationError(problems)
        return "submitted"

    def _problems(self, command: SubmitRegistration) -> list[Problem]:
        draft = Registration(
            id="reg-1",
            branch=self.branch.code,
            channel=command.channel,
            applicant=command.applicant,
            needs=command.needs,
            guardian=command.guardian,
            guardian_consent=command.guardian_consent,
            submitted_at=AT,
        )
        try:
            self.rules.validate_registration(draft, TODAY)
        except ValidationError as invalid:
            return list(invalid.problems())
        return []


def body(**overrides: Any) -> dict[str, Any]:
    """A valid ``registration.submit`` body as JSON data, top-level keys overridden."""
    data: dict[str, Any] = wire.unstructure(submission())
    data.update(overrides)
    return data


def answer(data: dict[str, Any], desk: Desk | None = None) -> str | list[Problem]:
    """What a service answers: the use case's result, or every problem."""
    desk = desk or Desk()
    try:
        return desk.submit(CALLER, shape.loads(orjson.dumps(data), SubmitRegistration, desk.submit))
    except ValidationError as refused:
        return list(refused.problems())


def located(answered: str | list[Problem]) -> list[tuple[str, str]]:
    assert isinstance(answered, list), f"expected problems, got {answered!r}"
    return [(problem.field, problem.rule) for problem in answered]


# -- the four problems of issue 13 --------------------------------------------------------------


def test_a_submission_with_four_problems_gets_all_four_in_one_answer() -> None:
    data = body(channel="fax", nickname="Xiao Zhang")
    data["applicant"].update(birth_date="1990-13-45", phone="12345")

    answered = answer(data)

    assert located(answered) == [
        ("channel", "not_allowed_value"),
        ("applicant.birth_date", "wrong_type"),
        ("nickname", "unknown_field"),
        ("applicant.phone", "phone_format"),
    ]
    assert isinstance(answered, list)
    messages = " ".join(p.message(locale) for p in answered for locale in Locale)
    assert not any(value in messages for value in ("fax", "1990-13-45", "12345", "Xiao Zhang"))


CHANNELS = {channel.value for channel in Channel}
FIELDS = {"type", "branch", "channel", "applicant", "needs", "guardian", "guardian_consent"}
BAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "channel": st.text(max_size=12).filter(lambda value: value not in CHANNELS),
    "applicant.birth_date": st.one_of(
        st.builds(
            "{:04d}-{:02d}-{:02d}".format,
            st.integers(1900, 2020),
            st.integers(13, 99),
            st.integers(1, 28),
        ),
        st.sampled_from(["1990-02-30", "1999/12/31", "31.12.1999", "", "yesterday"]),
        st.integers(-(2**63), 2**63 - 1),  # JSON numbers as orjson writes them
    ),
    "unknown key": st.text(string.ascii_lowercase + "_", min_size=1, max_size=12).filter(
        lambda key: key not in FIELDS | {"attachments"}
    ),
    "applicant.phone": st.from_regex(r"[0-9]{1,5}", fullmatch=True),  # no valid number is so short
}
RULES = {
    "channel": "not_allowed_value",
    "applicant.birth_date": "wrong_type",
    "unknown key": "unknown_field",
    "applicant.phone": "phone_format",
}


@given(defects=st.fixed_dictionaries({}, optional=BAD_VALUES))
def test_any_subset_of_the_four_defects_is_reported_exactly(defects: dict[str, Any]) -> None:
    data = body()
    expected: list[tuple[str, str]] = []
    for defect, value in defects.items():
        if defect == "unknown key":
            data[value] = "Xiao Zhang"
            expected.append((value, RULES[defect]))
            continue
        group, _, name = defect.partition(".")
        if name:
            data[group][name] = value
        else:
            data[group] = value
        expected.append((defect, RULES[defect]))

    answered = answer(data)

    if not defects:
        assert answered == "submitted"
    else:
        assert sorted(located(answered)) == sorted(expected)


# -- which rules run on a body that failed its shape -------------------------------------------


def test_a_rule_whose_field_failed_its_shape_is_skipped_and_the_others_run() -> None:
    data = body()
    data["applicant"].update(phone=13812345678, email="not-an-email", name="1234")
    data["needs"]["target_language"] = "   "

    assert located(answer(data)) == [
        ("applicant.phone", "wrong_type"),  # not also phone_format: that rule is skipped
        ("applicant.name", "name_characters"),
        ("applicant.email", "email_format"),
        ("needs.target_language", "required"),
    ]


def test_a_rule_of_a_value_holding_a_failed_field_is_skipped_its_neighbours_run() -> None:
    data = body()
    data["applicant"]["id_document"] = {"type": "hkid", "number": 5}
    data["guardian"] = {"name": "1234", "relation": "father", "phone": ["+8613987654321"]}

    assert located(answer(data)) == [
        ("applicant.id_document.number", "wrong_type"),  # not also id_type_not_accepted
        ("guardian.phone", "wrong_type"),
        ("guardian.name", "name_characters"),
    ]


def test_unknown_keys_alone_leave_the_body_whole_so_cross_field_rules_run_too() -> None:
    data = body(nickname="Xiao Zhang", guardian=None, guardian_consent=False)
    data["applicant"].update(
        birth_date="2015-06-01", id_document={"type": "passport", "number": "E12345678"}
    )

    assert located(answer(data)) == [
        ("nickname", "unknown_field"),
        ("guardian", "guardian_required"),
        ("guardian_consent", "guardian_consent_required"),
    ]


def test_a_body_without_its_shape_leaves_the_cross_field_rules_for_later() -> None:
    data = body(channel="fax", guardian=None, guardian_consent=False)
    data["applicant"].update(
        birth_date="2015-06-01", id_document={"type": "passport", "number": "E12345678"}
    )

    assert located(answer(data)) == [("channel", "not_allowed_value")]


def test_the_branch_plugins_judge_the_well_shaped_fields() -> None:
    data = body(channel="fax")
    data["applicant"]["id_document"] = {"type": "hkid", "number": "A123456(3)"}

    assert located(answer(data, Desk(SH))) == [
        ("channel", "not_allowed_value"),
        ("applicant.id_document", "id_type_not_accepted"),
    ]
    assert located(answer(data, Desk(HK))) == [("channel", "not_allowed_value")]


def test_a_use_case_without_checks_partial_is_refused_the_body_as_before() -> None:
    def plain(caller: object, command: SubmitRegistration) -> str:
        return "submitted"

    with pytest.raises(ShapeError) as refused:
        shape.loads(orjson.dumps(body(channel="fax")), SubmitRegistration, plain)
    assert located(list(refused.value.problems())) == [("channel", "not_allowed_value")]


def test_malformed_json_is_refused_before_any_use_case() -> None:
    with pytest.raises(ValidationError) as refused:
        shape.loads(b"{not json", SubmitRegistration, Desk().submit)
    assert located(list(refused.value.problems())) == [("body", "malformed_json")]


def test_a_refusal_of_the_caller_leaves_the_shape_problems_to_answer_alone() -> None:
    with pytest.raises(ShapeError) as caught:
        wire.loads(orjson.dumps(body(channel="fax")), SubmitRegistration)

    def refuse(partial: Partial) -> list[Problem]:
        raise AccessDenied("registration.submit", "branch_out_of_scope")

    merged = Unshaped(caught.value).answer(refuse)
    assert located(list(merged.problems())) == [("channel", "not_allowed_value")]


# -- Partial and the merged answer ---------------------------------------------------------------


def partial_of(data: Any) -> Partial:
    with pytest.raises(ShapeError) as caught:
        wire.structure(data, SubmitRegistration)
    return caught.value.partial


def test_partial_gives_out_only_well_shaped_fields_without_unknown_keys() -> None:
    data = body(channel="fax", nickname="x")
    data["applicant"].update(phone=5, extra="y")
    data["attachments"] = [
        {"kind": "id_proof", "media_type": "image/png", "content": "AA=="},
        {"kind": "id_proof", "media_type": 7, "content": "AA=="},
    ]
    partial = partial_of(data)

    assert partial.failed == {
        ("channel",),
        ("applicant", "phone"),
        ("attachments", 1, "media_type"),
    }
    assert partial.get("channel", Channel) is None
    assert partial.get("applicant.phone", str) is None
    assert partial.get("applicant", dict) is None  # holds a failed field
    assert partial.get("applicant.name", str) == PERSONAL_MARKERS[0]
    assert partial.get("applicant.birth_date", date) == date(1999, 12, 31)
    assert partial.get("applicant.address", str) is not None
    assert partial.get("applicant.nothing", str) is None
    assert "nickname" not in partial.data
    assert "extra" not in partial.data["applicant"]
    assert [index for index, _ in partial.items("attachments", Attachment)] == [0]
    assert not partial.ok("attachments")
    assert partial.ok("attachments[0]")
    assert partial.whole() is None


def test_partial_is_whole_when_unknown_keys_were_the_only_problems() -> None:
    data = body(nickname="x")
    data["needs"]["mood"] = "keen"

    assert partial_of(data).whole() == submission()


def test_the_merged_answer_keeps_each_fields_problems_together_required_first() -> None:
    with pytest.raises(ShapeError) as caught:
        wire.loads(orjson.dumps(body(channel="fax", nickname="x")), SubmitRegistration)
    found = [
        Problem("applicant.phone", "phone_format"),
        Problem("nickname", "not_allowed_value"),
        Problem("channel", "required"),  # at a field that failed its shape: left out
        Problem("applicant.phone", "required"),
        Problem("needs.goals", "required"),
        Problem("applicant.phone", "phone_format"),  # once is enough
    ]

    assert located(list(shape.merged(caught.value, found).problems())) == [
        ("channel", "not_allowed_value"),
        ("nickname", "unknown_field"),
        ("nickname", "not_allowed_value"),
        ("applicant.phone", "required"),
        ("applicant.phone", "phone_format"),
        ("needs.goals", "required"),
    ]
