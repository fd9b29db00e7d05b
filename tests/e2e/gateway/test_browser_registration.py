"""A person registering online in a real browser: field errors in their language, then done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.gateway.conftest import Site, screenshot

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def fill_valid(page: Page, name: str = "王小明") -> None:
    page.select_option("#branch", "SH01")
    page.fill("#applicant-name", name)
    page.fill("#applicant-birth_date", "1999-05-04")
    page.select_option("#applicant-id_document-type", "passport")
    page.fill("#applicant-id_document-number", "E98765432")
    page.fill("#applicant-phone", "13912345678")
    page.fill("#needs-target_language", "English")


def test_a_bad_form_shows_each_error_beside_its_field_in_the_chosen_language(
    site: Site, new_page: Callable[..., Page]
) -> None:
    page = new_page(locale="zh-CN", phone=True)
    page.goto(f"{site.base}/register")
    page.click("#switch-language")  # the person prefers English
    expect(page.locator("h1")).to_have_text("Registration form")
    fill_valid(page)
    page.fill("#applicant-phone", "12")
    page.fill("#applicant-name", "")
    page.click("button[type=submit]")

    phone_error = page.locator('.error[data-field="applicant.phone"]')
    expect(phone_error).to_be_visible()
    expect(phone_error).to_contain_text("phone")
    expect(page.locator('.error[data-field="applicant.name"]')).to_contain_text("required")
    expect(page.locator("#applicant-phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#applicant-id_document-number")).to_have_value("E98765432")  # kept
    screenshot(page, "register-errors-en-phone")

    page.click("#switch-language")  # back to Chinese: a fresh form
    fill_valid(page)
    page.fill("#applicant-name", "")
    page.click("button[type=submit]")
    expect(page.locator('.error[data-field="applicant.name"]')).to_contain_text("必填")
    expect(page.locator('.error[data-field="applicant.phone"]')).to_have_count(0)


def test_a_valid_form_with_an_id_copy_is_received_with_a_reference(
    site: Site, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    page = new_page(locale="zh-CN")
    page.goto(f"{site.base}/register")
    fill_valid(page, name="李四")
    copy = tmp_path / "passport.png"
    copy.write_bytes(PNG)
    page.set_input_files("#document", str(copy))
    screenshot(page, "register-form")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("报名已提交")
    expect(page.locator("#reference")).to_contain_text("报名编号")
    screenshot(page, "register-done")


def test_an_upload_whose_bytes_are_not_its_declared_type_is_refused(
    site: Site, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    page = new_page(locale="en")
    page.goto(f"{site.base}/register?lang=en")
    fill_valid(page, name="Zhang San")
    fake = tmp_path / "photo.png"
    fake.write_bytes(b"MZ this is a program, not a picture" + b"\x00" * 64)
    page.set_input_files("#document", str(fake))
    page.click("button[type=submit]")
    expect(page.locator('.error[data-field="attachments[0].content"]')).to_be_visible()
    expect(page.locator("h1")).to_have_text("Registration form")
