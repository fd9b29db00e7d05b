"""A student's own pages in a real browser, over the real services.

The whole path of a change to one's records: register online, admitted by a clerk, activate
the one-time link, ask for a change with evidence, an approver (not the clerk) approves, the
student confirms with the code of their own notification — never typed. Then consents, the
copy of one's data, and feedback. Staff steps go over NATS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

import dossier.gateway
from dossier.core.changes import CHANGEABLE
from dossier.core.commands import ReviewChange
from dossier.core.enums import (
    ChangeStatus,
    ConsentGiver,
    ConsentPurpose,
    Decision,
    DestructionStatus,
    DocumentKind,
    EnrolmentStatus,
    FindingStatus,
    Locale,
    PaymentMethod,
    ReviewRunStatus,
    Severity,
    StudentStatus,
)
from dossier.gateway import ops_base, student_base, student_rights
from dossier.gateway.i18n import TEXT
from tests.e2e.gateway.conftest import Site, screenshot
from tests.e2e.gateway.test_browser_student_support import (
    PNG,
    UUID,
    activate,
    admit,
    approver,
    clerk,
    new_student,
    serial,
)


def register_online(page: Page, site: Site, tmp_path: Path, n: int) -> str:
    """The applicant fills in 《学员报名表》 with an ID copy: the registration's reference."""
    page.goto(f"{site.base}/register")
    page.select_option("#branch", "SH01")
    page.fill("#applicant-name", "陈小红")
    page.fill("#applicant-birth_date", "1997-08-21")
    page.select_option("#applicant-id_document-type", "passport")
    page.fill("#applicant-id_document-number", f"G{n:08d}")
    page.fill("#applicant-phone", f"1370000{n:04d}")
    page.fill("#needs-target_language", "日语")
    copy = tmp_path / "passport.png"
    copy.write_bytes(PNG)
    page.set_input_files("#document", str(copy))
    page.click("main button[type=submit]")
    expect(page.locator("#reference")).to_be_visible()
    found = UUID.search(page.locator("#reference").inner_text())
    assert found, page.locator("#reference").inner_text()
    return found.group(0)


def test_register_admit_request_a_change_approve_and_confirm(
    site: Site, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    n = serial()
    page = new_page(locale="zh-CN")
    registration_id = register_online(page, site, tmp_path, n)
    number = admit(site, registration_id)  # the clerk, over NATS

    activate(page, site.invite(number))
    expect(page.locator("#student-number")).to_have_text(number)
    expect(page.locator('[data-field="personal.name"]')).to_have_text("陈小红")
    expect(page.locator("#history")).to_contain_text("在读")
    screenshot(page, "student-me")

    # a wrong value first: the service's problem is shown beside the row it belongs to
    page.click('main a[href="/me/changes/new"]')
    page.select_option("#field-0", "personal.phone")
    page.fill("#value-0", "12")
    page.fill("#reason", "换了新手机号")
    page.click("main button[type=submit]")
    expect(page.locator('.error[data-field="personal.phone"]')).to_be_visible()
    expect(page.locator("#value-0")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#value-0")).to_have_value("12")  # kept as typed
    screenshot(page, "student-change-form-errors")

    new_phone = f"1380000{n:04d}"
    page.fill("#value-0", new_phone)
    evidence = tmp_path / "telecom-contract.png"
    evidence.write_bytes(PNG)
    page.set_input_files("#evidence", str(evidence))
    page.click("main button[type=submit]")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#change-status")).to_contain_text("待审核")
    expect(page.locator("main")).to_contain_text("变更证明材料")
    change_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert UUID.fullmatch(change_id)
    screenshot(page, "student-change-submitted")

    # the approver, who is not the clerk who admitted the student, approves
    approver(site)(ReviewChange(change_id=change_id, decision=Decision.APPROVE, comment="核实无误"))

    page.goto(f"{site.base}/me")
    expect(page.locator("#to-confirm")).to_be_visible()
    expect(page.locator('[data-field="personal.phone"]')).to_contain_text(new_phone)
    page.click("nav.subnav >> text=通知")
    notice = page.locator(f'#notifications li[data-change="{change_id}"]')
    expect(notice).to_have_class(re.compile("answerable"))
    expect(notice.locator(".message")).to_contain_text(re.compile(r"[A-Za-z0-9_-]{24}"))
    screenshot(page, "student-notifications")

    notice.locator("a.button").click()
    expect(page.locator("#answer")).to_be_visible()
    expect(page.locator("#confirm-code")).to_have_count(0)  # the code is never typed
    screenshot(page, "student-change-to-confirm")
    page.click("#confirm")
    expect(page.locator("#done")).to_contain_text("变更已确认")
    expect(page.locator("#change-status")).to_contain_text("已确认")
    expect(page.locator("#answer")).to_have_count(0)
    screenshot(page, "student-change-confirmed")

    seen_by_staff = clerk(site)("change.get", {"change_id": change_id})
    assert seen_by_staff["status"] == "confirmed"
    assert seen_by_staff["requested_by"] == f"web:{number}"
    assert seen_by_staff["reviewed_by"] == "approver-1"


def test_consents_a_copy_of_ones_data_and_feedback_in_english(
    site: Site, new_page: Callable[..., Page]
) -> None:
    number = new_student(site, name="Zhao Min")
    page = new_page(locale="en", phone=True)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of data-confirm buttons
    activate(page, site.invite(number))
    page.click("#switch-language")  # the account says Chinese; this student reads English
    expect(page.locator("h1")).to_have_text("My records")

    page.goto(f"{site.base}/me/consents")
    page.check('input[name=purpose][value="marketing"]')
    page.click("#grant-form button[type=submit]")
    expect(page.locator("#done")).to_have_text("Your consent is recorded.")
    row = page.locator('#consents tr[data-purpose="marketing"]')
    expect(row).to_have_attribute("data-active", "yes")
    expect(page.locator('input[name=purpose][value="marketing"]')).to_have_count(0)
    screenshot(page, "student-consents")
    row.locator("button").click()
    expect(page.locator("#done")).to_have_text("Your consent is withdrawn.")
    expect(page.locator('#consents tr[data-purpose="marketing"]')).to_have_attribute(
        "data-active", "no"
    )

    page.goto(f"{site.base}/me/export")
    screenshot(page, "student-export")
    with page.expect_download() as info:
        page.click("#export")
    download = info.value
    assert download.suggested_filename.startswith(f"dossier-{number}-")
    assert download.suggested_filename.endswith(".json")
    exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert exported["student_number"] == number
    assert exported["personal"]["name"] == "Zhao Min"  # the student's own, unmasked
    assert [c["purpose"] for c in exported["consents"]] == ["marketing"]
    assert exported["documents"]  # the ID copy, in base64

    page.goto(f"{site.base}/me/feedback")
    page.select_option("#topic", "courses")
    page.fill("#feedback-text", "The evening classes are too full.")
    page.check("input[name=anonymous]")
    page.click("#feedback-form button[type=submit]")
    expect(page.locator("#done")).to_have_text("Thank you for your feedback.")
    screenshot(page, "student-feedback-phone")

    page.goto(f"{site.base}/me/destruction")  # still enrolled: refused, and said why
    page.fill("#destruction-reason", "I am moving abroad.")
    page.click("#destruction-form button[type=submit]")
    expect(page.locator("#refused")).to_be_visible()
    expect(page.locator("#destructions")).to_have_count(0)


TEMPLATES = Path(dossier.gateway.__file__).parent / "templates"
LITERAL_KEY = re.compile(r"""\bt\(\s*["']((?:student|ops)\.[a-z0-9_.]*[a-z0-9_])["']\s*[,)]""")


def test_every_page_text_is_in_both_languages() -> None:
    """Needs no site: the texts the student and ops pages name, literally or by vocabulary."""
    used = {
        key
        for folder in ("student", "ops")
        for template in (TEMPLATES / folder).glob("*.html")
        for key in LITERAL_KEY.findall(template.read_text(encoding="utf-8"))
    }
    vocabularies = {
        "student.student_status": StudentStatus,
        "student.change_status": ChangeStatus,
        "student.destruction_status": DestructionStatus,
        "student.purpose": ConsentPurpose,
        "student.giver": ConsentGiver,
        "student.method": PaymentMethod,
        "student.enrolment": EnrolmentStatus,
        "student.doc": DocumentKind,
        "ops.run_status": ReviewRunStatus,
        "ops.finding_status": FindingStatus,
        "ops.severity": Severity,
    }
    used |= {f"{prefix}.{v.value}" for prefix, enum in vocabularies.items() for v in enum}
    used |= {f"student.field.{path}" for path in CHANGEABLE}
    used |= {f"student.nav.{name}" for name, _ in student_base.SECTIONS}
    used |= {f"student.topic.{topic}" for topic in student_rights.FEEDBACK_TOPICS}
    used |= {f"ops.nav.{name}" for name, _, _ in ops_base.SECTIONS}
    used |= {f"ops.index.{name}" for name, _, _ in ops_base.SECTIONS}
    assert len(used) > 150
    missing = sorted(key for key in used if key not in TEXT)
    assert not missing
    for key, entry in TEXT.items():
        if key.startswith(("student.", "ops.")):
            assert set(entry) == {Locale.EN, Locale.ZH_CN}, key
