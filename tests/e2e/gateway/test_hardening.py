"""The gateway holds against a stranger and a curious clerk (issue 16): sessions end on the
server, an activated student's account cannot be taken over by an invitation, sign-in tells
nobody which logins exist, and no body a stranger sends costs memory or a 500.

HTTP-level, against the real gateway process and the real services. Client addresses are
told to the gateway as a trusted proxy would (``X-Forwarded-For`` from 127.0.0.1), so each
test counts its own attempts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dossier.core.policy import Role
from tests.e2e.gateway.conftest import PASSWORD, Site
from tests.e2e.gateway.hostile import (
    BUS_PAYLOAD_SIZES,
    MB,
    address,
    csrf_of,
    hostile_statuses,
    raw_post,
    registration_with_attachment,
    session_after_signout,
    signed_in,
)
from tests.e2e.gateway.test_browser_student_support import new_student

NEW_PASSWORD = "a brand new passphrase"


def activated(site: Site, link: str, password: str = PASSWORD) -> httpx.Client:
    """The student opens their link and chooses a password: signed in, on their page."""
    browser = httpx.Client(headers=address())
    form = browser.get(link)
    done = browser.post(link, data={"password": password, "csrf": csrf_of(form)})
    assert done.status_code == 303, done.text
    assert browser.get(f"{site.base}/me").status_code == 200
    return browser


def refusal_text(page: httpx.Response) -> str:
    found = re.search(r'id="signin-error">([^<]*)<', page.text)
    return found.group(1) if found else ""


def gateway_pid(site: Site) -> int:
    (process,) = [p for p in site.stack.processes if "dossier.gateway.service" in str(p.args)]
    return process.pid


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


# -- sessions that end -------------------------------------------------------------------


def test_a_cookie_copied_before_sign_out_no_longer_opens_a_dossier(site: Site) -> None:
    assert session_after_signout(site) == 0


def test_without_tls_configured_cookies_are_not_secure_but_https_requests_get_hsts(
    site: Site,
) -> None:
    plain = httpx.get(f"{site.base}/signin")
    assert "strict-transport-security" not in plain.headers
    assert "secure" not in plain.headers["set-cookie"].lower()
    proxied = httpx.get(f"{site.base}/signin", headers={"x-forwarded-proto": "https"})
    assert proxied.headers["strict-transport-security"].startswith("max-age=")
    assert "; secure" in proxied.headers["set-cookie"].lower()
    log = (site.stack.home / "gateway.log").read_text(errors="replace")
    assert "NOT CONFIGURED FOR TLS" in log


# -- invites nobody can hijack -----------------------------------------------------------


def test_the_clerks_invite_takeover_fails(site: Site) -> None:
    number = new_student(site, name="吴同学")
    student = activated(site, site.invite(number))
    student_cookie = student.cookies["dossier_session"]

    clerk = signed_in(site, site.staff("clerk-takeover", Role.FRONT_DESK))
    page = clerk.get(f"/staff/dossiers/{number}")
    assert page.status_code == 200
    assert 'id="invite-form"' not in page.text
    csrf = csrf_of(page)
    takeover = clerk.post(f"/staff/dossiers/{number}/invite", data={"csrf": csrf})
    assert takeover.status_code == 403
    assert "/activate/" not in takeover.text

    officer = signed_in(site, site.staff("officer-takeover", Role.ENROLMENT_OFFICER))
    page = officer.get(f"/staff/dossiers/{number}")
    assert 'id="account-activated"' in page.text
    assert 'id="invite-form"' not in page.text
    again = officer.post(f"/staff/dossiers/{number}/invite", data={"csrf": csrf_of(page)})
    assert again.status_code == 409
    assert "/activate/" not in again.text
    assert "activated their account already" in again.text or "已激活" in again.text

    # the student is not locked out: the password and the session still work
    assert student.get(f"{site.base}/me").status_code == 200
    signed_in(site, number)

    # an admin may reset, with a reason only; it is recorded, and the old password stops
    admin = signed_in(site, site.staff("admin-reset", Role.ADMIN))
    page = admin.get(f"/staff/dossiers/{number}")
    assert 'id="reset-form"' in page.text
    no_reason = admin.post(f"/staff/dossiers/{number}/invite", data={"csrf": csrf_of(page)})
    assert no_reason.status_code == 400
    assert "/activate/" not in no_reason.text
    reset = admin.post(
        f"/staff/dossiers/{number}/invite",
        data={"csrf": csrf_of(page), "reason": "the student forgot the password"},
    )
    assert reset.status_code == 200
    link = re.search(r'value="([^"]*/activate/[^"]+)"', reset.text)
    assert link
    with httpx.Client(base_url=site.base, cookies={"dossier_session": student_cookie}) as old:
        assert old.get("/me").status_code == 303  # the reset ended the student's sessions
    with httpx.Client(base_url=site.base, headers=address()) as browser:
        refused = browser.post(
            "/signin",
            data={"login": number, "password": PASSWORD, "csrf": csrf_of(browser.get("/signin"))},
        )
    assert refused.status_code == 401
    admin_id = site.accounts.find_by_login("admin-reset")
    student_account = site.accounts.find_by_login(number)
    assert admin_id is not None
    assert student_account is not None
    events = site.accounts.events(student_account.id)
    assert [e.kind for e in events] == ["invited", "activated", "reset"]
    assert (events[-1].by_account, events[-1].reason) == (
        admin_id.id,
        "the student forgot the password",
    )

    # the student is told of every activation on their own page
    renewed = activated(site, link.group(1), NEW_PASSWORD)
    me = renewed.get(f"{site.base}/me?lang=en")
    shown = re.search(r'id="activations">(.*?)</div>', me.text, re.S)
    assert shown
    assert shown.group(1).count("<li>") == 2


def test_a_front_desk_clerk_never_sees_an_activation_link(site: Site) -> None:
    number = new_student(site, name="郑同学")
    clerk = signed_in(site, site.staff("clerk-first-invite", Role.FRONT_DESK))
    page = clerk.get(f"/staff/dossiers/{number}")
    answer = clerk.post(f"/staff/dossiers/{number}/invite", data={"csrf": csrf_of(page)})
    assert answer.status_code == 403
    assert "/activate/" not in answer.text
    assert site.accounts.activation_state(number) == "none"


# -- sign-in without enumeration ---------------------------------------------------------


def test_enumeration_through_lockout_no_longer_tells_a_known_login_from_an_unknown(
    site: Site,
) -> None:
    known = site.staff("clerk-enumerated", Role.FRONT_DESK)

    def attempts(login: str, password: str, times: int) -> list[tuple[int, str]]:
        with httpx.Client(base_url=site.base, headers=address()) as browser:
            csrf = csrf_of(browser.get("/signin"))
            answers = [
                browser.post("/signin", data={"login": login, "password": password, "csrf": csrf})
                for _ in range(times)
            ]
        return [(a.status_code, refusal_text(a)) for a in answers]

    on_known = attempts(known, "wrong password", 8)  # locked after five
    on_unknown = attempts("nobody-at-all", "wrong password", 8)
    assert on_known == on_unknown
    assert {status for status, _ in on_known} == {401}
    assert all(text for _, text in on_known)
    # locked, even the right password answers as an unknown login does
    assert attempts(known, PASSWORD, 1) == attempts("nobody-else", PASSWORD, 1)


def test_refused_sign_ins_are_limited_per_client_address(site: Site) -> None:
    site.staff("clerk-limited", Role.FRONT_DESK)
    one = address()
    with httpx.Client(base_url=site.base, headers=one) as browser:
        csrf = csrf_of(browser.get("/signin"))
        answers = [
            browser.post(
                "/signin", data={"login": f"guess-{i}", "password": "wrong", "csrf": csrf}
            ).status_code
            for i in range(21)
        ]
        right = browser.post(
            "/signin", data={"login": "clerk-limited", "password": PASSWORD, "csrf": csrf}
        )
    assert answers == [401] * 20 + [429]
    assert right.status_code == 429  # the address waits, whatever it tries
    assert int(right.headers["retry-after"]) > 0
    other = signed_in(site, "clerk-limited")  # another address is not held up
    assert other.get("/staff").status_code == 200


def test_online_registrations_are_limited_per_client_address(site: Site) -> None:
    one = address()
    with httpx.Client(base_url=site.base, headers=one) as client:
        answers = [
            client.post("/api/v1/registrations", content=b"{").status_code for _ in range(21)
        ]
        form = client.get("/register")
        page = client.post("/register", data={"csrf": csrf_of(form), "branch": "SH01"})
    assert answers == [400] * 20 + [429]
    assert page.status_code == 429  # the HTML form counts against the same address


# -- bounded bodies -----------------------------------------------------------------------


def test_a_200_mb_body_answers_413_without_growing_the_gateway(site: Site) -> None:
    """Peak RSS (VmHWM) is reset first: signing in (argon2, 64 MiB a hash) already peaked."""
    pid = gateway_pid(site)
    httpx.get(f"{site.base}/api/v1/health")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    idle = memory_kb(pid, "VmRSS")
    assert memory_kb(pid, "VmHWM") <= idle + 1024
    forwarded = address()

    declared, _ = raw_post(
        site.base,
        "/api/v1/registrations",
        {**forwarded, "Content-Type": "application/json", "Content-Length": str(200 * MB)},
    )
    assert declared == 413

    def body() -> Iterator[bytes]:
        chunk = b"[" * (64 * 1024)
        for _ in range(200 * MB // len(chunk)):
            yield chunk

    chunked, sent = raw_post(
        site.base,
        "/api/v1/registrations",
        {**address(), "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        body(),
    )
    assert chunked == 413
    assert sent < 200 * MB
    time.sleep(0.5)
    peak = memory_kb(pid, "VmHWM")
    print(f"gateway RSS idle {idle / 1024:.1f} MB, peak {peak / 1024:.1f} MB, sent {sent} B")
    assert peak < idle + 64 * 1024
    assert httpx.get(f"{site.base}/api/v1/health").status_code == 200


def test_json_nested_300_deep_answers_400_with_a_structured_error(site: Site) -> None:
    deep = b"[" * 300 + b"]" * 300
    nested = b'{"branch": "SH01", "applicant": ' + b'{"a": ' * 300 + b"1" + b"}" * 301
    for content in (deep, nested):
        answer = httpx.post(f"{site.base}/api/v1/registrations", content=content, headers=address())
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("size", BUS_PAYLOAD_SIZES)
def test_an_attachment_over_the_bus_payload_answers_413_not_500(site: Site, size: int) -> None:
    answer = httpx.post(
        f"{site.base}/api/v1/registrations",
        content=registration_with_attachment(size),
        headers={**address(), "content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_no_hostile_input_is_answered_with_a_5xx(site: Site) -> None:
    statuses = hostile_statuses(site.base)
    assert {name: s for name, s in statuses.items() if s >= 500} == {}
    assert all(400 <= s < 500 for s in statuses.values()), statuses


def test_no_hostile_request_made_the_gateway_log_an_internal_error(site: Site) -> None:
    log = (site.stack.home / "gateway.log").read_text(errors="replace")
    assert "internal error" not in log
    assert " 500" not in log
