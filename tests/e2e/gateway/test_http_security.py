"""The gateway's HTTP surface: security headers, CSRF, sessions, errors — over real services."""

from __future__ import annotations

import re

import httpx

from dossier.core.policy import Role
from tests.e2e.gateway.conftest import PASSWORD, Site

EXPECTED_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_pages_carry_security_headers_and_a_csp_without_inline_script(site: Site) -> None:
    with httpx.Client(base_url=site.base) as browser:
        page = browser.get("/register")
    assert page.status_code == 200
    for name, value in EXPECTED_HEADERS.items():
        assert page.headers[name] == value
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "<script>" not in page.text  # only external, same-origin scripts
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


def test_a_form_posted_without_its_csrf_token_is_refused(site: Site) -> None:
    login = site.staff("clerk-1", Role.FRONT_DESK)
    with httpx.Client(base_url=site.base) as browser:
        browser.get("/signin")
        refused = browser.post("/signin", data={"login": login, "password": PASSWORD})
        assert refused.status_code == 403
        assert "staff" not in refused.headers.get("location", "")
        wrong = browser.post(
            "/signin", data={"login": login, "password": PASSWORD, "csrf": "forged-token"}
        )
        assert wrong.status_code == 403


def test_a_tampered_session_cookie_counts_as_signed_out(site: Site) -> None:
    login = site.staff("clerk-2", Role.FRONT_DESK)
    with httpx.Client(base_url=site.base) as browser:
        form = browser.get("/signin")
        signed_in = browser.post(
            "/signin", data={"login": login, "password": PASSWORD, "csrf": csrf_of(form)}
        )
        assert signed_in.status_code == 303
        assert browser.get("/staff").status_code == 200
        cookie = browser.cookies["dossier_session"]
        payload, _, signature = cookie.rpartition(".")
        browser.cookies.set("dossier_session", f"{payload}x.{signature}")
        tampered = browser.get("/staff")
    assert tampered.status_code == 303
    assert tampered.headers["location"].startswith("/signin")


def test_wrong_passwords_lock_the_account_for_a_while(site: Site) -> None:
    login = site.staff("clerk-3", Role.FRONT_DESK)
    with httpx.Client(base_url=site.base) as browser:
        csrf = csrf_of(browser.get("/signin"))
        answers = [
            browser.post("/signin", data={"login": login, "password": "wrong", "csrf": csrf})
            for _ in range(5)
        ]
        assert [a.status_code for a in answers] == [401] * 5  # the same as an unknown login
        right = browser.post("/signin", data={"login": login, "password": PASSWORD, "csrf": csrf})
    assert right.status_code == 401  # locked even with the right password
    unknown = httpx.post(
        f"{site.base}/signin",
        data={"login": "nobody", "password": "x", "csrf": csrf},
        cookies={"dossier_session": browser.cookies.get("dossier_session") or ""},
    )
    assert unknown.status_code == 401


def test_openapi_describes_the_json_api(site: Site) -> None:
    described = httpx.get(f"{site.base}/openapi.json").json()
    assert "/api/v1/registrations" in described["paths"]
