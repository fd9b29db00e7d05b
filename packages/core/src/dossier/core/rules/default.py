"""The default rules (默认规则): what every branch applies unless a branch plugin overrides it.

This module is itself the plugin: `dossier.core.plugins.PluginHost` registers
it under the name ``default`` before any branch plugin, so a branch plugin is
asked first by the ``firstresult`` hooks (`dossier_check_field`,
`dossier_mask_value`, `dossier_student_number_format`) and adds to the others.

Accepted by default: the identity documents of `ACCEPTED_ID_DOCUMENTS`
(居民身份证 and the residence permits numbered like it, passports of any country,
往来港澳通行证, 回乡证, 台胞证); a Hong Kong ID card or any ``OTHER`` document is
refused with ``id_type_not_accepted`` until a branch plugin (such as
``hongkong``) accepts it. Phones of any country through libphonenumber, read
with the branch's ``phone_region`` as the country of a number written without
one: the student's own a mobile, the guardian's a mobile or a landline. Names
in any script a school sees (`validators.person_name`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from enum import Enum

import attrs

from dossier.core.branch import Branch
from dossier.core.enums import (
    ConsentGiver,
    ConsentPurpose,
    DocumentKind,
    DocumentStage,
    EnrolmentStatus,
    IdDocumentType,
    Locale,
    Severity,
    StudentStatus,
)
from dossier.core.errors import Problem
from dossier.core.hookspecs import (
    Delivery,
    FieldCheck,
    FieldKind,
    Notice,
    StaffNotice,
    hookimpl,
)
from dossier.core.messages import Templates
from dossier.core.policy import Role
from dossier.core.records import (
    CourseEnrolment,
    IdDocument,
    Registration,
    ReviewFinding,
    StudentDossier,
)
from dossier.core.rules import validators
from dossier.core.rules.validators import Invalid, age_on
from dossier.core.student_number import DEFAULT_FORMAT, StudentNumberFormat

ADULT_AGE = 18
"""Under 18 (未成年人) a student needs a guardian on record."""

CONSENT_AGE = 14
"""Under 14 the guardian must consent to processing personal information (PIPL Art. 31)."""

OUTBOX = "outbox"

# -- single fields -----------------------------------------------------------------------

_IdRule = Callable[[str, date], str]

ACCEPTED_ID_DOCUMENTS: Mapping[IdDocumentType, _IdRule] = {
    IdDocumentType.PRC_RESIDENT_ID: validators.prc_resident_id,
    IdDocumentType.PASSPORT: lambda number, _today: validators.passport_number(number),
    IdDocumentType.HK_MACAO_PERMIT: lambda number, _today: validators.hk_macao_permit(number),
    IdDocumentType.HOME_RETURN_PERMIT: lambda number, _t: validators.home_return_permit(number),
    IdDocumentType.TAIWAN_PERMIT: lambda number, _today: validators.taiwan_permit(number),
}
"""The identity documents every branch accepts, with the rule checking each one's number."""

REQUIRED_TEXT = frozenset({"needs.target_language", "guardian.relation"})
"""Free-text fields that must not be blank once stripped."""


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise Invalid("wrong_type", {"expected": "text"})
    return value


def _person_name(branch: Branch, path: str, value: object, today: date) -> object:
    return validators.person_name(_text(value))


def _birth_date(branch: Branch, path: str, value: object, today: date) -> object:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise Invalid("wrong_type", {"expected": "date"})
    return validators.birth_date(value, today)


def _id_document(branch: Branch, path: str, value: object, today: date) -> object:
    if not isinstance(value, IdDocument):
        raise Invalid("wrong_type", {"expected": "identity_document"})
    if not value.number.strip():
        raise Invalid("required")
    rule = ACCEPTED_ID_DOCUMENTS.get(value.type)
    if rule is None:
        raise Invalid("id_type_not_accepted", {"document": value.type.value})
    return attrs.evolve(value, number=rule(value.number, today))


def _phone(branch: Branch, path: str, value: object, today: date) -> object:
    return validators.phone(_text(value), branch.phone_region, mobile=True)


def _guardian_phone(branch: Branch, path: str, value: object, today: date) -> object:
    return validators.phone(_text(value), branch.phone_region, mobile=False)


def _email(branch: Branch, path: str, value: object, today: date) -> object:
    text = _text(value)
    return validators.email_address(text) if text.strip() else None


def _address(branch: Branch, path: str, value: object, today: date) -> object:
    return validators.address(_text(value)) or None


def _optional_name(branch: Branch, path: str, value: object, today: date) -> object:
    text = _text(value)
    return validators.person_name(text) if text.strip() else None


def _free_text(branch: Branch, path: str, value: object, today: date) -> object:
    if isinstance(value, Enum):  # personal.gender travels as FREE_TEXT, already parsed
        return value
    text = validators.free_text(_text(value))
    if not text and path in REQUIRED_TEXT:
        raise Invalid("required")
    return text


_FIELD_RULES: Mapping[FieldKind, Callable[[Branch, str, object, date], object]] = {
    FieldKind.PERSON_NAME: _person_name,
    FieldKind.PASSPORT_NAME: _optional_name,
    FieldKind.BIRTH_DATE: _birth_date,
    FieldKind.ID_DOCUMENT: _id_document,
    FieldKind.PHONE: _phone,
    FieldKind.GUARDIAN_PHONE: _guardian_phone,
    FieldKind.EMAIL: _email,
    FieldKind.ADDRESS: _address,
    FieldKind.FREE_TEXT: _free_text,
}


@hookimpl
def dossier_check_field(
    branch: Branch, kind: FieldKind, path: str, value: object, today: date
) -> FieldCheck | None:
    """Check one value with the default rule for its kind; problems name ``path``.

    A blank optional e-mail or address normalises to None. An invalid value
    comes back unchanged with its problem.
    """
    rule = _FIELD_RULES.get(kind)
    if rule is None:
        return None
    try:
        return FieldCheck(rule(branch, path, value, today))
    except Invalid as invalid:
        return FieldCheck(value, (Problem(path, invalid.rule, invalid.params),))


# -- cross-field rules -------------------------------------------------------------------


def _usable_birth_date(value: object, today: date) -> date | None:
    """The birth date when it passes its own field rule, else None (its problem is reported)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        return None
    try:
        return validators.birth_date(value, today)
    except Invalid:
        return None


def _id_birth_date(document: object, today: date) -> date | None:
    """The birth date inside a *valid* PRC resident ID number; None for other or invalid IDs."""
    if not isinstance(document, IdDocument) or document.type is not IdDocumentType.PRC_RESIDENT_ID:
        return None
    try:
        return validators.prc_id_birth_date(validators.prc_resident_id(document.number, today))
    except Invalid:
        return None


@hookimpl
def dossier_validate_registration(
    branch: Branch, registration: Registration, today: date
) -> Sequence[Problem]:
    """Birth date vs the ID number; guardian under 18; guardian consent under 14 (PIPL Art. 31).

    Skipped when the stated birth date breaks its own rule (the age would be
    meaningless) or, for the comparison, when the ID number is not valid.
    """
    applicant = registration.applicant
    born = _usable_birth_date(applicant.birth_date, today)
    if born is None:
        return []
    problems: list[Problem] = []
    from_id = _id_birth_date(applicant.id_document, today)
    if from_id is not None and from_id != born:
        problems.append(Problem("applicant.birth_date", "id_birth_date_mismatch"))
    age = age_on(born, today)
    if age < ADULT_AGE and registration.guardian is None:
        problems.append(Problem("guardian", "guardian_required", {"age": ADULT_AGE}))
    if age < CONSENT_AGE and not registration.guardian_consent:
        problems.append(
            Problem("guardian_consent", "guardian_consent_required", {"age": CONSENT_AGE})
        )
    return problems


_BIRTH_DATE = "personal.birth_date"
_ID_DOCUMENT = "personal.id_document"


@hookimpl
def dossier_validate_change(
    branch: Branch,
    dossier: StudentDossier,
    values: Mapping[str, object],
    today: date,
) -> Sequence[Problem]:
    """A new birth date or ID document must agree with the other (new or current) one.

    The problem names the changed birth date, or the changed ID document when
    only that changes. Values that broke their own rule never reach this hook.
    """
    if _BIRTH_DATE not in values and _ID_DOCUMENT not in values:
        return []
    birth = values.get(_BIRTH_DATE, dossier.personal.birth_date)
    document = values.get(_ID_DOCUMENT, dossier.personal.id_document)
    born = _usable_birth_date(birth, today)
    from_id = _id_birth_date(document, today)
    if born is None or from_id is None or born == from_id:
        return []
    field = _BIRTH_DATE if _BIRTH_DATE in values else _ID_DOCUMENT
    return [Problem(field, "id_birth_date_mismatch")]


# -- formats and documents ---------------------------------------------------------------


@hookimpl
def dossier_student_number_format(branch: Branch) -> StudentNumberFormat | None:
    return DEFAULT_FORMAT


@hookimpl
def dossier_required_documents(branch: Branch, stage: DocumentStage) -> Sequence[DocumentKind]:
    """A proof of identity (证件复印件) is filed at admission; nothing else is required."""
    return [DocumentKind.ID_PROOF] if stage is DocumentStage.ADMISSION else []


# -- quarterly review (定期审核) -------------------------------------------------------------


def _ended(enrolment: CourseEnrolment, today: date) -> bool:
    """Ended by status, or by an end date already past (the status was not updated)."""
    return enrolment.status is EnrolmentStatus.ENDED or (
        enrolment.ends_on is not None and enrolment.ends_on < today
    )


def _judged_phone_invalid(phone: str, region: str) -> bool:
    """A number libphonenumber's current metadata no longer knows as valid (a withdrawn block).

    The type is not judged again: a guardian's landline stays acceptable, and a
    student's number was judged a mobile when it was recorded.
    """
    return validators.parse_phone(phone, region) is None


def add_years(start: date, years: int) -> date:
    """``start`` plus whole years; 29 February moves to 1 March (the period is never shortened)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


@hookimpl
def dossier_review_dossier(
    branch: Branch, dossier: StudentDossier, today: date
) -> Sequence[ReviewFinding]:
    """The default review rules; details carry thresholds and field paths, never values."""
    if dossier.status is StudentStatus.DESTROYED:
        return []
    findings: list[ReviewFinding] = []

    def found(
        rule: str, severity: Severity, action: str, detail: Mapping[str, str | int] | None = None
    ) -> None:
        findings.append(
            ReviewFinding(
                student_number=dossier.student_number,
                rule=rule,
                severity=severity,
                suggested_action=action,
                detail=dict(detail or {}),
            )
        )

    if not any(doc.kind is DocumentKind.ID_PROOF for doc in dossier.documents):
        found("missing_id_proof", Severity.WARNING, "request_id_proof")
    age = age_on(dossier.personal.birth_date, today)
    if age < ADULT_AGE and dossier.guardian is None:
        found("minor_without_guardian", Severity.ERROR, "record_guardian", {"age": ADULT_AGE})
    if age < CONSENT_AGE and not any(
        consent.active
        and consent.purpose is ConsentPurpose.PROCESSING
        and consent.given_by is ConsentGiver.GUARDIAN
        for consent in dossier.consents
    ):
        found(
            "minor_without_guardian_consent",
            Severity.ERROR,
            "record_guardian_consent",
            {"age": CONSENT_AGE},
        )
    phones = [("personal.phone", dossier.personal.phone)]
    if dossier.guardian is not None:
        phones.append(("guardian.phone", dossier.guardian.phone))
    for path, phone in phones:
        if _judged_phone_invalid(phone, branch.phone_region):
            found("invalid_contact", Severity.WARNING, "update_contact", {"path": path})
    if (
        dossier.status is StudentStatus.ENROLLED
        and dossier.enrolments
        and all(_ended(enrolment, today) for enrolment in dossier.enrolments)
    ):
        found("enrolled_without_active_course", Severity.WARNING, "mark_completed")
    if dossier.status in (StudentStatus.COMPLETED, StudentStatus.WITHDRAWN) and dossier.history:
        last = dossier.history[-1]
        if add_years(last.effective_date, branch.retention_years) < today:
            found(
                "retention_period_passed",
                Severity.INFO,
                "eligible_for_destruction_on_request",
                {"retention_years": branch.retention_years},
            )
    return findings


# -- masking (脱敏) ------------------------------------------------------------------------

UNMASKED_ROLES = frozenset({Role.STUDENT, Role.ENROLMENT_OFFICER, Role.APPROVER, Role.ADMIN})
"""Roles that see personal values in clear; every other role sees masked values."""

_CN_E164 = re.compile(r"\+86(1[0-9]{10})")
_CN_NATIONAL = re.compile(r"1[0-9]{10}")


def _keep(text: str, head: int, tail: int) -> str:
    """Keep ``head`` and ``tail`` characters, a ``*`` for each one between (length kept)."""
    if len(text) <= head + tail:
        head, tail = min(1, len(text) // 3), min(1, len(text) // 3)
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]


def mask_phone(value: str) -> str:
    """A mainland mobile shows as its national number ``138****8000``; others ``+852****4567``."""
    compact = re.sub(r"[ -]", "", value)
    match = _CN_E164.fullmatch(compact)
    national = match.group(1) if match else compact
    if _CN_NATIONAL.fullmatch(national):
        return _keep(national, 3, 4)
    return _keep(compact, 4, 4)


def mask_id_number(value: str) -> str:
    """First 3 and last 2 characters (``110*************2X``); a ``type:`` prefix is kept."""
    kind, colon, number = value.partition(":")
    if colon and kind in {t.value for t in IdDocumentType}:
        return f"{kind}:{mask_id_number(number)}"
    if len(value) < 8:
        return _keep(value, 1, 1)
    return _keep(value, 3, 2)


def mask_name(value: str) -> str:
    """The first character of each space-separated part: ``张**``, ``J*** S****``."""
    return " ".join(part[0] + "*" * (len(part) - 1) for part in value.split())


def mask_email(value: str) -> str:
    """The first character of the local part, then ``***``: ``j***@example.com``."""
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return _keep(value, 1, 0)
    return f"{local[0]}***@{domain}"


def mask_address(value: str) -> str:
    """The first 6 characters (at most half of a short address) then ``****``."""
    return value[: min(6, len(value) // 2)] + "****"


def mask_birth_date(value: str) -> str:
    """The year only: ``2001-**-**``."""
    return value[:4] + "-**-**"


_MASKS: Mapping[FieldKind, Callable[[str], str]] = {
    FieldKind.PHONE: mask_phone,
    FieldKind.GUARDIAN_PHONE: mask_phone,
    FieldKind.PASSPORT_NAME: mask_name,
    FieldKind.ID_DOCUMENT: mask_id_number,
    FieldKind.PERSON_NAME: mask_name,
    FieldKind.EMAIL: mask_email,
    FieldKind.ADDRESS: mask_address,
    FieldKind.BIRTH_DATE: mask_birth_date,
}


def default_mask(kind: FieldKind, value: str) -> str:
    """``value`` masked by the default mask of its kind (free text and unknown kinds as is)."""
    mask = _MASKS.get(kind)
    return value if mask is None or not value else mask(value)


@hookimpl
def dossier_mask_value(branch: Branch, kind: FieldKind, value: str, role: Role) -> str | None:
    """Mask ``value`` for roles outside `UNMASKED_ROLES`; None (shown as is) otherwise.

    Free text is never masked. Empty values stay empty.
    """
    if role in UNMASKED_ROLES or not value:
        return None
    mask = _MASKS.get(kind)
    return None if mask is None else mask(value)


# -- notices -----------------------------------------------------------------------------

NOTICE_TEMPLATES: Mapping[str, Mapping[Locale, str]] = {
    "change_applied": {
        Locale.ZH_CN: "您的档案（学号 {student_number}）已按信息变更申请更新。"
        "请使用确认码 {token} 确认变更，如有异议请提出异议。",
        Locale.EN: "Your record (student number {student_number}) was updated as requested. "
        "Please confirm the change, or dispute it, with the code {token}.",
    },
    "change_applied_without_token": {
        Locale.ZH_CN: "您的档案（学号 {student_number}）已按信息变更申请更新。"
        "请登录确认变更，如有异议请提出异议。",
        Locale.EN: "Your record (student number {student_number}) was updated as requested. "
        "Please sign in to confirm the change or dispute it.",
    },
    "change_rejected": {
        Locale.ZH_CN: "您的信息变更申请（学号 {student_number}）未获批准，档案未作修改。",
        Locale.EN: "Your change request (student number {student_number}) was not approved; "
        "your record is unchanged.",
    },
    "destruction_executed": {
        Locale.ZH_CN: "学号 {student_number} 的个人资料已按销毁申请销毁。",
        Locale.EN: "The personal data of student number {student_number} was destroyed "
        "as requested.",
    },
    "registration_accepted": {
        Locale.ZH_CN: "您的报名已通过审核，学号为 {student_number}。",
        Locale.EN: "Your registration was accepted. Your student number is {student_number}.",
    },
    "generic": {
        Locale.ZH_CN: "您的档案（学号 {student_number}）有新的通知，请登录查看。",
        Locale.EN: "There is news about your record (student number {student_number}). "
        "Please sign in to read it.",
    },
    "generic_with_token": {
        Locale.ZH_CN: "您的档案（学号 {student_number}）有新的通知，请登录查看（参考码 {token}）。",
        Locale.EN: "There is news about your record (student number {student_number}). "
        "Please sign in to read it (code {token}).",
    },
}
"""Outbox texts by notice kind. They hold the student number and the token only."""


def _notice_template(notice: Notice) -> str:
    kind = notice.kind if notice.kind in NOTICE_TEMPLATES else "generic"
    if kind == "change_applied" and notice.token is None:
        kind = "change_applied_without_token"
    elif kind == "generic" and notice.token is not None:
        kind = "generic_with_token"
    return kind


@hookimpl
def dossier_notify_student(
    branch: Branch, notice: Notice, channels: Sequence[str]
) -> Delivery | None:
    """Queue the notice in the student's outbox, in the branch's locale.

    ``notice.params`` are not used: only the student number and the token
    reach the text, so it can never carry a personal value.
    """
    if OUTBOX not in channels:
        return None
    template = NOTICE_TEMPLATES[_notice_template(notice)][branch.locale]
    text = template.format(student_number=notice.student_number, token=notice.token or "")
    return Delivery(channel=OUTBOX, text=text)


STAFF_NOTICE_TEMPLATES: Mapping[str, Mapping[Locale, str]] = {
    "read_alert": {
        Locale.ZH_CN: "查阅异常提醒：{actor} 在 {window} 触发规则 {rule}"
        "（{count}，阈值 {threshold}）。请在“查阅异常”页面查看。",
        Locale.EN: "Read alert: {actor} crossed the rule {rule} in {window} ({count}, threshold "
        "{threshold}). See the read alerts page.",
    },
}


@hookimpl
def dossier_notify_staff(
    branch: Branch, notice: StaffNotice, channels: Sequence[str]
) -> Delivery | None:
    """Queue the notice in the branch's staff outbox (kept with the alert), in its locale."""
    if OUTBOX not in channels or notice.kind not in STAFF_NOTICE_TEMPLATES:
        return None
    params = {"actor": "", "window": "", "rule": "", "count": "", "threshold": ""}
    params.update(notice.params)
    text = STAFF_NOTICE_TEMPLATES[notice.kind][branch.locale].format(**params)
    return Delivery(channel=OUTBOX, text=text)


# -- messages ----------------------------------------------------------------------------


def _t(en: str, zh: str) -> Mapping[Locale, str]:
    return {Locale.EN: en, Locale.ZH_CN: zh}


MESSAGES: Templates = {
    "missing_id_proof": _t("No proof of identity is on file.", "档案中缺少身份证明文件。"),
    "minor_without_guardian": _t(
        "The student is under {age} and has no guardian on record.",
        "学员未满{age}周岁，但档案中没有监护人信息。",
    ),
    "minor_without_guardian_consent": _t(
        "The student is under {age} and there is no active consent to processing given by "
        "the guardian (PIPL Art. 31).",
        "学员未满{age}周岁，但没有有效的监护人个人信息处理同意（《个人信息保护法》第三十一条）。",
    ),
    "invalid_contact": _t(
        "The phone number in {path} is not valid under the branch's current rules.",
        "{path}不符合本校区现行规则。",
    ),
    "enrolled_without_active_course": _t(
        "The student is enrolled but every course has ended.",
        "学员处于在读状态，但所有课程均已结束。",
    ),
    "retention_period_passed": _t(
        "The retention period of {retention_years} years has passed; the data may be "
        "destroyed on request.",
        "已超过{retention_years}年的保存期限，可应申请销毁资料。",
    ),
}


@hookimpl
def dossier_messages() -> Templates:
    """Templates of the review rules; field rules reuse the core catalogue's codes."""
    return MESSAGES
