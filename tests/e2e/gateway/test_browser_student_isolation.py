"""One student's pages never reach another student's record, and one-time links sign in only
the student they were made for, once.

Student A, signed in, sends B's identifiers — B's change id, B's confirmation code, B's
consent id, B's student number — to A's own pages: every one is refused and nothing of B's
moves. The services decide (A's actor carries A's number); the pages never take a student
number from the browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from dossier.core.commands import RecordConsent, ReviewChange, SubmitChange
from dossier.core.enums import ConsentGiver, ConsentPurpose, Decision
from dossier.core.policy import Role
from dossier.core.records import FieldChange
from tests.e2e.gateway.conftest import PASSWORD, Site, screenshot, sign_in
from tests.e2e.gateway.test_browser_student_support import (
    Staff,
    activate,
    approver,
    clerk,
    new_student,
    notification_code,
    serial,
)


def as_student(site: Site, number: str) -> Staff:
    return Staff(site, f"web:{number}", Role.STUDENT, student_number=number)


def applied_change(site: Site, number: str) -> str:
    """A phone change the student asked for and an approver applied: awaiting their answer."""
    receipt = as_student(site, number)(
        SubmitChange(
            student_number=number,
            changes=(FieldChange(field="personal.phone", after=f"1360000{serial():04d}"),),
            reason="新号码",
        )
    )
    approver(site)(
        ReviewChange(change_id=receipt.change_id, decision=Decision.APPROVE, comment="ok")
    )
    return str(receipt.change_id)


def csrf_of(page: Page) -> str:
    return str(page.locator("input[name=csrf]").first.get_attribute("value"))


def post(page: Page, path: str, form: dict[str, str]) -> tuple[int, str]:
    """A form post from A's browser (A's session cookie, A's CSRF token), as a tampered form."""
    answer = page.request.post(
        path, form={"csrf": csrf_of(page), "idempotency_key": f"tamper-{serial():06d}", **form}
    )
    return answer.status, answer.text()


def test_a_student_reaches_nothing_of_another_students_record(
    site: Site, new_page: Callable[..., Page]
) -> None:
    a, b = new_student(site, name="甲同学"), new_student(site, name="乙同学")
    a_change, b_change = applied_change(site, a), applied_change(site, b)
    b_code = notification_code(site, b)
    b_consent = as_student(site, b)(
        RecordConsent(
            student_number=b, purpose=ConsentPurpose.PHOTOS, given_by=ConsentGiver.STUDENT
        )
    ).consent_id

    page = new_page(locale="zh-CN")
    activate(page, site.invite(a))
    base = site.base

    seen = page.goto(f"{base}/me/changes/{b_change}")
    assert seen is not None
    assert seen.status == 404
    expect(page.locator("#error-message")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("乙同学")
    screenshot(page, "student-other-students-change-refused")

    page.goto(f"{base}/me/changes")
    assert post(page, f"{base}/me/changes/{b_change}/confirm", {"code": b_code})[0] == 404
    assert post(page, f"{base}/me/changes/{b_change}/confirm", {})[0] == 404
    assert (
        post(page, f"{base}/me/changes/{b_change}/dispute", {"code": b_code, "reason": "x"})[0]
        == 404
    )
    status, shown = post(page, f"{base}/me/changes/{a_change}/confirm", {"code": b_code})
    assert status == 403  # B's code does not answer A's change
    assert "确认码错误" in shown
    assert post(page, f"{base}/me/consents/{b_consent}/withdraw", {})[0] == 404

    staff = clerk(site)
    assert staff("change.get", {"change_id": b_change})["status"] == "applied"
    assert staff("change.get", {"change_id": a_change})["status"] == "applied"
    consents = staff("consent.list", {"student_number": b})["items"]
    assert [(c["consent_id"], c["active"]) for c in consents] == [(b_consent, True)]

    # a student number in the form is not a page's input: the copy is A's own
    page.goto(f"{base}/me/export")
    answer = page.request.post(
        f"{base}/me/export",
        form={"csrf": csrf_of(page), "idempotency_key": "tamper-export", "student_number": b},
    )
    assert answer.status == 200
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert json.loads(answer.body())["student_number"] == a

    # the staff pages are not a student's
    refused = page.goto(f"{base}/ops/reviews")
    assert refused is not None
    assert refused.status == 403

    # A's own change is still A's to confirm, with A's own code
    page.goto(f"{base}/me/changes/{a_change}")
    page.click("#confirm")
    expect(page.locator("#change-status")).to_contain_text("已确认")


def test_an_activation_link_signs_in_its_own_student_once(
    site: Site, new_page: Callable[..., Page]
) -> None:
    a, b = new_student(site, name="丙同学"), new_student(site, name="丁同学")
    a_link, b_link = site.invite(a), site.invite(b)

    page = new_page(locale="zh-CN")
    activate(page, a_link)
    expect(page.locator("#student-number")).to_have_text(a)

    # used once: the same link again, in another browser, signs nobody in
    other = new_page(locale="zh-CN")
    other.goto(a_link)
    other.fill("#password", "another password 123")
    other.click("main button[type=submit]")
    expect(other.locator(".alert")).to_contain_text("链接已失效")
    gone = other.goto(f"{site.base}/me")
    assert gone is not None
    expect(other).to_have_url(re.compile(r"/signin"))
    screenshot(other, "student-activation-link-used")

    # B's link opened in A's browser: a fresh session for B, nothing of A's carried over
    page.goto(b_link)
    page.fill("#password", "bs own password 1")
    page.click("main button[type=submit]")
    expect(page.locator("#student-number")).to_have_text(b)
    page.goto(a_link)  # and A's spent link cannot bring A back
    page.fill("#password", "anything 12345")
    page.click("main button[type=submit]")
    expect(page.locator(".alert")).to_be_visible()
    page.goto(f"{site.base}/me")
    expect(page.locator("#student-number")).to_have_text(b)

    # A's password does not open B's account
    with httpx.Client(base_url=site.base) as browser:
        form = browser.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        wrong = browser.post("/signin", data={"login": b, "password": PASSWORD, "csrf": csrf[1]})
        assert wrong.status_code == 401

    # a new invitation makes the earlier, unused link useless
    c = new_student(site, name="戊同学")
    first, second = site.invite(c), site.invite(c)
    fresh = new_page(locale="zh-CN")
    fresh.goto(first)
    fresh.fill("#password", PASSWORD)
    fresh.click("main button[type=submit]")
    expect(fresh.locator(".alert")).to_be_visible()
    activate(fresh, second)
    expect(fresh.locator("#student-number")).to_have_text(c)
    again = new_page(locale="zh-CN")
    sign_in(again, site.base, a)  # A signs in with the password A chose, as before
    expect(again.locator("#student-number")).to_have_text(a)


def test_the_pages_take_nobodys_number_from_the_address(
    site: Site, new_page: Callable[..., Page]
) -> None:
    a, b = new_student(site, name="己同学"), new_student(site, name="庚同学")
    page = new_page(locale="zh-CN")
    activate(page, site.invite(a))
    for path in ("/me", "/me/changes", "/me/notifications", "/me/consents", "/me/destruction"):
        page.goto(f"{site.base}{path}?student_number={b}&number={b}")
        expect(page.locator("main")).not_to_contain_text(b)
        expect(page.locator("main")).not_to_contain_text("庚同学")
    page.goto(f"{site.base}/me?student_number={b}")
    expect(page.locator("#student-number")).to_have_text(a)
