"""What a stranger can send the gateway, and what a copied cookie can do: shared by
`test_hardening.py` and ``bench/reliability.py`` (``gateway_5xx_on_hostile_input``,
``session_after_signout``)."""

from __future__ import annotations

import re
import select
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import orjson

from dossier.core.policy import Role
from tests.e2e.gateway.conftest import PASSWORD, Site
from tests.e2e.gateway.test_browser_student_support import new_student, serial

MB = 1024 * 1024


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def address() -> dict[str, str]:
    """A client address of this test's own (the gateway trusts 127.0.0.1 as its proxy)."""
    n = serial()
    return {"x-forwarded-for": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


def signed_in(site: Site, login: str, password: str = PASSWORD) -> httpx.Client:
    browser = httpx.Client(base_url=site.base, headers=address())
    answer = browser.post(
        "/signin",
        data={"login": login, "password": password, "csrf": csrf_of(browser.get("/signin"))},
    )
    assert answer.status_code == 303, answer.text
    return browser


def raw_post(
    base: str, path: str, headers: dict[str, str], chunks: Iterator[bytes] | None = None
) -> tuple[int, int]:
    """POST by hand: the headers, then (chunked) body chunks until the gateway answers. The
    status and how many body bytes were sent before the answer."""
    url = urlsplit(base)
    assert url.hostname is not None
    assert url.port is not None
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    sent = 0
    try:
        sock.sendall((head + "\r\n").encode())
        for chunk in chunks or ():
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = b""
        while b"\r\n" not in answer:
            part = sock.recv(65536)
            if not part:
                break
            answer += part
    finally:
        sock.close()
    return int(answer.split(b" ", 2)[1]), sent


def registration_with_attachment(size: int) -> bytes:
    """A registration whose one attachment makes the JSON body ``size`` bytes."""
    body = {
        "branch": "SH01",
        "channel": "online",
        "applicant": {
            "name": "王小明",
            "gender": "undisclosed",
            "birth_date": "1999-01-01",
            "id_document": {"type": "passport", "number": "P12345678"},
            "phone": "13912345678",
        },
        "needs": {"target_language": "English"},
        "attachments": [{"kind": "id_proof", "media_type": "image/png", "content": ""}],
    }
    padding = size - len(orjson.dumps(body))
    body["attachments"][0]["content"] = "A" * (padding - padding % 4)  # type: ignore[index]
    return orjson.dumps(body)


BUS_PAYLOAD_SIZES = (950 * 1024, 1024 * 1024 - 2048)
"""Attachments just under and at the NATS payload limit once wrapped in a registration."""


def hostile_statuses(base: str) -> dict[str, int]:
    """The status the gateway answered each hostile request with."""
    path = "/api/v1/registrations"
    json_type = {"Content-Type": "application/json"}
    statuses: dict[str, int] = {}
    statuses["declared 200 MB"], _ = raw_post(
        base, path, {**address(), **json_type, "Content-Length": str(200 * MB)}
    )

    def chunks() -> Iterator[bytes]:
        chunk = b"[" * (64 * 1024)
        for _ in range(200 * MB // len(chunk)):
            yield chunk

    statuses["chunked 200 MB"], _ = raw_post(
        base, path, {**address(), **json_type, "Transfer-Encoding": "chunked"}, chunks()
    )
    bodies = {
        "array 300 deep": b"[" * 300 + b"]" * 300,
        "object 300 deep": b'{"branch": "SH01", "applicant": '
        + b'{"a": ' * 300
        + b"1"
        + b"}" * 301,
        "truncated JSON": b'{"branch": "SH0',
        "not UTF-8": b'{"branch": "\xff\xfe"}',
        "a JSON string": b'"registration"',
        "null": b"null",
        "huge number": b'{"branch": 1' + b"0" * 5000 + b"}",
        **{
            f"attachment {size} B": registration_with_attachment(size) for size in BUS_PAYLOAD_SIZES
        },
    }
    for name, content in bodies.items():
        answer = httpx.post(
            f"{base}{path}", content=content, headers={**address(), **json_type}, timeout=30
        )
        statuses[name] = answer.status_code
    form = httpx.post(
        f"{base}/register",
        content=b"\x00" * 4096,
        headers={**address(), "Content-Type": "multipart/form-data; boundary=x"},
    )
    statuses["broken multipart form"] = form.status_code
    return statuses


def session_after_signout(site: Site) -> int:
    """1 when a session cookie copied before sign-out still opens a dossier afterwards."""
    number = new_student(site, name="周同学")
    login = f"officer-session-{serial()}"
    officer = signed_in(site, site.staff(login, Role.ENROLMENT_OFFICER))
    assert officer.get(f"/staff/dossiers/{number}").status_code == 200
    copied = officer.cookies["dossier_session"]
    signed_out = officer.post("/signout", data={"csrf": csrf_of(officer.get("/staff"))})
    assert signed_out.status_code == 303
    with httpx.Client(base_url=site.base, cookies={"dossier_session": copied}) as thief:
        stolen = thief.get(f"/staff/dossiers/{number}")
    return int(stolen.status_code == 200)
