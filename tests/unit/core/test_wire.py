"""The wire format: every command and event round-trips; bad input becomes field problems."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dossier.core import commands as cmd
from dossier.core import events as ev
from dossier.core.attachments import Attachment
from dossier.core.commands import ALL_COMMANDS
from dossier.core.contracts.intake import RegistrationReceipt
from dossier.core.enums import (
    ChangeStatus,
    Channel,
    ConsentGiver,
    ConsentPurpose,
    Decision,
    DestructionStatus,
    DocumentKind,
    FindingStatus,
    Gender,
    IdDocumentType,
    Locale,
    PaymentMethod,
    RegistrationStatus,
    ReviewRunStatus,
    StudentStatus,
)
from dossier.core.errors import Problem, ValidationError
from dossier.core.events import ALL_EVENTS
from dossier.core.records import (
    DocumentRef,
    FieldChange,
    Guardian,
    IdDocument,
    LearningNeeds,
    PersonalDetails,
)
from dossier.core.wire import command_from, dumps, event_from, loads, read_answer, structure

MARKER = "MARKER-93c1e7"
"""A submitted value no problem message may ever quote."""

# -- strategies that respect the attrs validators --------------------------------------

text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
"""Any text a field takes: the wire refuses NUL (``control_characters``), PostgreSQL cannot
store it."""
opt_text = st.none() | text
int64 = st.integers(-(2**63), 2**63 - 1)
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-9, minutes=-30))]
)
aware = st.datetimes(timezones=offsets)
dates = st.dates()
ids = st.uuids().map(str)

id_documents = st.builds(IdDocument, type=st.sampled_from(IdDocumentType), number=text)
personal = st.builds(
    PersonalDetails,
    name=text,
    birth_date=dates,
    id_document=id_documents,
    phone=text,
    gender=st.sampled_from(Gender),
    email=opt_text,
    address=opt_text,
)
guardians = st.builds(
    Guardian,
    name=text,
    relation=text,
    phone=text,
    id_document=st.none() | id_documents,
)
learning = st.builds(
    LearningNeeds,
    target_language=text,
    current_level=text,
    goals=text,
    preferred_schedule=text,
)
documents = st.builds(
    DocumentRef,
    kind=st.sampled_from(DocumentKind),
    sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
    size=st.integers(0, 2**53),
    media_type=st.from_regex(r"\A[a-z]{1,8}/[a-z0-9.+-]{1,12}\Z", fullmatch=True),
)
attachments = st.builds(
    Attachment,
    kind=st.sampled_from(DocumentKind),
    media_type=text,
    content=text,
)
field_changes = st.builds(FieldChange, field=text, after=opt_text, before=opt_text)


def tuples_of(element: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(element, max_size=3).map(tuple)


COMMAND_STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    cmd.SubmitRegistration: st.builds(
        cmd.SubmitRegistration,
        branch=text,
        channel=st.sampled_from(Channel),
        applicant=personal,
        needs=learning,
        guardian=st.none() | guardians,
        guardian_consent=st.booleans(),
        attachments=tuples_of(attachments),
    ),
    cmd.ReviewRegistration: st.builds(
        cmd.ReviewRegistration,
        registration_id=text,
        decision=st.sampled_from(Decision),
        reason=text,
    ),
    cmd.WithdrawRegistration: st.builds(
        cmd.WithdrawRegistration, registration_id=text, reason=text
    ),
    cmd.ChangeStudentStatus: st.builds(
        cmd.ChangeStudentStatus,
        student_number=text,
        target=st.sampled_from(StudentStatus),
        reason=text,
        effective_date=st.none() | dates,
    ),
    cmd.EnrolCourse: st.builds(
        cmd.EnrolCourse,
        student_number=text,
        course_code=text,
        course_name=text,
        starts_on=dates,
        ends_on=st.none() | dates,
    ),
    cmd.EndCourse: st.builds(
        cmd.EndCourse, student_number=text, enrolment_id=text, ended_on=dates, reason=text
    ),
    cmd.RecordPayment: st.builds(
        cmd.RecordPayment,
        student_number=text,
        amount_minor=int64,
        currency=text,
        method=st.sampled_from(PaymentMethod),
        receipt_ref=text,
        paid_at=aware,
    ),
    cmd.SubmitChange: st.builds(
        cmd.SubmitChange,
        student_number=text,
        changes=tuples_of(field_changes),
        reason=text,
        attachments=tuples_of(attachments),
    ),
    cmd.ReviewChange: st.builds(
        cmd.ReviewChange,
        change_id=text,
        decision=st.sampled_from(Decision),
        comment=text,
        fields=st.none() | tuples_of(text),
    ),
    cmd.RebaseChange: st.builds(cmd.RebaseChange, change_id=text, comment=text),
    cmd.AnswerChange: st.builds(
        cmd.AnswerChange, change_id=text, token=text, confirm=st.booleans(), reason=text
    ),
    cmd.SubmitDestruction: st.builds(cmd.SubmitDestruction, student_number=text, reason=text),
    cmd.ReviewDestruction: st.builds(
        cmd.ReviewDestruction, request_id=text, decision=st.sampled_from(Decision), reason=text
    ),
    cmd.SetLegalHold: st.builds(cmd.SetLegalHold, student_number=text, reason=text),
    cmd.LiftLegalHold: st.builds(cmd.LiftLegalHold, hold_id=text, reason=text),
    cmd.RecordConsent: st.builds(
        cmd.RecordConsent,
        student_number=text,
        purpose=st.sampled_from(ConsentPurpose),
        given_by=st.sampled_from(ConsentGiver),
    ),
    cmd.WithdrawConsent: st.builds(cmd.WithdrawConsent, consent_id=text),
    cmd.RecordDisclosure: st.builds(
        cmd.RecordDisclosure,
        student_number=text,
        recipient=text,
        purpose=st.sampled_from(ConsentPurpose),
        fields=tuples_of(text),
    ),
    cmd.SubmitFeedback: st.builds(
        cmd.SubmitFeedback, branch=text, topic=text, text=text, anonymous=st.booleans()
    ),
    cmd.RespondFeedback: st.builds(cmd.RespondFeedback, feedback_id=text, response=text),
}


def _event(cls: type[Any], **specific: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(cls, branch=text, occurred_at=aware, actor=text, event_id=ids, **specific)


EVENT_STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    ev.RegistrationSubmitted: _event(
        ev.RegistrationSubmitted, registration_id=text, channel=st.sampled_from(Channel)
    ),
    ev.RegistrationDecided: _event(
        ev.RegistrationDecided,
        registration_id=text,
        status=st.sampled_from(RegistrationStatus),
        student_number=opt_text,
    ),
    ev.StudentAdmitted: _event(ev.StudentAdmitted, student_number=text, registration_id=opt_text),
    ev.StudentStatusChanged: _event(
        ev.StudentStatusChanged,
        student_number=text,
        from_status=st.sampled_from(StudentStatus),
        to_status=st.sampled_from(StudentStatus),
        effective_date=dates,
    ),
    ev.StudentRecordChanged: _event(
        ev.StudentRecordChanged, student_number=text, fields=tuples_of(text)
    ),
    ev.ChangeRequestMoved: _event(
        ev.ChangeRequestMoved,
        change_id=text,
        student_number=text,
        status=st.sampled_from(ChangeStatus),
        fields=tuples_of(text),
    ),
    ev.DestructionRequestMoved: _event(
        ev.DestructionRequestMoved,
        request_id=text,
        student_number=text,
        status=st.sampled_from(DestructionStatus),
    ),
    ev.ConsentChanged: _event(
        ev.ConsentChanged,
        consent_id=text,
        student_number=text,
        purpose=st.sampled_from(ConsentPurpose),
        active=st.booleans(),
    ),
    ev.LegalHoldChanged: _event(
        ev.LegalHoldChanged, hold_id=text, student_number=text, active=st.booleans()
    ),
    ev.DisclosureRecorded: _event(
        ev.DisclosureRecorded,
        disclosure_id=text,
        student_number=text,
        purpose=st.sampled_from(ConsentPurpose),
        fields=tuples_of(text),
    ),
    ev.FeedbackChanged: _event(ev.FeedbackChanged, feedback_id=text, responded=st.booleans()),
    ev.DestructionVerified: _event(
        ev.DestructionVerified,
        request_id=text,
        certificate_id=text,
        student_number=text,
        ok=st.booleans(),
    ),
    ev.ReviewRunMoved: _event(
        ev.ReviewRunMoved,
        run_id=text,
        quarter=text,
        status=st.sampled_from(ReviewRunStatus),
        findings=int64,
    ),
    ev.ReviewFindingMoved: _event(
        ev.ReviewFindingMoved,
        run_id=text,
        finding_id=text,
        student_number=text,
        rule=text,
        status=st.sampled_from(FindingStatus),
    ),
}


def test_every_command_and_event_has_a_strategy() -> None:
    assert set(COMMAND_STRATEGIES) == set(ALL_COMMANDS)
    assert set(EVENT_STRATEGIES) == set(ALL_EVENTS)


def test_tags_are_unique() -> None:
    assert len({c.type for c in ALL_COMMANDS}) == len(ALL_COMMANDS)
    assert len({e.type for e in ALL_EVENTS}) == len(ALL_EVENTS)


# -- round trips -----------------------------------------------------------------------

ROUND_TRIP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("cls", ALL_COMMANDS, ids=lambda cls: cls.type)
@ROUND_TRIP
@given(data=st.data())
def test_every_command_round_trips(cls: type[Any], data: st.DataObject) -> None:
    command = data.draw(COMMAND_STRATEGIES[cls])
    raw = dumps(command)
    body = orjson.loads(raw)
    assert body["type"] == cls.type
    assert command_from(body) == command
    assert loads(raw, cls) == command
    assert type(command_from(body)) is cls


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda cls: cls.type)
@ROUND_TRIP
@given(data=st.data())
def test_every_event_round_trips(cls: type[Any], data: st.DataObject) -> None:
    event = data.draw(EVENT_STRATEGIES[cls])
    raw = dumps(event)
    body = orjson.loads(raw)
    assert body["type"] == cls.type
    assert event_from(body) == event
    assert loads(raw, cls) == event
    assert type(event_from(body)) is cls


def test_timestamps_keep_their_offset_and_dates_are_iso() -> None:
    paid = datetime(2026, 3, 2, 17, 30, tzinfo=timezone(timedelta(hours=8)))
    payment = cmd.RecordPayment(
        student_number="s",
        amount_minor=12_800,
        currency="CNY",
        method=PaymentMethod.WECHAT_PAY,
        receipt_ref="r",
        paid_at=paid,
    )
    body = orjson.loads(dumps(payment))
    assert body["paid_at"] == "2026-03-02T17:30:00+08:00"
    assert body["method"] == "wechat_pay"
    enrol = cmd.EnrolCourse(
        student_number="s", course_code="c", course_name="n", starts_on=date(2026, 3, 2)
    )
    assert orjson.loads(dumps(enrol))["starts_on"] == "2026-03-02"


# -- strict structuring ----------------------------------------------------------------


def _valid(cls: type[Any]) -> dict[str, Any]:
    return dict(orjson.loads(dumps(VALID[cls])))


VALID: dict[type[Any], Any] = {
    cmd.RecordPayment: cmd.RecordPayment(
        student_number="SH01-26-000123-C",
        amount_minor=12_800,
        currency="CNY",
        method=PaymentMethod.CASH,
        receipt_ref="R-1",
        paid_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    ),
    cmd.SubmitRegistration: cmd.SubmitRegistration(
        branch="SH01",
        channel=Channel.ONLINE,
        applicant=PersonalDetails(
            name="n",
            birth_date=date(2000, 1, 1),
            id_document=IdDocument(type=IdDocumentType.PASSPORT, number="E1234567"),
            phone="p",
        ),
        needs=LearningNeeds(target_language="en"),
        attachments=(
            Attachment(kind=DocumentKind.ID_PROOF, media_type="image/png", content="iVBORw=="),
        ),
    ),
    cmd.AnswerChange: cmd.AnswerChange(change_id="c", token="t", confirm=True),
    cmd.EnrolCourse: cmd.EnrolCourse(
        student_number="s", course_code="c", course_name="n", starts_on=date(2026, 3, 2)
    ),
    cmd.ChangeStudentStatus: cmd.ChangeStudentStatus(
        student_number="s", target=StudentStatus.SUSPENDED, reason="r"
    ),
    cmd.RecordDisclosure: cmd.RecordDisclosure(
        student_number="s", recipient="exam board", purpose=ConsentPurpose.EXAM_BOARD, fields=()
    ),
    cmd.ReviewChange: cmd.ReviewChange(change_id="c", decision=Decision.APPROVE, comment="ok"),
}


def _problems(body: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as raised:
        command_from(body)
    found = raised.value.problems()
    _no_marker(found)
    return [(p.field, p.rule) for p in found]


def _no_marker(problems: tuple[Problem, ...]) -> None:
    for problem in problems:
        for locale in Locale:
            assert MARKER not in problem.message(locale)
            assert "{" not in problem.message(locale), problem
        assert MARKER not in str(dict(problem.params))


def _with(cls: type[Any], **changes: Any) -> dict[str, Any]:
    body = _valid(cls)
    body.update(changes)
    return body


BAD_BODIES = [
    pytest.param(
        _with(cmd.RecordPayment, bogus=MARKER), ("bogus", "unknown_field"), id="extra-key"
    ),
    pytest.param(
        _with(cmd.RecordPayment, amount_minor=MARKER), ("amount_minor", "wrong_type"), id="str-int"
    ),
    pytest.param(
        _with(cmd.RecordPayment, amount_minor="12800"), ("amount_minor", "wrong_type"), id="digits"
    ),
    pytest.param(
        _with(cmd.RecordPayment, amount_minor=True), ("amount_minor", "wrong_type"), id="bool-int"
    ),
    pytest.param(
        _with(cmd.RecordPayment, amount_minor=12.5), ("amount_minor", "wrong_type"), id="float-int"
    ),
    pytest.param(_with(cmd.AnswerChange, confirm=1), ("confirm", "wrong_type"), id="int-bool"),
    pytest.param(_with(cmd.AnswerChange, confirm="true"), ("confirm", "wrong_type"), id="str-bool"),
    pytest.param(_with(cmd.RecordPayment, currency=156), ("currency", "wrong_type"), id="num-str"),
    pytest.param(
        _with(cmd.RecordPayment, currency=None), ("currency", "wrong_type"), id="null-str"
    ),
    pytest.param(
        _with(cmd.RecordPayment, paid_at="2026-03-02T09:00:00"),
        ("paid_at", "wrong_type"),
        id="naive-datetime",
    ),
    pytest.param(
        _with(cmd.RecordPayment, paid_at=MARKER), ("paid_at", "wrong_type"), id="bad-datetime"
    ),
    pytest.param(
        _with(cmd.EnrolCourse, starts_on="2026-02-30"), ("starts_on", "wrong_type"), id="bad-date"
    ),
    pytest.param(
        _with(cmd.EnrolCourse, starts_on="20260302"), ("starts_on", "wrong_type"), id="basic-date"
    ),
    pytest.param(
        _with(cmd.EnrolCourse, starts_on=20260302), ("starts_on", "wrong_type"), id="num-date"
    ),
    pytest.param(
        _with(cmd.RecordPayment, method=MARKER), ("method", "not_allowed_value"), id="bad-enum"
    ),
    pytest.param(
        _with(cmd.RecordPayment, method="CASH"), ("method", "not_allowed_value"), id="enum-case"
    ),
    pytest.param(
        {k: v for k, v in _valid(cmd.RecordPayment).items() if k != "receipt_ref"},
        ("receipt_ref", "required"),
        id="missing",
    ),
    pytest.param(
        _with(
            cmd.SubmitRegistration,
            applicant={**_valid(cmd.SubmitRegistration)["applicant"], "nick": MARKER},
        ),
        ("applicant.nick", "unknown_field"),
        id="nested-extra-key",
    ),
    pytest.param(
        _with(
            cmd.SubmitRegistration,
            applicant={**_valid(cmd.SubmitRegistration)["applicant"], "birth_date": MARKER},
        ),
        ("applicant.birth_date", "wrong_type"),
        id="nested-bad-date",
    ),
    pytest.param(
        _with(
            cmd.SubmitRegistration,
            attachments=[{**_valid(cmd.SubmitRegistration)["attachments"][0], "content": 1}],
        ),
        ("attachments[0].content", "wrong_type"),
        id="list-item-wrong-type",
    ),
    pytest.param(
        _with(
            cmd.SubmitRegistration,
            attachments=[{**_valid(cmd.SubmitRegistration)["attachments"][0], "kind": MARKER}],
        ),
        ("attachments[0].kind", "not_allowed_value"),
        id="list-item-enum",
    ),
    pytest.param(
        _with(cmd.RecordPayment, receipt_ref="R-1\x00"),
        ("receipt_ref", "control_characters"),
        id="nul-in-text",
    ),
    pytest.param(
        _with(
            cmd.SubmitRegistration,
            applicant={**_valid(cmd.SubmitRegistration)["applicant"], "name": "\x00"},
        ),
        ("applicant.name", "control_characters"),
        id="nested-nul",
    ),
    pytest.param(
        _with(cmd.SubmitRegistration, channel=MARKER),
        ("channel", "not_allowed_value"),
        id="enum-channel",
    ),
]


@pytest.mark.parametrize(("body", "expected"), BAD_BODIES)
def test_bad_input_is_a_field_problem(body: dict[str, Any], expected: tuple[str, str]) -> None:
    assert _problems(body) == [expected]


def test_not_allowed_value_lists_the_allowed_ones() -> None:
    with pytest.raises(ValidationError) as raised:
        command_from(_with(cmd.RecordPayment, method=MARKER))
    (problem,) = raised.value.problems()
    assert problem.params["allowed"] == ", ".join(m.value for m in PaymentMethod)


def test_all_problems_are_reported_at_once() -> None:
    body = _with(
        cmd.RecordPayment,
        amount_minor=MARKER,
        currency=7,
        method=MARKER,
        paid_at="2026-03-02T09:00:00",
        bogus=MARKER,
    )
    del body["receipt_ref"]
    assert sorted(_problems(body)) == sorted(
        [
            ("amount_minor", "wrong_type"),
            ("currency", "wrong_type"),
            ("method", "not_allowed_value"),
            ("paid_at", "wrong_type"),
            ("receipt_ref", "required"),
            ("bogus", "unknown_field"),
        ]
    )


def test_all_nested_problems_are_reported_at_once() -> None:
    valid = _valid(cmd.SubmitRegistration)
    body = _with(
        cmd.SubmitRegistration,
        applicant={
            **valid["applicant"],
            "phone": 13800138000,
            "gender": MARKER,
            "id_document": {"type": "passport", "number": "x", "issued": MARKER},
        },
        needs={},
        guardian_consent="yes",
    )
    assert sorted(_problems(body)) == sorted(
        [
            ("applicant.phone", "wrong_type"),
            ("applicant.gender", "not_allowed_value"),
            ("applicant.id_document.issued", "unknown_field"),
            ("needs.target_language", "required"),
            ("guardian_consent", "wrong_type"),
        ]
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"type": "registration.teleport"}, id="unknown"),
        pytest.param({"type": MARKER}, id="marker"),
        pytest.param({"type": 7}, id="number"),
        pytest.param({"reason": "no tag"}, id="missing"),
        pytest.param({"type": ev.StudentAdmitted.type}, id="event-tag"),
    ],
)
def test_an_unknown_type_tag_is_not_allowed(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as raised:
        command_from(body)
    (problem,) = raised.value.problems()
    assert (problem.field, problem.rule) == ("type", "not_allowed_value")
    assert cmd.SubmitFeedback.type in str(problem.params["allowed"])
    _no_marker(raised.value.problems())


def test_an_event_tag_must_be_an_event() -> None:
    with pytest.raises(ValidationError) as raised:
        event_from({"type": cmd.SubmitFeedback.type})
    assert [(p.field, p.rule) for p in raised.value.problems()] == [("type", "not_allowed_value")]


@pytest.mark.parametrize("body", [[1, 2], MARKER, 5, None, True])
def test_a_body_that_is_not_an_object(body: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        command_from(body)
    assert [(p.field, p.rule) for p in raised.value.problems()] == [("body", "wrong_type")]
    _no_marker(raised.value.problems())


@pytest.mark.parametrize(
    "raw", [b"{", b"", b"{'type': 1}", b'{"type": "x",}', MARKER.encode(), b"\xff\xfe"]
)
def test_malformed_json(raw: bytes) -> None:
    with pytest.raises(ValidationError) as raised:
        loads(raw, cmd.SubmitFeedback)
    assert [(p.field, p.rule) for p in raised.value.problems()] == [("body", "malformed_json")]
    _no_marker(raised.value.problems())


def test_loads_reports_problems_like_command_from() -> None:
    raw = orjson.dumps(_with(cmd.RecordPayment, amount_minor=MARKER))
    with pytest.raises(ValidationError) as raised:
        loads(raw, cmd.RecordPayment)
    assert [(p.field, p.rule) for p in raised.value.problems()] == [("amount_minor", "wrong_type")]


def test_loads_with_another_commands_tag_blames_the_tag() -> None:
    raw = orjson.dumps(_with(cmd.AnswerChange, type=cmd.SubmitFeedback.type))
    with pytest.raises(ValidationError) as raised:
        loads(raw, cmd.AnswerChange)
    assert [(p.field, p.rule) for p in raised.value.problems()] == [("type", "not_allowed_value")]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_with(cmd.RecordDisclosure, fields="personal.name"), id="str-for-list"),
        pytest.param(_with(cmd.RecordDisclosure, fields={"personal.name": 1}), id="obj-for-list"),
        pytest.param(_with(cmd.ReviewChange, fields="personal.phone"), id="str-for-opt-list"),
    ],
)
def test_a_list_field_needs_a_list(body: dict[str, Any]) -> None:
    assert _problems(body) == [("fields", "wrong_type")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            _with(cmd.EnrolCourse, ends_on="2026-02-30"), ("ends_on", "wrong_type"), id="bad-date"
        ),
        pytest.param(
            _with(cmd.ChangeStudentStatus, effective_date="2026-13-01"),
            ("effective_date", "wrong_type"),
            id="bad-effective-date",
        ),
    ],
)
def test_an_optional_date_is_checked_like_a_required_one(
    body: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert _problems(body) == [expected]


def test_an_optional_field_of_the_wrong_type_is_a_problem() -> None:
    problems = _problems(_with(cmd.EnrolCourse, ends_on=5))
    assert problems == [("ends_on", "wrong_type")]


# -- fuzz ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(body=json_values)
def test_arbitrary_json_never_crashes(body: Any) -> None:
    try:
        command_from(body)
    except ValidationError as error:
        _no_marker(error.problems())


def _field_names(cls: type[Any]) -> list[str]:
    return [a.name for a in attrs.fields(cls)]


@st.composite
def tagged_bodies(draw: st.DrawFn) -> dict[str, Any]:
    cls = draw(st.sampled_from(ALL_COMMANDS))
    body: dict[str, Any] = dict(orjson.loads(dumps(draw(COMMAND_STRATEGIES[cls]))))
    for name in draw(st.lists(st.sampled_from([*_field_names(cls), "bogus"]), max_size=3)):
        body[name] = draw(json_values)
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=tagged_bodies())
def test_mangled_commands_structure_or_raise_validation_error(body: dict[str, Any]) -> None:
    try:
        command = command_from(body)
    except ValidationError as error:
        problems = error.problems()
    else:
        assert command.type == body["type"]
        return
    assert problems
    for problem in problems:
        for locale in Locale:
            problem.message(locale)


def test_an_answer_with_a_key_the_reader_does_not_know_is_still_read() -> None:
    """Requests are read strictly; answers skip what a newer service (or an edge) adds."""
    answer = {
        "registration_id": "r-1",
        "branch": "SH01",
        "status": "submitted",
        "submitted_at": "2026-01-01T08:00:00+08:00",
        "delivery": "queued at the branch",
    }
    receipt = read_answer(answer, RegistrationReceipt)
    assert (receipt.registration_id, receipt.status.value) == ("r-1", "submitted")
    with pytest.raises(ValidationError):
        structure(answer, RegistrationReceipt)
    with pytest.raises(ValidationError):  # a missing field is still a problem
        read_answer({k: v for k, v in answer.items() if k != "branch"}, RegistrationReceipt)
