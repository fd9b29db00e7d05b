"""The access matrix over NATS: every endpoint × every role × own/other branch, from the policy.

For each endpoint the running services announce (``$SRV.INFO``) and each
`Role`, an actor of that role in the record's branch (*own*) and one in
another branch (*other*; for students: another student) sends the endpoint's
example body about the seeded SH01 records. What the answer must be comes
from `dossier.core.policy.authorize` alone, for the operation `VERB_OPERATION`
maps the verb to:

- **denied** by the policy → ``access_denied`` or ``not_found``; for a record
  the policy hides (outside the caller's branches, another student's)
  ``not_found`` only, since ``access_denied`` would confirm it exists.
  Anything else — ``ok`` above all, but also ``validation_failed`` or
  ``illegal_transition``, which show the request got past the check — is a leak.
- **allowed** → anything but ``internal_error``, a token error, or an
  ``access_denied`` / ``not_found`` the policy does not explain (over-denial).

`run_matrix` returns the counts (cells, leaks, over-denials, internal errors);
`run_token_attacks` does the same for forged, expired, misdirected, tampered,
missing and garbage tokens on every endpoint; `run_existence_probes` asks
whether an actor who may not see a student can tell their number from one
nobody has. `assess` runs all three (the tests use it) and `assess_stack`
discovers, seeds and assesses a running stack and returns the counts, for
``bench/reliability.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client

from dossier.core.contracts import CATALOGUE
from dossier.core.enums import Locale
from dossier.core.messages import DEFAULT_CATALOGUE
from dossier.core.policy import Actor, Operation, Role, Subject, authorize, within_reach
from dossier.messaging.tokens import ALGORITHM, AUDIENCE, ISSUER, TokenIssuer
from tests.reliability.endpoints import (
    BRANCH,
    MISSING_NUMBER,
    OTHER_BRANCH,
    OTHER_STUDENT,
    Declared,
    Reply,
    Seeds,
    body_for,
    call,
    declared,
    discover,
    seed,
)
from tests.support.errors import error_statuses
from tests.support.nats import sign_in
from tests.support.stack import Stack

VERB_OPERATION: Mapping[str, Operation] = {c.verb: c.operation for c in CATALOGUE}
"""Which policy operation guards each verb, from the contracts. The test asserts its keys are
exactly the verbs the running services announce, so an endpoint without a contract fails."""

RECORD_FIELDS = (
    "student_number",
    "registration_id",
    "change_id",
    "request_id",
    "hold_id",
    "consent_id",
    "feedback_id",
    "run_id",
    "finding_id",
    "certificate_id",
    "job_id",
)
"""Body fields that name one record of a branch (here: always a seeded SH01 record)."""

CHAIN_WIDE_FIELDS = ("backup_id",)
HIDING_REASONS = frozenset({"branch_out_of_scope", "not_own_record"})
POLICY_REASONS = HIDING_REASONS | {"role_not_permitted"}
SCOPES = ("own", "other")


@dataclass(frozen=True)
class Cell:
    verb: str
    role: Role
    scope: str
    operation: Operation
    allowed: bool
    reason: str | None
    record: bool
    """the body names a record (so a hidden one must be not_found, never access_denied)"""


@dataclass(frozen=True)
class Outcome:
    cell: Cell
    reply: Reply
    denial: tuple[str | None, str | None]
    """(reason, operation) of an access_denied answer, read from its message"""
    problem: str | None


@dataclass
class MatrixReport:
    cells: int = 0
    allowed: int = 0
    denied: int = 0
    leaks: list[Outcome] = field(default_factory=list)
    over_denials: list[Outcome] = field(default_factory=list)
    internal_errors: list[Outcome] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "cells": self.cells,
            "allowed": self.allowed,
            "denied": self.denied,
            "leaks": len(self.leaks),
            "over_denials": len(self.over_denials),
            "internal_errors": len(self.internal_errors),
        }


def actor_for(role: Role, scope: str, seeds: Seeds) -> Actor:
    """Own: a member of SH01 (a student: the seeded student). Other: of HK01 (another student)."""
    own = scope == "own"
    return Actor(
        id=f"matrix-{role.value}-{scope}",
        roles={role},
        branches={BRANCH if own else OTHER_BRANCH},
        student_number=(seeds.student_number if own else OTHER_STUDENT)
        if role is Role.STUDENT
        else None,
    )


def target(body: Mapping[str, Any], seeds: Seeds) -> tuple[str | None, Subject, bool]:
    """(branch, subject, names a record) of a request body about the seeded records."""
    for name in RECORD_FIELDS:
        if body.get(name) is not None:
            number = body.get("student_number") or seeds.students.get(name)
            return BRANCH, Subject(student_number=number), True
    if any(body.get(name) is not None for name in CHAIN_WIDE_FIELDS):
        return None, Subject(), False
    if body.get("branch") is not None:
        return str(body["branch"]), Subject(), False
    if body.get("branches"):
        return str(body["branches"][0]), Subject(), False
    return None, Subject(), False


def _denials() -> dict[str, tuple[str, str | None]]:
    """Every message an access_denied can carry (English) → (reason, operation named in it;
    None when the message names none, as ``not_own_record``'s does not)."""
    operations: dict[str, set[str]] = {}
    reasons: dict[str, str] = {}
    for operation in Operation:
        for reason in (*POLICY_REASONS, "self_approval"):
            params = {"operation": operation.value, "reason": reason}
            text = DEFAULT_CATALOGUE.render(reason, Locale.EN, "", params)
            operations.setdefault(text, set()).add(operation.value)
            reasons[text] = reason
    return {
        text: (reasons[text], next(iter(ops)) if len(ops) == 1 else None)
        for text, ops in operations.items()
    }


DENIALS = _denials()
_KNOWN = frozenset(error_statuses())


def judge(cell: Cell, reply: Reply) -> str | None:
    """What is wrong with ``reply`` as the answer to ``cell``; None when it is right."""
    code = reply.code
    reason, operation = DENIALS.get(reply.message, (None, None))
    if code == "internal_error":
        return "internal_error"
    if code.startswith("token_") or (code not in _KNOWN and code != "ok"):
        return f"unexpected code {code}"
    if code == "access_denied" and operation is not None and operation != cell.operation.value:
        return f"checked {operation}, the map says {cell.operation.value}"
    if not cell.allowed:
        if code == "ok":
            return "leak: answered ok"
        if cell.record and cell.reason in HIDING_REASONS:
            return None if code == "not_found" else f"leak: {code} for a hidden record"
        if code in {"access_denied", "not_found"}:  # not_found reveals nothing either
            return None
        return f"leak: {code} instead of a refusal"
    if code == "access_denied" and reason in POLICY_REASONS:
        return f"over-denial: {reason}"
    if code == "not_found" and cell.record:
        return "over-denial: a seeded record answered as not found"
    return None


async def _gather_limited(jobs: list[Callable[[], Any]], limit: int) -> list[Any]:
    slots = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Any]) -> Any:
        async with slots:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


def unmapped(endpoints: Mapping[str, Declared]) -> str:
    """Why the endpoints and `VERB_OPERATION` differ ('' when they agree)."""
    new, gone = set(endpoints) - set(VERB_OPERATION), set(VERB_OPERATION) - set(endpoints)
    return (f"map these verbs in VERB_OPERATION: {sorted(new)}; " if new else "") + (
        f"these mapped verbs no longer exist: {sorted(gone)}" if gone else ""
    )


def cells_for(
    endpoints: Mapping[str, Declared], seeds: Seeds
) -> list[tuple[Cell, Declared, dict[str, Any], Actor]]:
    """Every (cell, endpoint, body, actor) of the matrix, the expected verdict from the policy."""
    if problem := unmapped(endpoints):
        raise AssertionError(problem)
    out = []
    for verb in sorted(endpoints):
        declared = endpoints[verb]
        operation = VERB_OPERATION[verb]
        body = body_for(declared, seeds)
        branch, subject, record = target(body, seeds)
        for role in Role:
            for scope in SCOPES:
                actor = actor_for(role, scope, seeds)
                verdict = authorize(actor, operation, branch, subject)
                cell = Cell(verb, role, scope, operation, verdict.allowed, verdict.reason, record)
                out.append((cell, declared, body, actor))
    return out


async def run_matrix(
    stack: Stack, nc: Client, endpoints: Mapping[str, Declared], seeds: Seeds, limit: int = 48
) -> MatrixReport:
    """Send every cell (denied ones first, so the allowed ones' changes cannot mask a leak)."""
    issuer = stack.issuer()
    plan = cells_for(endpoints, seeds)

    def job(cell: Cell, declared: Declared, body: dict[str, Any], actor: Actor) -> Any:
        async def send() -> Outcome:
            token = issuer.issue(actor, ttl=timedelta(minutes=30))
            reply = await call(nc, declared.subject, orjson.dumps(body), token=token, timeout=60)
            denial = DENIALS.get(reply.message, (None, None))
            return Outcome(cell, reply, denial, judge(cell, reply))

        return send

    report = MatrixReport()
    denied = [item for item in plan if not item[0].allowed]
    allowed = [item for item in plan if item[0].allowed]
    for batch in (denied, allowed):
        outcomes = await _gather_limited([job(*item) for item in batch], limit)
        report.outcomes.extend(outcomes)
    for outcome in report.outcomes:
        report.cells += 1
        report.allowed += outcome.cell.allowed
        report.denied += not outcome.cell.allowed
        if outcome.problem is None:
            continue
        if outcome.problem == "internal_error":
            report.internal_errors.append(outcome)
        elif outcome.problem.startswith("over-denial") or outcome.cell.allowed:
            report.over_denials.append(outcome)
        else:
            report.leaks.append(outcome)
    return report


# -- tokens ------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _claims(actor: Actor, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": actor.id,
        "roles": sorted(r.value for r in actor.roles),
        "branches": sorted(actor.branches),
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=10)).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def bad_tokens(stack: Stack) -> dict[str, tuple[str | None, str]]:
    """name → (token or None, the code it must be refused with)."""
    issuer = stack.issuer()
    key = issuer.private_key
    stranger = Ed25519PrivateKey.generate()
    victim = Actor(id="token-victim", roles={Role.FRONT_DESK}, branches={BRANCH})
    valid = issuer.issue(victim)
    head, payload, signature = valid.split(".")
    claims = json.loads(_unb64(payload))
    escalated = {**claims, "roles": ["admin"], "branches": ["*"]}
    tampered = f"{head}.{_b64(json.dumps(escalated).encode())}.{signature}"
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    none_head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    none_alg = f"{none_head}.{_b64(json.dumps(escalated).encode())}."
    public_raw = key.public_key().public_bytes_raw()
    return {
        "forged signature (another key)": (
            TokenIssuer(stranger).issue(victim),
            "token_invalid",
        ),
        "expired": (issuer.issue(victim, ttl=timedelta(minutes=5), now=long_ago), "token_expired"),
        "wrong audience": (
            TokenIssuer(key, audience="someone-else").issue(victim),
            "token_invalid",
        ),
        "wrong issuer": (jwt.encode(_claims(victim, iss="evil"), key, ALGORITHM), "token_invalid"),
        "tampered claims, signature kept": (tampered, "token_invalid"),
        "flipped signature": (f"{head}.{payload}.{flipped}", "token_invalid"),
        "alg none": (none_alg, "token_invalid"),
        "HS256 with the public key": (
            jwt.encode(_claims(victim, roles=["admin"]), public_raw, "HS256"),
            "token_invalid",
        ),
        "no roles": (jwt.encode(_claims(victim, roles=[]), key, ALGORITHM), "token_invalid"),
        "unknown role": (
            jwt.encode(_claims(victim, roles=["superuser"]), key, ALGORITHM),
            "token_invalid",
        ),
        "no subject": (jwt.encode(_claims(victim, sub=None), key, ALGORITHM), "token_invalid"),
        "no expiry": (jwt.encode(_claims(victim, exp=None), key, ALGORITHM), "token_invalid"),
        "missing": (None, "token_missing"),
        "empty": ("", "token_missing"),
        "garbage": ("not-a-token", "token_invalid"),
        "garbage with dots": ("a.b.c", "token_invalid"),
        "binary-ish": ("\u202e\u0000" * 3, "token_invalid"),
    }


@dataclass
class TokenReport:
    requests: int = 0
    wrong: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(verb, attack, expected code, got code)"""


async def run_token_attacks(
    stack: Stack, nc: Client, endpoints: Mapping[str, Declared], seeds: Seeds, limit: int = 64
) -> TokenReport:
    """Every bad token against every endpoint, with a body that a valid token would get past."""
    attacks = bad_tokens(stack)
    report = TokenReport()

    def job(verb: str, declared: Declared, name: str, token: str | None, expected: str) -> Any:
        async def send() -> None:
            body = orjson.dumps(body_for(declared, seeds))
            try:
                reply = await call(nc, declared.subject, body, token=token, timeout=30)
                got = reply.code
            except Exception as error:  # a header NATS refuses to carry counts as refused
                got = f"not sent: {type(error).__name__}"
            report.requests += 1
            if got != expected and not got.startswith("not sent"):
                report.wrong.append((verb, name, expected, got))

        return send

    jobs = [
        job(verb, declared, name, token, expected)
        for verb, declared in sorted(endpoints.items())
        for name, (token, expected) in attacks.items()
    ]
    await _gather_limited(jobs, limit)
    return report


# -- probing for records of other branches ----------------------------------------------------


@dataclass(frozen=True)
class Probe:
    verb: str
    role: Role
    existing: str
    missing: str


async def run_existence_probes(
    stack: Stack, nc: Client, endpoints: Mapping[str, Declared], seeds: Seeds, limit: int = 48
) -> tuple[int, list[Probe]]:
    """Can an actor who may not see a student tell their number from one nobody has?

    For every endpoint whose body names a student, every role of another branch (and
    another student) for whom the policy denies the operation on the seeded SH01 student,
    and whose reach does not cover that student at all (a chain-wide auditor's does: it
    may know which numbers exist), asks about that student and about a well-formed number
    nobody has. The answers should be the same code. Returns (requests sent, the pairs
    whose answers differ)."""
    issuer = stack.issuer()
    plan = []
    for verb in sorted(endpoints):
        body = body_for(endpoints[verb], seeds)
        if "student_number" not in body:
            continue
        branch, subject, _ = target(body, seeds)
        for role in Role:
            actor = actor_for(role, "other", seeds)
            if not authorize(
                actor, VERB_OPERATION[verb], branch, subject
            ).allowed and not within_reach(actor, branch, subject):
                plan.append((verb, endpoints[verb], body, role, actor))

    def job(verb: str, declared: Declared, body: dict[str, Any], role: Role, actor: Actor) -> Any:
        async def send() -> Probe:
            token = issuer.issue(actor, ttl=timedelta(minutes=30))
            answers = []
            for number in (seeds.student_number, MISSING_NUMBER):
                payload = orjson.dumps({**body, "student_number": number})
                answers.append((await call(nc, declared.subject, payload, token=token)).code)
            return Probe(verb, role, answers[0], answers[1])

        return send

    probes = await _gather_limited([job(*item) for item in plan], limit)
    return len(probes) * 2, [p for p in probes if p.existing != p.missing]


# -- everything at once ------------------------------------------------------------------------


@dataclass
class Assessment:
    matrix: MatrixReport
    tokens: TokenReport
    probes_sent: int
    probes_differing: list[Probe]

    def counts(self) -> dict[str, int]:
        """The numbers a benchmark or dashboard wants: cells checked, leaks found…"""
        return {
            **{f"matrix_{k}": v for k, v in self.matrix.counts().items()},
            "token_attacks": self.tokens.requests,
            "token_attacks_accepted_or_miscoded": len(self.tokens.wrong),
            "existence_probes": self.probes_sent,
            "existence_probes_answered_differently": len(self.probes_differing),
        }


async def assess(
    stack: Stack, nc: Client, endpoints: Mapping[str, Declared], seeds: Seeds
) -> Assessment:
    """The matrix, the token attacks and the existence probes against a seeded stack."""
    matrix = await run_matrix(stack, nc, endpoints, seeds)
    tokens = await run_token_attacks(stack, nc, endpoints, seeds)
    sent, differing = await run_existence_probes(stack, nc, endpoints, seeds)
    return Assessment(matrix, tokens, sent, differing)


async def assess_stack(stack: Stack) -> dict[str, int]:
    """For ``bench/reliability.py``: discover, seed and assess a running stack; the counts."""
    nc = await sign_in(stack.url_for("staff"), max_reconnect_attempts=0)
    try:
        announced = await discover(nc)
        endpoints = declared()
        if set(announced) != set(endpoints) or unmapped(endpoints):
            raise RuntimeError(
                f"the services, their specs and VERB_OPERATION differ {unmapped(endpoints)}"
            )
        return (await assess(stack, nc, endpoints, await seed(stack, nc))).counts()
    finally:
        await nc.close()
