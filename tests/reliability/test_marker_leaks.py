"""No personal value leaves the records: not in a log line, an audit entry, an event or an error.

A unique marker (random per run) is planted in every personal field of a test student —
name, phone, e-mail, address, passport number, guardian name, relation and phone, learning
level, goals and schedule, the ID scan — and the services run at ``DOSSIER_LOG_LEVEL=DEBUG``
with JSON logs. Through NATS the student is registered, admitted, has a change request
(a marker in the new value) approved, is withdrawn and destroyed on request; on the way
come the errors that could echo what was sent: a registration breaking every rule with
markers in its values, a change request with a marked invalid value, the acceptance of a
marked duplicate, a read after destruction. Then the markers are looked for — as text
(case folded), hex and base64 — in every service log, every ``audit_log`` row (all columns),
every message (body and headers) of ``DOSSIER_EVENTS`` and ``DOSSIER_PARKED``, every outbox
row, and the body of every error reply received. A control checks that the scan does find
the markers where they belong (the dossier read back by its owner).

`marker_leaks` is what a benchmark calls (its ``leaks`` must be 0).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy

from dossier.core import wire
from dossier.core.attachments import Attachment
from dossier.core.commands import (
    ChangeStudentStatus,
    ReviewChange,
    ReviewDestruction,
    ReviewRegistration,
    SubmitChange,
    SubmitDestruction,
    SubmitRegistration,
)
from dossier.core.contracts.intake import GetDossier
from dossier.core.contracts.retention import ListCertificates
from dossier.core.enums import Channel, Decision, DocumentKind, IdDocumentType, StudentStatus
from dossier.core.policy import Role
from dossier.core.records import FieldChange, Guardian, IdDocument, LearningNeeds, PersonalDetails
from dossier.messaging.client import DossierClient
from dossier.messaging.events import EVENTS_STREAM, PARKED_STREAM
from tests.reliability.faults import (
    BRANCH,
    RawReply,
    connect,
    fault_stack,
    raw_request,
    rows,
    start_service,
    stream_messages,
)

SERVICES = ("intake", "approvals", "retention")


def _letters(n: int) -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(n))


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


@dataclass(frozen=True)
class Markers:
    """One run's markers: a letter stem shared by every text marker, and the phone numbers."""

    stem: str = field(default_factory=lambda: "ZQ" + _letters(10))
    phone: str = field(default_factory=lambda: "139" + _digits(8))
    guardian_phone: str = field(default_factory=lambda: "138" + _digits(8))
    new_phone: str = field(default_factory=lambda: "137" + _digits(8))

    def text(self, tag: str) -> str:
        """A marker for one field: the stem and a tag (letters only, as names must be)."""
        return f"{self.stem}{tag}"

    @property
    def needles(self) -> tuple[str, ...]:
        return (self.stem, self.phone, self.guardian_phone, self.new_phone)


def forms(needle: str) -> tuple[bytes, ...]:
    """The needle as it could appear: text (case folded), hex, base64 at each alignment."""
    raw = needle.encode()
    found = [raw.lower(), raw.hex().encode()]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        found.append(encoded[4 if shift else 0 : -4])
    return tuple(found)


class Scanner:
    def __init__(self, markers: Markers) -> None:
        self.forms = {needle: forms(needle) for needle in markers.needles}

    def count(self, data: bytes | str) -> int:
        """How many times any marker occurs in ``data``, in any of its forms."""
        blob = data.encode() if isinstance(data, str) else data
        folded = blob.lower()
        found = 0
        for raw, hexed, *b64 in self.forms.values():
            found += folded.count(raw) + folded.count(hexed)
            found += sum(blob.count(form) for form in b64)
        return found


@dataclass
class LeakReport:
    leaks: int = 0
    where: Counter[str] = field(default_factory=Counter)
    scanned: Counter[str] = field(default_factory=Counter)
    control: int = 0
    """markers found in the dossier read back by its owner: the scan does see them"""
    error_codes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, place: str, hits: int) -> None:
        self.scanned[place] += 1
        if hits:
            self.leaks += hits
            self.where[place] += hits


def _registration(m: Markers) -> SubmitRegistration:
    scan = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + f"passport {m.text('SCAN')}".encode()
    return SubmitRegistration(
        branch=BRANCH,
        channel=Channel.FRONT_DESK,
        applicant=PersonalDetails(
            name=m.text("NAME").capitalize(),
            birth_date=date.today() - timedelta(days=16 * 365 + 30),
            id_document=IdDocument(type=IdDocumentType.PASSPORT, number=m.text("ID")),
            phone=f"+86{m.phone}",
            email=f"{m.text('MAIL').lower()}@example.com",
            address=f"上海市黄浦区{m.text('ADDR')}路1号",
        ),
        needs=LearningNeeds(
            target_language="en",
            current_level=f"B1 {m.text('LEVEL')}",
            goals=f"IELTS 7 {m.text('GOALS')}",
            preferred_schedule=f"weekends {m.text('SCHED')}",
        ),
        guardian=Guardian(
            name=m.text("GUARDIAN").capitalize(),
            relation=f"father {m.text('REL')}",
            phone=f"+86{m.guardian_phone}",
        ),
        guardian_consent=True,
        attachments=(
            Attachment(
                kind=DocumentKind.ID_PROOF,
                media_type="image/png",
                content=base64.b64encode(scan).decode(),
            ),
        ),
    )


def _broken_registration(m: Markers) -> bytes:
    """Every personal field marked and wrong: the validation error lists them all."""
    return wire.dumps(
        SubmitRegistration(
            branch=BRANCH,
            channel=Channel.ONLINE,
            applicant=PersonalDetails(
                name=f"{m.text('BADNAME')} 42!",
                birth_date=date.today() + timedelta(days=3),
                id_document=IdDocument(type=IdDocumentType.PRC_RESIDENT_ID, number=m.text("BADID")),
                phone=f"+86{m.text('BADPHONE')}",
                email=f"{m.text('BADMAIL')}@@example",
                address=m.text("ADDR") + "\u202e",
            ),
            needs=LearningNeeds(target_language=m.text("LANG")),
            guardian=Guardian(name="", relation=m.text("BADREL"), phone=m.text("BADGPHONE")),
        )
    )


def marker_leaks(*, server_url: str, folder: Path) -> LeakReport:
    """Run the flows at DEBUG with markers in every personal field; count where they leak."""
    markers = Markers()
    scanner = Scanner(markers)
    report = LeakReport()
    started = time.monotonic()
    with fault_stack(folder, server_url) as (running, _):
        for service in SERVICES:
            start_service(running, service, DOSSIER_LOG_LEVEL="DEBUG", DOSSIER_LOG_FORMAT="json")
        for service in SERVICES:
            running.wait_until_serving(service, timeout=60)
        desk_token = running.token("desk-1", Role.FRONT_DESK)
        officer_token = running.token("officer-1", Role.ENROLMENT_OFFICER)

        async def flows() -> list[RawReply]:
            errors: list[RawReply] = []
            nc = await connect(running.url_for("staff"))
            desk = DossierClient(nc, desk_token, timeout=30)
            officer = DossierClient(nc, officer_token, timeout=30)
            approver = DossierClient(nc, running.token("approver-1", Role.APPROVER), timeout=30)
            operator = DossierClient(
                nc, running.token("operator-1", Role.OPERATOR, branches=("*",)), timeout=30
            )

            async def failing(subject: str, body: bytes, token: str, code: str) -> None:
                reply = await raw_request(nc, subject, body, token)
                assert reply.code == code, (reply.code, reply.data[:300])
                errors.append(reply)

            try:
                receipt = await desk.send(_registration(markers))
                outcome = await officer.send(
                    ReviewRegistration(
                        registration_id=receipt.registration_id,
                        decision=Decision.APPROVE,
                        reason="ok",
                    )
                )
                number = str(outcome.student_number)
                student = DossierClient(
                    nc, running.token("stu-1", Role.STUDENT, student_number=number), timeout=30
                )
                own = await student.send(GetDossier(student_number=number))
                report.control = scanner.count(wire.dumps(own))

                # errors that could echo what was sent
                await failing(
                    "dossier.intake.registration.submit",
                    _broken_registration(markers),
                    desk_token,
                    "validation_failed",
                )
                twin = await desk.send(_registration(markers))  # the same person again
                await failing(
                    "dossier.intake.registration.review",
                    wire.dumps(
                        ReviewRegistration(
                            registration_id=twin.registration_id,
                            decision=Decision.APPROVE,
                            reason="ok",
                        )
                    ),
                    officer_token,
                    "probable_duplicates",
                )
                await failing(
                    "dossier.approvals.change.submit",
                    wire.dumps(
                        SubmitChange(
                            student_number=number,
                            changes=(
                                FieldChange(field="personal.phone", after=m_bad(markers)),
                                FieldChange(field="personal.email", after=m_bad(markers)),
                            ),
                            reason="typo",
                        )
                    ),
                    officer_token,
                    "validation_failed",
                )

                # a change request with a marker in the new values, approved (four eyes)
                change = await officer.send(
                    SubmitChange(
                        student_number=number,
                        changes=(
                            FieldChange(
                                field="personal.address", after=f"北京市{markers.text('NEWADDR')}街"
                            ),
                            FieldChange(field="personal.phone", after=f"+86{markers.new_phone}"),
                        ),
                        reason="moved",
                    )
                )
                await approver.send(
                    ReviewChange(
                        change_id=change.change_id, decision=Decision.APPROVE, comment="ok"
                    )
                )

                # destruction on request, executed by retention
                await officer.send(
                    ChangeStudentStatus(
                        student_number=number, target=StudentStatus.WITHDRAWN, reason="left"
                    )
                )
                request = await officer.send(
                    SubmitDestruction(student_number=number, reason="asked")
                )
                await approver.send(
                    ReviewDestruction(
                        request_id=request.request_id, decision=Decision.APPROVE, reason="ok"
                    )
                )
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    page = await operator.send(ListCertificates(branch=BRANCH))
                    if any(c.verification is not None and c.verification.ok for c in page.items):
                        break
                    await asyncio.sleep(0.25)
                else:
                    raise AssertionError("the destruction was not verified within 60 s")
                await failing(
                    "dossier.intake.dossier.get",
                    wire.dumps(GetDossier(student_number=number)),
                    officer_token,
                    "destroyed",
                )
                ops = await connect(running.url_for("ops"))
                for stream in (EVENTS_STREAM, PARKED_STREAM):
                    for message in await stream_messages(ops, stream):
                        report.add(
                            f"stream {stream}",
                            scanner.count(message.data + repr(message.headers).encode()),
                        )
            finally:
                await nc.close()
            return errors

        for reply in asyncio.run(flows()):
            report.error_codes[reply.code] += 1
            report.add("error reply", scanner.count(reply.data))
        engine = sqlalchemy.create_engine(running.database_url)
        try:
            with engine.connect() as conn:
                for (row,) in conn.exec_driver_sql("SELECT t::text FROM audit_log AS t"):
                    report.add("audit_log row", scanner.count(row))
        finally:
            engine.dispose()
        for (payload,) in rows(running.database_url, sqlalchemy.text("SELECT payload FROM outbox")):
            report.add("outbox row", scanner.count(payload))
        running.stop_all()  # every line flushed
        for log in sorted(running.home.glob("*.log")):
            for line in log.read_text(errors="replace").splitlines():
                report.add(f"log {log.name}", scanner.count(line))
                if '"level": "debug"' in line:
                    report.scanned["debug lines"] += 1
    report.seconds = round(time.monotonic() - started, 2)
    return report


def m_bad(markers: Markers) -> str:
    return f"not valid {markers.text('BADCHANGE')} @@"


def test_scanner_finds_every_form() -> None:
    markers = Markers()
    scanner = Scanner(markers)
    for needle in markers.needles:
        for text in (
            f"x{needle.lower()}y",
            needle.encode().hex().upper(),
            *(base64.b64encode(b"ab"[:n] + needle.encode() + b"zz").decode() for n in range(3)),
        ):
            assert scanner.count(text) == 1, text
    assert scanner.count(markers.stem[:-1] + " " + markers.phone[:-1]) == 0


def test_no_marker_in_logs_audit_events_or_errors(postgres_server_url: str, tmp_path: Path) -> None:
    report = marker_leaks(server_url=postgres_server_url, folder=tmp_path)
    print(report)
    assert report.control >= 10, "the scan does not see the markers where they belong"
    assert report.error_codes == {
        "validation_failed": 2,
        "probable_duplicates": 1,
        "destroyed": 1,
    }
    assert report.scanned["audit_log row"] >= 8
    assert report.scanned[f"stream {EVENTS_STREAM}"] >= 8
    for service in SERVICES:  # each log holds the lines of the requests it answered
        assert report.scanned[f"log {service}.log"] >= 5, report.scanned
    assert report.leaks == 0, dict(report.where)
