"""What the read trail (查阅记录) takes from core: which field groups a view showed unmasked
(`Masker.revealed_groups`), the staff notice of a misuse alert, and the branch thresholds."""

from __future__ import annotations

from datetime import date

import pytest

from dossier.core.branch import Branch, load_branches
from dossier.core.enums import Gender, IdDocumentType, Locale
from dossier.core.errors import ValidationError
from dossier.core.hookspecs import StaffNotice
from dossier.core.plugins import PluginHost
from dossier.core.policy import Actor, Role
from dossier.core.records import IdDocument, PersonalDetails
from dossier.core.views import Masker

BRANCH = Branch(code="SH01", name="上海一校")
PERSON = PersonalDetails(
    name="王小明",
    birth_date=date(2000, 5, 17),
    id_document=IdDocument(type=IdDocumentType.PASSPORT, number="E12345678"),
    phone="+8613800138000",
    gender=Gender.MALE,
    email="wang@example.cn",
)


def _groups(role: Role) -> tuple[str, ...]:
    mask = Masker(PluginHost().rules_for(BRANCH), Actor(id="x", roles={role}, branches={"SH01"}))
    mask.person(PERSON)
    return mask.revealed_groups()


def test_an_officer_sees_every_group_in_clear_the_front_desk_none() -> None:
    assert _groups(Role.ENROLMENT_OFFICER) == ("contact", "id_document", "personal")
    assert _groups(Role.FRONT_DESK) == ()


def test_the_staff_notice_of_an_alert_is_in_the_branch_language() -> None:
    notice = StaffNotice(
        role="approver",
        kind="read_alert",
        params={
            "actor": "web:clerk",
            "rule": "reads_per_hour",
            "window": "2026-12-03T10",
            "count": "31",
            "threshold": "30",
        },
    )
    (zh,) = PluginHost().rules_for(BRANCH).notify_staff(notice, ["outbox"])
    assert zh.channel == "outbox"
    assert "web:clerk" in zh.text
    assert "查阅异常" in zh.text
    english = Branch(code="HK01", name="Hong Kong", locale=Locale.EN)
    (en,) = PluginHost().rules_for(english).notify_staff(notice, ["outbox"])
    assert en.text.startswith("Read alert: web:clerk")
    assert PluginHost().rules_for(BRANCH).notify_staff(notice, ["sms"]) == []


def test_thresholds_come_from_the_branch_configuration() -> None:
    branches = load_branches({"SH01": {"name": "x", "reads_per_hour": 10, "closes_at_hour": 22}})
    assert (branches["SH01"].reads_per_hour, branches["SH01"].closes_at_hour) == (10, 22)
    assert branches["SH01"].reads_per_day == 150
    with pytest.raises(ValidationError):
        load_branches({"SH01": {"name": "x", "reads_per_hour": 0}})
