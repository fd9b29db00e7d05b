"""Confidentiality policies, acknowledgements and staff training (保密承诺与培训) in storage.

SQLAlchemy Core on a connection (a unit of work's, or the gateway's own): the
approvals service publishes, acknowledges and records training through these;
the gateway asks `due_branches` when it mints a staff token, so a staff member
who has not acknowledged their branch's current policy works with masked data
only. Nothing here is about a student: actor ids, branch codes, versions, the
policy texts, training topics, trainers, references to materials, and the
material files' names, types, sizes and digests (the files themselves are in
the document store, `dossier.storage.documents.DocumentStore.put_material`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, func, insert, select

from dossier.storage.schema import (
    confidentiality_policies,
    policy_acknowledgements,
    training_attendees,
    training_materials,
    training_sessions,
)
from dossier.storage.schema import (
    gateway_accounts as accounts,
)

__all__ = [
    "STAFF_ACTOR_PREFIX",
    "Acknowledgement",
    "Material",
    "Policy",
    "StaffMember",
    "Training",
    "acknowledge",
    "current_policies",
    "current_policy",
    "due_branches",
    "is_due",
    "last_acknowledgement",
    "last_acknowledgements",
    "last_trainings",
    "material",
    "publish",
    "record_training",
    "staff_of",
    "trainings",
]


@frozen(kw_only=True)
class Policy:
    branch: str
    version: int
    text_zh: str
    text_en: str
    published_at: datetime
    published_by: str


@frozen(kw_only=True)
class Acknowledgement:
    actor: str
    branch: str
    version: int
    at: datetime


@frozen(kw_only=True)
class Material:
    """A material file of a training session (the file is in the document store)."""

    id: str
    name: str
    media_type: str
    size: int
    sha256: str


@frozen(kw_only=True)
class Training:
    id: str
    branch: str
    topic: str
    held_on: date
    trainer: str
    materials: tuple[str, ...]
    attendees: tuple[str, ...]
    recorded_by: str
    recorded_at: datetime
    files: tuple[Material, ...] = ()


def _policy(row: Any) -> Policy:
    return Policy(
        branch=row.branch,
        version=row.version,
        text_zh=row.text_zh,
        text_en=row.text_en,
        published_at=row.published_at,
        published_by=row.published_by,
    )


def current_policy(conn: Connection, branch: str) -> Policy | None:
    """The newest version of ``branch``'s policy; None when none was ever published."""
    p = confidentiality_policies
    row = conn.execute(
        select(p).where(p.c.branch == branch).order_by(p.c.version.desc()).limit(1)
    ).first()
    return None if row is None else _policy(row)


def current_policies(conn: Connection, branches: Iterable[str] | None = None) -> dict[str, Policy]:
    """The current policy of each branch that has one (of ``branches``; None: every branch)."""
    p = confidentiality_policies
    newest = select(p.c.branch, func.max(p.c.version).label("version")).group_by(p.c.branch)
    if branches is not None:
        newest = newest.where(p.c.branch.in_(list(branches)))
    latest = newest.subquery()
    rows = conn.execute(
        select(p).join(latest, (p.c.branch == latest.c.branch) & (p.c.version == latest.c.version))
    ).all()
    return {row.branch: _policy(row) for row in rows}


def publish(
    conn: Connection, branch: str, text_zh: str, text_en: str, *, at: datetime, by: str
) -> Policy:
    """A new version (the last one + 1) of ``branch``'s policy, current from now."""
    p = confidentiality_policies
    last = conn.execute(select(func.max(p.c.version)).where(p.c.branch == branch)).scalar()
    policy = Policy(
        branch=branch,
        version=(last or 0) + 1,
        text_zh=text_zh,
        text_en=text_en,
        published_at=at,
        published_by=by,
    )
    conn.execute(
        insert(p).values(
            branch=policy.branch,
            version=policy.version,
            text_zh=policy.text_zh,
            text_en=policy.text_en,
            published_at=policy.published_at,
            published_by=policy.published_by,
        )
    )
    return policy


def acknowledge(conn: Connection, actor: str, branch: str, version: int, at: datetime) -> None:
    conn.execute(
        insert(policy_acknowledgements).values(
            id=str(uuid.uuid4()), actor=actor, branch=branch, version=version, at=at
        )
    )


def last_acknowledgement(conn: Connection, actor: str, branch: str) -> Acknowledgement | None:
    """``actor``'s latest acknowledgement of ``branch``'s policy (any version)."""
    return last_acknowledgements(conn, branch, [actor]).get(actor)


def last_acknowledgements(
    conn: Connection, branch: str, actors: Iterable[str] | None = None
) -> dict[str, Acknowledgement]:
    """The latest acknowledgement of ``branch``'s policy by each actor (of ``actors``)."""
    a = policy_acknowledgements
    query = select(a.c.actor, a.c.version, a.c.at).where(a.c.branch == branch)
    if actors is not None:
        query = query.where(a.c.actor.in_(list(actors)))
    found: dict[str, Acknowledgement] = {}
    for row in conn.execute(query.order_by(a.c.at)).all():
        found[row.actor] = Acknowledgement(
            actor=row.actor, branch=branch, version=row.version, at=row.at
        )
    return found


def is_due(
    policy: Policy | None, last: Acknowledgement | None, now: datetime, renewal_days: int
) -> bool:
    """Whether an acknowledgement is needed: there is a policy, and ``last`` is missing, of
    an older version, or older than ``renewal_days``."""
    if policy is None:
        return False
    if last is None or last.version != policy.version:
        return True
    return now - last.at >= timedelta(days=renewal_days)


def due_branches(
    conn: Connection,
    actor: str,
    branches: Iterable[str] | None,
    renewal_days: Mapping[str, int],
    now: datetime,
) -> list[str]:
    """The branches (of ``branches``; None: every branch, for chain-wide staff) whose current
    policy ``actor`` must acknowledge before seeing unmasked data; ``renewal_days`` per
    branch (365 where a branch is not configured)."""
    policies = current_policies(conn, branches)
    due = []
    for code, policy in sorted(policies.items()):
        last = last_acknowledgement(conn, actor, code)
        if is_due(policy, last, now, renewal_days.get(code, 365)):
            due.append(code)
    return due


def record_training(
    conn: Connection,
    *,
    branch: str,
    topic: str,
    held_on: date,
    trainer: str,
    materials: Sequence[str],
    attendees: Sequence[str],
    by: str,
    at: datetime,
    training_id: str | None = None,
    files: Sequence[Material] = (),
) -> Training:
    """A training session, its attendees and its material files (already in the document
    store, under ``training_id``)."""
    training = Training(
        id=training_id or str(uuid.uuid4()),
        branch=branch,
        topic=topic,
        held_on=held_on,
        trainer=trainer,
        materials=tuple(materials),
        attendees=tuple(dict.fromkeys(attendees)),
        recorded_by=by,
        recorded_at=at,
        files=tuple(files),
    )
    conn.execute(
        insert(training_sessions).values(
            id=training.id,
            branch=branch,
            topic=topic,
            held_on=held_on,
            trainer=trainer,
            materials=list(training.materials),
            recorded_by=by,
            recorded_at=at,
        )
    )
    if training.attendees:
        conn.execute(
            insert(training_attendees),
            [{"session_id": training.id, "attendee": who} for who in training.attendees],
        )
    if training.files:
        conn.execute(
            insert(training_materials),
            [
                {
                    "id": f.id,
                    "session_id": training.id,
                    "position": position,
                    "name": f.name,
                    "media_type": f.media_type,
                    "size": f.size,
                    "sha256": f.sha256,
                }
                for position, f in enumerate(training.files)
            ],
        )
    return training


def _material(row: Any) -> Material:
    return Material(
        id=row.id, name=row.name, media_type=row.media_type, size=row.size, sha256=row.sha256
    )


def material(conn: Connection, branch: str, training_id: str, document_id: str) -> Material | None:
    """The material file ``document_id`` of ``branch``'s training ``training_id``; None when
    there is no such file (or it belongs to another branch's session)."""
    t, m = training_sessions, training_materials
    row = conn.execute(
        select(m)
        .join(t, t.c.id == m.c.session_id)
        .where(t.c.branch == branch, t.c.id == training_id, m.c.id == document_id)
    ).first()
    return None if row is None else _material(row)


def trainings(conn: Connection, branch: str, limit: int = 200) -> list[Training]:
    """``branch``'s training sessions, newest first."""
    t, a = training_sessions, training_attendees
    rows = conn.execute(
        select(t)
        .where(t.c.branch == branch)
        .order_by(t.c.held_on.desc(), t.c.recorded_at.desc())
        .limit(limit)
    ).all()
    ids = [row.id for row in rows]
    who: dict[str, list[str]] = {}
    if ids:
        for row in conn.execute(
            select(a.c.session_id, a.c.attendee)
            .where(a.c.session_id.in_(ids))
            .order_by(a.c.attendee)
        ).all():
            who.setdefault(row.session_id, []).append(row.attendee)
    files: dict[str, list[Material]] = {}
    if ids:
        m = training_materials
        for row in conn.execute(
            select(m).where(m.c.session_id.in_(ids)).order_by(m.c.session_id, m.c.position)
        ).all():
            files.setdefault(row.session_id, []).append(_material(row))
    return [
        Training(
            id=row.id,
            branch=row.branch,
            topic=row.topic,
            held_on=row.held_on,
            trainer=row.trainer,
            materials=tuple(row.materials),
            attendees=tuple(who.get(row.id, ())),
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
            files=tuple(files.get(row.id, ())),
        )
        for row in rows
    ]


def last_trainings(conn: Connection, branch: str) -> dict[str, date]:
    """Each attendee's last training date in ``branch``."""
    t, a = training_sessions, training_attendees
    rows = conn.execute(
        select(a.c.attendee, func.max(t.c.held_on).label("last"))
        .join(t, t.c.id == a.c.session_id)
        .where(t.c.branch == branch)
        .group_by(a.c.attendee)
    ).all()
    return {row.attendee: row.last for row in rows}


STAFF_ACTOR_PREFIX = "web:"
"""A gateway account's actor id is ``web:<login>`` (`dossier.gateway.accounts.Account.actor`)."""


@frozen(kw_only=True)
class StaffMember:
    actor: str
    roles: tuple[str, ...]


def staff_of(conn: Connection, branch: str) -> list[StaffMember]:
    """The enabled staff accounts of the gateway (``gateway_accounts``) working for ``branch``
    (theirs, or every branch), by actor id."""
    rows = conn.execute(
        select(accounts.c.login, accounts.c.roles, accounts.c.branches)
        .where(accounts.c.student_number.is_(None), accounts.c.disabled.is_(False))
        .order_by(accounts.c.login)
    ).all()
    return [
        StaffMember(actor=f"{STAFF_ACTOR_PREFIX}{row.login}", roles=tuple(sorted(row.roles)))
        for row in rows
        if "student" not in row.roles and (branch in row.branches or "*" in row.branches)
    ]
