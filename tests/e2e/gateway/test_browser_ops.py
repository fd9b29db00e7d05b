"""The reviewer, operator and auditor pages in a real browser, over the real services.

A destruction request goes from the student's page through an approver (over NATS) and the
retention service's execution to the certificate an operator and an auditor read. A reviewer
runs a quarterly review, resolves and waives its findings, signs it off and reads the chart;
an operator makes and verifies a backup; an auditor verifies the audit chain.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from dossier.core.commands import (
    ChangeStudentStatus,
    EnrolCourse,
    RecordPayment,
    ReviewDestruction,
)
from dossier.core.enums import Decision, PaymentMethod, StudentStatus
from dossier.core.policy import Role
from tests.e2e.gateway.conftest import Site, screenshot, sign_in
from tests.e2e.gateway.test_browser_student_support import (
    Staff,
    activate,
    approver,
    clerk,
    desk,
    new_student,
)


def wait_for(probe: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError("not there in time")


def staff_page(
    site: Site, new_page: Callable[..., Page], login: str, *roles: Role, **kw: str
) -> Page:
    site.staff(login, *roles, **kw)
    page = new_page(locale="en")
    sign_in(page, site.base, login)
    expect(page).not_to_have_url(re.compile(r"/signin"))
    return page


def test_a_destruction_request_through_to_its_certificate(
    site: Site, new_page: Callable[..., Page]
) -> None:
    number = new_student(site, name="黄一鸣")
    desk(site)(
        RecordPayment(
            student_number=number,
            amount_minor=380_000,
            currency="CNY",
            method=PaymentMethod.WECHAT_PAY,
            receipt_ref="R-2026-0042",
            paid_at=datetime.now(UTC),
        )
    )
    clerk(site)(
        ChangeStudentStatus(
            student_number=number, target=StudentStatus.COMPLETED, reason="课程结束"
        )
    )

    student = new_page(locale="zh-CN")
    student.on("dialog", lambda dialog: dialog.accept())
    activate(student, site.invite(number))
    expect(student.locator("#student-status")).to_contain_text("已结课")
    student.click("nav.subnav >> text=资料销毁")
    student.fill("#destruction-reason", "已结课，请销毁我的个人资料。")
    student.click("#destruction-form button[type=submit]")
    expect(student.locator("#done")).to_be_visible()
    row = student.locator("#destructions tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("待审批")
    request_id = str(row.get_attribute("data-request"))
    screenshot(student, "student-destruction-submitted")

    approver(site)(
        ReviewDestruction(request_id=request_id, decision=Decision.APPROVE, reason="核实无误")
    )
    operator = Staff(site, "ops-probe", Role.OPERATOR)

    def certified() -> dict[str, Any] | None:
        page = operator("certificate.list", {"branch": "SH01"})
        return next(
            (c for c in page["items"] if c["student_number"] == number and c.get("verification")),
            None,
        )

    certificate = wait_for(certified)  # the retention service executes it from the event

    student.reload()  # the account closed with the record: the session is over
    expect(student).to_have_url(re.compile(r"/signin"))

    page = staff_page(site, new_page, "operator-1", Role.OPERATOR)
    page.goto(f"{site.base}/ops")
    screenshot(page, "ops-index")
    page.click("nav.subnav >> text=Destruction certificates")
    listed = page.locator(f'#certificates tr[data-student="{number}"]')
    expect(listed).to_contain_text("verified")
    screenshot(page, "ops-certificates")
    listed.locator("a").click()
    expect(page.locator("h1")).to_have_text("Destruction certificate")
    expect(page.locator("#certificate-student")).to_have_text(number)
    expect(page.locator("#verification-result")).to_have_class(re.compile("notice"))
    expect(page.locator('#kept tr[data-kept="payments"] td.n')).to_have_text("1")
    expect(page.locator("#checks tbody tr")).not_to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("黄一鸣")  # nothing personal on it
    screenshot(page, "ops-certificate")

    auditor = staff_page(site, new_page, "auditor-1", Role.AUDITOR, branch="*")
    auditor.goto(f"{site.base}/ops/certificates/{certificate['id']}?lang=zh-CN")
    expect(auditor.locator("h1")).to_have_text("资料销毁证明")
    screenshot(auditor, "ops-certificate-auditor-zh")


def ended_course(site: Site, number: str) -> None:
    """An enrolled student whose only course ended last year: a review finding."""
    clerk(site)(
        EnrolCourse(
            student_number=number,
            course_code="EN-101",
            course_name="General English",
            starts_on=date(2025, 1, 6),
            ends_on=date(2025, 6, 30),
        )
    )


def test_a_reviewer_runs_resolves_waives_and_signs_off_a_review(
    site: Site, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    numbers = [new_student(site, name="周一"), new_student(site, name="周二")]
    for number in numbers:
        ended_course(site, number)

    page = staff_page(site, new_page, "reviewer-1", Role.REVIEWER)
    page.goto(f"{site.base}/ops/reviews")
    page.fill("#quarter", "2025Q4")
    page.click("#start-form button[type=submit]")
    expect(page.locator("#done")).to_have_text("The review run is done.")
    expect(page.locator("h1")).to_have_text("Review SH01 2025Q4")
    for number in numbers:
        expect(page.locator("#findings")).to_contain_text(number)
    rule = page.locator('#by-rule tr[data-rule="enrolled_without_active_course"]')
    expect(rule).to_contain_text("Enrolled, but every course has ended")
    screenshot(page, "ops-review-run")

    with page.expect_download() as info:
        page.click("#csv-link")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text("utf-8-sig"))))
    assert {r["student_number"] for r in rows} >= set(numbers)

    page.fill("#sign-off-note", "本季度审核完毕")  # refused while findings are open
    page.click("#sign-off-button")
    expect(page.locator("#refused")).to_be_visible()
    expect(page.locator("#run-status")).to_contain_text("completed")

    first = True
    while page.locator('#findings tr[data-status="open"]').count():
        row = page.locator('#findings tr[data-status="open"]').first
        row.locator("input[name=note]").fill(
            "已电话联系，改为已结课" if first else "课程延期，无需处理"
        )
        row.locator(f"button[value={'resolve' if first else 'waive'}]").click()
        expect(page.locator("#done")).to_have_text(
            "The finding is resolved." if first else "The finding is waived."
        )
        first = False
    expect(page.locator("#run-open")).to_have_text("0")
    expect(page.locator('#findings tr[data-status="resolved"]')).to_have_count(1)

    page.fill("#sign-off-note", "本季度审核完毕")
    page.click("#sign-off-button")
    expect(page.locator("#done")).to_have_text("The review is signed off.")
    expect(page.locator("#run-status")).to_contain_text("signed off")
    expect(page.locator("#run-signed-off")).to_contain_text("web:reviewer-1")
    expect(page.locator("#sign-off")).to_have_count(0)
    screenshot(page, "ops-review-signed-off")

    page.goto(f"{site.base}/ops/reviews")
    page.click("#start-form button[type=submit]")  # the current quarter, too
    page.goto(f"{site.base}/ops/reviews")
    bars = page.locator("#chart g.chart-bar")
    expect(bars).not_to_have_count(0)
    bar = page.locator('#chart g.chart-bar[data-quarter="2025Q4"]')
    expect(bar).to_have_attribute("data-value", str(len(rows)))
    expect(bar.locator("rect")).to_be_visible()
    expect(page.locator('#per-rule tr[data-rule="enrolled_without_active_course"]')).to_be_visible()
    screenshot(page, "ops-reviews-chart")
    with page.expect_download() as report:
        page.click("#report-link")
    assert "<svg" in Path(report.value.path()).read_text("utf-8")


def test_backups_are_made_and_verified_and_the_audit_chain_checks(
    site: Site, new_page: Callable[..., Page]
) -> None:
    new_student(site, name="吴三")
    page = staff_page(site, new_page, "operator-all", Role.OPERATOR, branch="*")
    page.goto(f"{site.base}/ops/backups")
    page.click("#create-form button[type=submit]")
    expect(page.locator("#done")).to_have_text("The backup was made.")
    row = page.locator("#backups tbody tr").first
    backup_id = str(row.get_attribute("data-backup"))
    row.locator("button").click()
    expect(page.locator("#verify-result")).to_have_attribute("data-ok", "yes")
    expect(page.locator("#verify-result")).to_have_attribute("data-backup", backup_id)
    expect(page.locator(f'#backups tr[data-backup="{backup_id}"] [data-verified]')).to_have_text(
        "passed"
    )
    screenshot(page, "ops-backups")

    auditor = staff_page(site, new_page, "auditor-2", Role.AUDITOR, branch="*")
    auditor.goto(f"{site.base}/ops/audit")
    auditor.click("#verify-audit")
    expect(auditor.locator("#audit-result")).to_have_attribute("data-ok", "yes")
    expect(auditor.locator("#audit-entries")).to_contain_text("SH01")
    screenshot(auditor, "ops-audit")

    refused = auditor.goto(f"{site.base}/ops/backups")  # backups are the operator's
    assert refused is not None
    assert refused.status == 403
