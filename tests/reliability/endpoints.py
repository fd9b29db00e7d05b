"""What the reliability suite knows about the running services: their endpoints, seeded records,
example bodies, and a raw request that returns whatever came back.

Endpoints are discovered from the running services (``$SRV.INFO``), so a new
endpoint is part of every check without anyone listing it; the services'
``spec()`` functions give each verb its body class and whether it changes
anything. `seed` puts one of each kind of record into branch SH01 through the
services themselves, and `example` builds a structurally valid body for any
body class from those records.
"""

from __future__ import annotations

import asyncio
import base64
import types
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Union, get_args, get_origin

import attrs
import orjson
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout

from dossier.approvals.service import spec as approvals_spec
from dossier.core import wire
from dossier.core.attachments import Attachment
from dossier.core.commands import (
    ChangeStudentStatus,
    EndCourse,
    EnrolCourse,
    RecordConsent,
    RecordPayment,
    ReviewDestruction,
    ReviewRegistration,
    SetLegalHold,
    SubmitChange,
    SubmitDestruction,
    SubmitFeedback,
)
from dossier.core.contracts.approvals import ListNotifications
from dossier.core.contracts.intake import AddDocument, GetDossier, ImportFormat, StartImport
from dossier.core.contracts.retention import (
    CreateBackup,
    ListCertificates,
    ListFindings,
    StartReview,
)
from dossier.core.enums import (
    ConsentGiver,
    ConsentPurpose,
    Decision,
    DocumentKind,
    Locale,
    PaymentMethod,
    StudentStatus,
)
from dossier.core.policy import Role
from dossier.core.records import FieldChange
from dossier.core.student_number import DEFAULT_FORMAT
from dossier.intake.service import spec as intake_spec
from dossier.messaging import headers
from dossier.messaging.client import DossierClient
from dossier.messaging.replies import ERROR_CODE_HEADER
from dossier.messaging.service import Endpoint
from dossier.retention.service import spec as retention_spec
from tests.support.load import registration
from tests.support.stack import Stack

BRANCH = "SH01"
OTHER_BRANCH = "HK01"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
CSV = (
    "name,birth_date,id_type,id_number,phone,target_language,admitted_on\n"
    "Imported Person,1990-01-02,passport,E77000001,+8613700077001,en,2024-09-01\n"
)
MISSING_NUMBER = DEFAULT_FORMAT.format(BRANCH, 26, 999_999)
"""A well-formed student number nobody has."""
OTHER_STUDENT = DEFAULT_FORMAT.format(OTHER_BRANCH, 26, 999_998)
"""The student number of the matrix's *other* student (who has no record here)."""


# -- endpoints ---------------------------------------------------------------------------------


class _Anything:
    """Stands in for the use-case objects when only the endpoint declarations are wanted."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def never(*_: Any, **__: Any) -> Any:
            raise AssertionError(f"{name} called on a declaration-only spec")

        return never


@dataclass(frozen=True)
class Declared:
    service: str
    endpoint: Endpoint

    @property
    def subject(self) -> str:
        return f"dossier.{self.service}.{self.endpoint.verb}"


def declared() -> dict[str, Declared]:
    """Every endpoint the services' ``spec()`` functions declare, by verb."""
    stub: Any = _Anything()
    specs = (
        intake_spec(stub, importer=stub),
        approvals_spec(stub),
        retention_spec(stub, stub, stub, Locale.EN),
    )
    found: dict[str, Declared] = {}
    for spec in specs:
        for endpoint in spec.endpoints:
            assert endpoint.verb not in found, f"{endpoint.verb} declared twice"
            found[endpoint.verb] = Declared(spec.name, endpoint)
    return found


async def discover(nc: Client, wait: float = 0.5) -> dict[str, str]:
    """Every endpoint the running services announce on ``$SRV.INFO``: verb → service."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish("$SRV.INFO", b"", reply=inbox)
    found: dict[str, str] = {}
    try:
        while True:
            reply = await sub.next_msg(timeout=wait)
            if not reply.data:
                continue
            info = orjson.loads(reply.data)
            service = str(info["name"]).removeprefix("dossier-")
            for endpoint in info.get("endpoints") or []:
                subject = str(endpoint["subject"])
                found[subject.removeprefix(f"dossier.{service}.")] = service
    except NatsTimeout:
        pass
    finally:
        await sub.unsubscribe()
    return found


# -- raw requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """``code`` is ``ok`` or the error code; ``message`` the error's message (English)."""

    code: str
    status: int | None
    body: Any
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.code == "ok"


async def call(
    nc: Client,
    subject: str,
    payload: bytes,
    *,
    token: str | None,
    key: str | None = "",
    timeout: float = 30.0,
    extra: Mapping[str, str] | None = None,
) -> Reply:
    """One request, no retries. ``key=""`` sends a fresh idempotency key, None sends none."""
    sent = {headers.LOCALE: "en", headers.REQUEST_ID: str(uuid.uuid4())}
    if token is not None:
        sent[headers.ACTOR] = token
    if key is not None:
        sent[headers.IDEMPOTENCY_KEY] = key or uuid.uuid4().hex
    sent.update(extra or {})
    reply = await nc.request(subject, payload, timeout=timeout, headers=sent)
    status = (reply.headers or {}).get(ERROR_CODE_HEADER)
    try:
        body = orjson.loads(reply.data) if reply.data else None
    except orjson.JSONDecodeError:
        return Reply("unparseable_reply", int(status) if status else None, reply.data)
    if status is None:
        return Reply("ok", None, body)
    error = body.get("error", {}) if isinstance(body, dict) else {}
    return Reply(
        str(error.get("code", "no_code")), int(status), body, str(error.get("message", ""))
    )


# -- seeded records ----------------------------------------------------------------------------


@dataclass
class Seeds:
    """One record of each kind in SH01, made through the services; field name → value."""

    values: dict[str, Any] = field(default_factory=dict)
    students: dict[str, str] = field(default_factory=dict)
    """record field name → the student number the record belongs to (for own-record checks)"""

    @property
    def student_number(self) -> str:
        return str(self.values["student_number"])


async def _poll(check: Callable[[], Any], what: str, timeout: float = 45.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.3)
    raise TimeoutError(f"no {what} within {timeout}s")


async def seed(stack: Stack, nc: Client) -> Seeds:
    """A dossier with a course, payment, document, consent, change request and hold; a pending
    registration; feedback; a destroyed student with its certificate; a review run; a backup;
    an import job. Made by two admins (so four-eyes never refuses the matrix's actors)."""
    admin = DossierClient(nc, stack.token("seed-admin", Role.ADMIN, branches=("*",)), timeout=60)
    second = DossierClient(nc, stack.token("seed-admin-2", Role.ADMIN, branches=("*",)))
    seeds = Seeds()
    v = seeds.values

    async def admitted(n: int) -> str:
        receipt = await admin.send(registration(900 + n))
        outcome = await admin.send(
            ReviewRegistration(
                registration_id=receipt.registration_id, decision=Decision.APPROVE, reason="ok"
            )
        )
        return str(outcome.student_number)

    number = await admitted(1)
    v["student_number"] = number
    pending = registration(950)
    v["registration_id"] = (await admin.send(pending)).registration_id
    v["birth_date"] = pending.applicant.birth_date  # the applicant's proof for registration.status
    await admin.send(
        EnrolCourse(
            student_number=number,
            course_code="EN-B1",
            course_name="English B1",
            starts_on=date(2026, 1, 5),
        )
    )
    await admin.send(
        RecordPayment(
            student_number=number,
            amount_minor=120_000,
            currency="CNY",
            method=PaymentMethod.CASH,
            receipt_ref="R-1",
            paid_at=datetime.now(UTC),
        )
    )
    document = await admin.send(
        AddDocument(
            student_number=number,
            kind=DocumentKind.OTHER,
            media_type="image/png",
            content=base64.b64encode(PNG).decode(),
        )
    )
    v["sha256"] = document.sha256
    dossier = await admin.send(GetDossier(student_number=number))
    v["enrolment_id"] = dossier.enrolments[0].id
    await admin.send(  # every course ended: the review will find it
        EndCourse(
            student_number=number,
            enrolment_id=v["enrolment_id"],
            ended_on=date.today(),
            reason="seed",
        )
    )
    consent = await admin.send(
        RecordConsent(
            student_number=number, purpose=ConsentPurpose.MARKETING, given_by=ConsentGiver.STUDENT
        )
    )
    v["consent_id"] = consent.consent_id
    change = await admin.send(
        SubmitChange(
            student_number=number,
            changes=(FieldChange(field="needs.goals", after="IELTS 8"),),
            reason="seed",
        )
    )
    v["change_id"] = change.change_id
    hold = await admin.send(SetLegalHold(student_number=number, reason="seed hold"))
    v["hold_id"] = hold.hold_id
    feedback = await admin.send(SubmitFeedback(branch=BRANCH, topic="seed", text="seed"))
    v["feedback_id"] = feedback.feedback_id

    # a destroyed student: its request and certificate
    gone = await admitted(2)
    await admin.send(
        ChangeStudentStatus(student_number=gone, target=StudentStatus.WITHDRAWN, reason="seed")
    )
    request = await admin.send(SubmitDestruction(student_number=gone, reason="seed"))
    await second.send(
        ReviewDestruction(request_id=request.request_id, decision=Decision.APPROVE, reason="ok")
    )
    v["request_id"] = request.request_id

    async def certificate() -> Any:  # executed and verified: nothing more happens to it
        page = await admin.send(ListCertificates(branch=BRANCH))
        items = page.items
        return items[0].id if items and items[0].verification is not None else None

    v["certificate_id"] = await _poll(certificate, "destruction certificate")

    run = await admin.send(StartReview(branch=BRANCH, quarter="2025Q1"))  # not the scheduler's
    v["run_id"] = run.id

    async def finding() -> Any:
        page = await admin.send(ListFindings(run_id=v["run_id"]))
        return page.items[0].id if page.items else None

    v["finding_id"] = await _poll(finding, "review finding")
    backup = await admin.send(CreateBackup())
    v["backup_id"] = backup.id
    job = await admin.send(
        StartImport(
            branch=BRANCH,
            format=ImportFormat.CSV,
            source_system="legacy",
            content=base64.b64encode(CSV.encode()).decode(),
        )
    )
    v["job_id"] = job.job_id
    await admin.send(ListNotifications(student_number=number))

    for name in ("student_number", "sha256", "enrolment_id", "consent_id", "change_id", "hold_id"):
        seeds.students[name] = number
    seeds.students["request_id"] = seeds.students["certificate_id"] = gone
    return seeds


# -- example bodies ----------------------------------------------------------------------------

TEXT = "Reliability check"
ENUM_CHOICES: Mapping[str, Enum] = {
    "decision": Decision.REJECT,
    "target": StudentStatus.SUSPENDED,
    "purpose": ConsentPurpose.MARKETING,
    "given_by": ConsentGiver.STUDENT,
    "kind": DocumentKind.OTHER,
    "format": ImportFormat.CSV,
}
FILLED_EVEN_IF_OPTIONAL = frozenset({"branch", "branches"})


def field_values(seeds: Seeds) -> dict[str, Any]:
    """Values by field name: the seeded records, and sensible texts for the rest."""
    return {
        **seeds.values,
        "branch": BRANCH,
        "branches": (BRANCH,),
        "token": "A" * 24,
        "media_type": "image/png",
        "content": base64.b64encode(PNG).decode(),
        "changes": (FieldChange(field="needs.goals", after="DELF B2"),),
        "fields": ("personal.name",),
        "currency": "CNY",
        "amount_minor": 100,
        "course_code": "FR-A1",
        "recipient": "Exam board",
        "source_system": "legacy",
    }


def _verb_values() -> dict[str, dict[str, Any]]:
    """Where the made-up body would be refused by the rules: realistic values per verb (so
    the fuzzer's mutations start from a body that is accepted)."""
    sample = registration(990)
    evidence = Attachment(
        kind=DocumentKind.CHANGE_EVIDENCE,
        media_type="image/png",
        content=base64.b64encode(PNG).decode(),
    )
    return {
        "registration.submit": {
            "applicant": sample.applicant,
            "needs": sample.needs,
            "attachments": sample.attachments,
        },
        "change.submit": {"attachments": (evidence,)},
        "import.start": {"content": base64.b64encode(CSV.encode()).decode()},
    }


VERB_VALUES = _verb_values()


def example(
    cls: type,
    values: Mapping[str, Any],
    *,
    path: str = "",
    also: frozenset[str] = FILLED_EVEN_IF_OPTIONAL,
) -> Any:
    """An instance of the attrs class ``cls``: required fields from ``values`` (by name) or
    made up by type; optional ones left at their defaults (those in ``also`` filled anyway)."""
    attrs.resolve_types(cls)
    kwargs: dict[str, Any] = {}
    for attribute in attrs.fields(cls):
        name = attribute.name
        optional = attribute.default is not attrs.NOTHING
        if optional and (name not in also or name not in values or path):
            continue
        if name in values and not path:
            kwargs[name] = values[name]
        else:
            kwargs[name] = _made_up(attribute.type, name, values)
    return cls(**kwargs)


def _made_up(kind: Any, name: str, values: Mapping[str, Any]) -> Any:
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        return _made_up(next(a for a in args if a is not type(None)), name, values)
    if origin is tuple:
        return (_made_up(args[0], name, values),)
    if origin is dict:
        return {}
    if isinstance(kind, type) and attrs.has(kind):
        return example(kind, values, path=name)
    if isinstance(kind, type) and issubclass(kind, Enum):
        choice = ENUM_CHOICES.get(name)
        return choice if isinstance(choice, kind) else next(iter(kind))
    if kind is bool:
        return False
    if kind is int:
        return 1
    if kind is datetime:
        return datetime.now(UTC)
    if kind is date:
        return date.today()
    if kind is str:
        return "Reliability" if name in {"name", "number", "phone"} else TEXT
    raise TypeError(f"no example for {name}: {kind!r}")


def body_for(declared_endpoint: Declared, seeds: Seeds) -> dict[str, Any]:
    """The example body of an endpoint, as the JSON object it is sent as."""
    own = VERB_VALUES.get(declared_endpoint.endpoint.verb, {})
    values = {**field_values(seeds), **own}
    also = FILLED_EVEN_IF_OPTIONAL | frozenset(own)
    instance = example(declared_endpoint.endpoint.body, values, also=also)
    body = orjson.loads(wire.dumps(instance))
    assert isinstance(body, dict)
    return body
