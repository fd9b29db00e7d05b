"""Log lines: JSON with the request's identifiers, and never a person's data."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from dossier.messaging.logs import bind, configure_logging, request_context

NAME = "陈静怡-MARKER"


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("intake", json=True)
    yield out
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def records(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_carries_the_requests_identifiers(lines: io.StringIO) -> None:
    log = logging.getLogger("dossier.test")
    with request_context(request_id="r-1", verb="registration.submit"):
        bind(student_number="SH01-26-000001-W", branch="SH01")
        log.info("request", extra={"outcome": "ok"})
    log.info("after")
    first, after = records(lines)
    assert first["service"] == "intake"
    assert first["request_id"] == "r-1"
    assert first["student_number"] == "SH01-26-000001-W"
    assert first["outcome"] == "ok"
    assert first["level"] == "info"
    assert "request_id" not in after


def test_fields_outside_the_list_never_reach_a_line(lines: io.StringIO) -> None:
    logging.getLogger("dossier.test").warning(
        "oops", extra={"full_name": NAME, "phone": "13800138000"}
    )
    with request_context(request_id="r-2"):
        bind(full_name=NAME)
        logging.getLogger("dossier.test").warning("again")
    assert NAME not in lines.getvalue()
    assert "13800138000" not in lines.getvalue()
    assert len(records(lines)) == 2


def test_exceptions_are_logged_by_type_and_frames_without_their_message(
    lines: io.StringIO,
) -> None:
    try:
        raise ValueError(f"duplicate key value ({NAME})")
    except ValueError:
        logging.getLogger("dossier.test").exception("internal error")
    [record] = records(lines)
    assert NAME not in lines.getvalue()
    assert str(record["exception"]).endswith("ValueError")
    assert "test_logs.py" in str(record["exception"])


def test_text_format_for_a_terminal_is_as_discreet(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        configure_logging("approvals", json=False)
        try:
            raise RuntimeError(NAME)
        except RuntimeError:
            logging.getLogger("dossier.test").exception("failed", extra={"full_name": NAME})
    finally:
        root.handlers[:] = saved
    text = out.getvalue()
    assert "failed" in text
    assert "service=approvals" in text
    assert "RuntimeError" in text
    assert NAME not in text
