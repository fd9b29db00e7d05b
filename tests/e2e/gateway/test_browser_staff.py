"""The staff console in a real browser, over the real services: admission, four-eyes change
review, a dossier's whole page, the 404 that does not tell other branches' numbers apart,
destruction requests with legal holds, and bulk import with its report."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path

from playwright.sync_api import Page, expect

from dossier.core.policy import Role
from dossier.core.student_number import DEFAULT_FORMAT
from dossier.gateway.i18n import TEXT
from tests.e2e.gateway.conftest import Site, screenshot, sign_in
from tests.e2e.gateway.test_browser_registration import PNG, fill_valid
from tests.support.load import admit_many

TEMPLATES = Path(__file__).resolve().parents[3] / "services/gateway/src/dossier/gateway/templates"
_serial = count(1)


def admitted(site: Site) -> str:
    """A student admitted through the services (front desk submits, an officer accepts)."""
    n = next(_serial) + 900
    desk = site.stack.token("seed-desk", Role.FRONT_DESK)
    officer = site.stack.token("seed-officer", Role.ENROLMENT_OFFICER)
    run = f"staff-{uuid.uuid4().hex[:8]}"
    seeding = admit_many(site.stack.url_for("staff"), desk, officer, [n], run_id=run)
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's loop
        return thread.submit(asyncio.run, seeding).result()[0]


def people(site: Site) -> dict[str, str]:
    """Accounts of one test: logins made unique so tests never share a person."""
    tag = uuid.uuid4().hex[:6]
    return {
        "desk": site.staff(f"desk-{tag}", Role.FRONT_DESK),
        "officer": site.staff(f"officer-{tag}", Role.ENROLMENT_OFFICER),
        "manager": site.staff(f"manager-{tag}", Role.ENROLMENT_OFFICER, Role.APPROVER),
        "approver": site.staff(f"approver-{tag}", Role.APPROVER),
        "desk_hk": site.staff(f"desk-hk-{tag}", Role.FRONT_DESK, branch="HK01"),
    }


def staff_page(new_page: Callable[..., Page], site: Site, login: str) -> Page:
    page = new_page(locale="en")
    sign_in(page, site.base, login)
    expect(page).to_have_url(re.compile(r"/staff$"))
    return page


def register_online(page: Page, site: Site, name: str, id_number: str, copy: Path) -> str:
    """The online form as a person fills it in; the registration's reference."""
    page.goto(f"{site.base}/register?lang=en")
    fill_valid(page, name=name)
    page.fill("#applicant-id_document-number", id_number)
    page.set_input_files("#document", str(copy))
    page.click("button[type=submit]")
    expect(page.locator("#reference")).to_be_visible()
    found = re.search(r"ref=([0-9a-f-]+)", page.url)
    assert found, page.url
    return found.group(1)


def test_a_registration_is_queued_for_the_front_desk_and_admitted_by_an_officer(
    site: Site, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    who = people(site)
    copy = tmp_path / "id.png"
    copy.write_bytes(PNG)
    applicant = new_page(locale="en")
    first = register_online(applicant, site, "Chan Tai Man", "K12345678", copy)
    second = register_online(applicant, site, "Chan Siu Man", "K87654321", copy)  # same phone

    desk = staff_page(new_page, site, who["desk"])
    expect(desk.locator("#link-queue")).to_be_visible()
    expect(desk.locator("#link-changes")).to_have_count(0)  # not a front-desk page
    screenshot(desk, "staff-console")
    desk.click("#link-queue")
    desk.select_option("#filter-order", "newest")
    desk.click("form.filters button[type=submit]")
    rows = desk.locator("#registrations tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("a")).to_have_attribute("href", f"/staff/registrations/{second}")
    expect(rows.first).to_contain_text("139****5678")  # masked for the front desk
    screenshot(desk, "staff-registrations")
    desk.click(f'a[href="/staff/registrations/{first}"]')
    expect(desk.locator("#comparison .duplicate")).to_have_count(1)
    expect(desk.locator("#admit")).to_have_count(0)  # the front desk does not decide

    officer = staff_page(new_page, site, who["officer"])
    officer.goto(f"{site.base}/staff/registrations/{first}")
    duplicate = officer.locator("#comparison .duplicate")
    expect(duplicate).to_contain_text("the same phone")
    expect(duplicate).to_contain_text("Chan Siu Man")  # side by side, unmasked for an officer
    officer.click("#admit")  # without looking at the duplicate: refused by intake
    expect(officer.locator('.error[data-field="allow_duplicates"]')).to_be_visible()
    expect(officer.locator("#student-number")).to_have_count(0)
    officer.check("#allow-duplicates")
    officer.click("#admit")
    shown = officer.locator("#student-number strong")
    expect(shown).to_have_text(re.compile(r"^SH01-\d{2}-\d{6}-[0-9A-Z]$"))
    expect(officer.locator("#registration-status")).to_have_text("admitted")
    screenshot(officer, "staff-registration-admitted")
    number = shown.inner_text()
    officer.click("#student-number a")
    expect(officer.locator("h1")).to_have_text(f"Dossier {number}")


def test_the_requester_cannot_approve_their_change_and_an_approver_approves_some_fields(
    site: Site, new_page: Callable[..., Page]
) -> None:
    who = people(site)
    number = admitted(site)
    manager = staff_page(new_page, site, who["manager"])
    manager.goto(f"{site.base}/staff/dossiers/{number}")
    manager.click("#new-change")
    manager.fill("#change-personal-phone", "13800138000")
    manager.fill("#change-personal-email", "new@example.cn")
    manager.fill("#change-needs-goals", "HSK 5")
    manager.fill("#change-reason", "The student asked at the desk")
    manager.click("#submit-change")
    expect(manager.locator("#field-changes tbody tr")).to_have_count(3)
    expect(manager.locator("#four-eyes")).to_be_visible()
    expect(manager.locator("#approve")).to_have_count(0)
    change_url = manager.url
    screenshot(manager, "staff-change-own")

    # The page holds no approve button, but the service is what refuses: post it anyway.
    csrf = manager.locator('input[name="csrf"]').first.get_attribute("value")
    refused = manager.request.post(
        f"{change_url}/review",
        form={
            "csrf": csrf or "",
            "idempotency_key": uuid.uuid4().hex,
            "decision": "approve",
            "comment": "mine",
        },
    )
    assert refused.status == 403
    assert "four-eyes" in refused.text()

    approver = staff_page(new_page, site, who["approver"])
    approver.click("#link-changes")
    expect(
        approver.locator(f'#changes a[href="{change_url.removeprefix(site.base)}"]')
    ).to_be_visible()
    screenshot(approver, "staff-changes")
    approver.goto(change_url)
    expect(approver.locator("#four-eyes")).to_have_count(0)
    row = approver.locator('#field-changes tr[data-field="personal.email"]')
    expect(row.locator(".after")).to_have_text("new@example.cn")
    row.locator("input[type=checkbox]").uncheck()
    approver.fill("#review-comment", "Email needs evidence")
    screenshot(approver, "staff-change-review")
    approver.click("#approve")
    expect(approver.locator("#flash")).to_contain_text("ticked fields were approved")
    expect(approver.locator("#change-status")).to_have_text("applied")

    approver.goto(f"{site.base}/staff/dossiers/{number}")
    expect(approver.locator('#personal-section dd[data-field="phone"]')).to_have_text(
        "+8613800138000"
    )
    expect(approver.locator('#personal-section dd[data-field="email"]')).not_to_have_text(
        "new@example.cn"
    )
    expect(approver.locator('#needs dd[data-field="needs.goals"]')).to_have_text("HSK 5")
    expect(approver.locator('#audit-table td[data-action="change.approved"]')).to_have_count(1)


def test_a_stale_change_is_re_based_before_it_can_be_approved(
    site: Site, new_page: Callable[..., Page]
) -> None:
    who = people(site)
    number = admitted(site)
    officer = staff_page(new_page, site, who["officer"])
    officer.goto(f"{site.base}/staff/dossiers/{number}/changes/new")
    officer.fill("#change-needs-current_level", "B1")
    officer.fill("#change-reason", "Placement test")
    officer.click("#submit-change")
    change_url = officer.url
    expect(officer.locator("#four-eyes")).to_be_visible()  # their own: someone else decides
    officer.goto(f"{site.base}/staff/dossiers/{number}")
    officer.fill("#enrol-course_code", "ZH-1")
    officer.fill("#enrol-course_name", "Chinese 1")
    officer.fill("#enrol-starts_on", "2026-04-01")
    officer.click("#enrol")  # the dossier moves on: the request is now stale

    approver = staff_page(new_page, site, who["approver"])
    approver.goto(change_url)
    expect(approver.locator("#stale")).to_be_visible()
    expect(approver.locator("#approve")).to_have_count(0)
    approver.click("#rebase")
    expect(approver.locator("#stale")).to_have_count(0)
    approver.click("#approve")
    expect(approver.locator("#change-status")).to_have_text("applied")


def test_another_branch_s_dossier_is_the_same_404_as_one_that_does_not_exist(
    site: Site, new_page: Callable[..., Page]
) -> None:
    who = people(site)
    number = admitted(site)
    clerk = staff_page(new_page, site, who["desk_hk"])
    seen = []
    for target in (number, DEFAULT_FORMAT.format("SH01", 26, 999_999)):
        answer = clerk.goto(f"{site.base}/staff/dossiers/{target}")
        assert answer is not None
        seen.append((answer.status, clerk.locator("main").inner_text()))
    assert seen[0] == seen[1]
    assert seen[0][0] == 404
    assert number not in seen[0][1]
    screenshot(clerk, "staff-dossier-not-found")

    desk = staff_page(new_page, site, who["desk"])  # the same number, in its own branch
    own = desk.goto(f"{site.base}/staff/dossiers/{number}")
    assert own is not None
    assert own.status == 200


def test_the_dossier_page_shows_courses_payments_documents_history_and_the_audit_trail(
    site: Site, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    who = people(site)
    number = admitted(site)
    officer = staff_page(new_page, site, who["officer"])
    officer.click("#link-search")
    officer.fill("#search-student_number", number)
    officer.click("#search")
    expect(officer.locator("#results tbody tr")).to_have_count(1)
    screenshot(officer, "staff-search")
    officer.click(f'#results a[href="/staff/dossiers/{number}"]')

    officer.fill("#enrol-course_code", "EN-B2")
    officer.fill("#enrol-course_name", "English B2 evening")
    officer.fill("#enrol-starts_on", "2026-03-02")
    officer.click("#enrol")
    expect(officer.locator("#flash")).to_have_text("The course was added.")

    officer.fill("#pay-amount", "abc")  # refused beside the field, the rest kept
    officer.fill("#pay-receipt_ref", "R-0001")
    officer.fill("#pay-paid_at", "2026-03-02T10:30")
    officer.click("#record-payment")
    expect(officer.locator('.error[data-field="amount_minor"]')).to_be_visible()
    expect(officer.locator("#pay-receipt_ref")).to_have_value("R-0001")
    officer.fill("#pay-amount", "3,600.50")
    officer.select_option("#pay-method", "wechat_pay")
    officer.click("#record-payment")
    expect(officer.locator("#payment-table")).to_contain_text("3,600.50 CNY")

    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(PNG + b"receipt")
    officer.select_option("#doc-kind", "payment_receipt")
    officer.set_input_files("#doc-file", str(receipt))
    officer.click("#add-document")
    expect(officer.locator("#document-table tbody tr")).to_have_count(2)  # + the ID copy

    officer.select_option("#status-target", "suspended")
    officer.fill("#status-reason", "Travelling for two months")
    officer.click("#change-status")
    expect(officer.locator("#dossier-status")).to_have_text("suspended")

    expect(officer.locator("#course-table")).to_contain_text("English B2 evening")
    expect(officer.locator("#status-table tbody tr")).to_have_count(2)
    for action in (
        "student.admitted",
        "course.enrolled",
        "payment.recorded",
        "document.added",
        "student.status_changed",
    ):
        expect(officer.locator(f'#audit-table td[data-action="{action}"]')).to_have_count(1)
    assert "Travelling" not in officer.locator("#audit-table").inner_text()  # no values
    screenshot(officer, "staff-dossier")

    link = officer.locator('#document-table a[href*="/documents/"]').last
    download = officer.request.get(f"{site.base}{link.get_attribute('href')}")
    assert download.status == 200
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.body() == PNG + b"receipt"

    officer.click("#invite")
    activation = officer.locator("#activation-link").input_value()
    assert re.match(rf"{re.escape(site.base)}/activate/[A-Za-z0-9_-]{{20,}}$", activation)
    screenshot(officer, "staff-invite")


def test_destruction_requests_show_holds_and_keep_four_eyes(
    site: Site, new_page: Callable[..., Page]
) -> None:
    who = people(site)
    number = admitted(site)
    manager = staff_page(new_page, site, who["manager"])
    manager.goto(f"{site.base}/staff/dossiers/{number}")
    manager.select_option("#status-target", "withdrawn")
    manager.fill("#status-reason", "Moved away")
    manager.click("#change-status")
    manager.fill("#hold-reason", "Fees disputed")
    manager.click("#set-hold")
    expect(manager.locator("#hold-table")).to_contain_text("Fees disputed")
    manager.on("dialog", lambda dialog: dialog.accept())
    manager.fill("#destroy-reason", "The student asked")
    manager.click("#destruction-form button[type=submit]")
    manager.click("#destruction-section a")
    expect(manager.locator("#four-eyes")).to_be_visible()
    expect(manager.locator("#approve")).to_have_count(0)
    expect(manager.locator("#on-hold")).to_be_visible()

    approver = staff_page(new_page, site, who["approver"])
    approver.click("#link-destructions")
    approver.click(f'#destructions tr:has-text("{number}") a')
    screenshot(approver, "staff-destruction")
    approver.on("dialog", lambda dialog: dialog.accept())
    approver.fill("#destruction-reason", "Request checked")
    approver.click("#reject")
    expect(approver.locator("#destruction-status")).to_have_text("rejected")


def test_an_import_reports_each_row_s_problems(
    site: Site, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    who = people(site)
    table = tmp_path / "students.csv"
    table.write_text(
        "name,birth_date,id_type,id_number,phone,target_language,admitted_on\n"
        "Imported Person,1990-01-02,passport,E77100001,+8613700177001,en,2024-09-01\n"
        "Another Person,1991-02-03,passport,E77100002,12,en,2024-09-01\n",
        encoding="utf-8",
    )
    officer = staff_page(new_page, site, who["officer"])
    officer.click("#link-import")
    officer.fill("#import-source_system", "old CRM")
    officer.set_input_files("#import-file", str(table))
    officer.click("#start-import")
    expect(officer.locator("#import-state")).to_have_attribute("data-state", "completed")
    expect(officer.locator("#import-imported")).to_have_text("1")
    problems = officer.locator("#import-problems tbody tr")
    expect(problems).to_have_count(1)
    expect(problems.first).to_contain_text("3")  # the spreadsheet's row (header is row 1)
    expect(problems.first).to_contain_text("phone")
    screenshot(officer, "staff-import")
    progress = officer.request.get(f"{officer.url}/progress").json()
    assert progress["done"] is True
    assert (progress["rows_total"], progress["rows_done"], progress["imported"]) == (2, 2, 1)


def test_every_staff_text_is_in_both_languages() -> None:
    sources = [*(TEMPLATES / "staff").glob("*.html"), *TEMPLATES.parent.glob("staff*.py")]
    used: set[str] = set()
    for source in sources:
        used |= set(re.findall(r"[\"'](staff\.[a-z_.]+[a-z_])[\"']", source.read_text()))
    assert len(used) > 200
    missing = sorted(k for k in used if k not in TEXT or len(TEXT[k]) != 2)
    assert not missing
    assert all(len(v) == 2 for k, v in TEXT.items() if k.startswith("staff."))
