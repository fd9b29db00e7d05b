"""Gateway accounts (网关账户): who may sign in, with what roles and branches.

Staff sign in with a login name and a password; students with their student
number and a password they chose through a one-time activation link that a
member of staff created for them (`AccountStore.invite_student`). Passwords
are kept as argon2id hashes (argon2-cffi's defaults), activation codes as
their SHA-256.

Sign-in is throttled per account: after `MAX_FAILURES` wrong passwords in a
row the account is locked for `LOCK_FOR`, whatever the password — slow enough
that guessing is pointless, short enough that a clerk who mistyped is back by
the next coffee. An unknown login and a locked account cost the same hash
verification as a known one, so timing does not tell which logins exist (and
the pages answer all three alike).

Sessions end on the server: each account has a ``session_version``, which a
session carries from signing in and which moves on sign-out (`end_sessions`), a
new password, an activation, an invitation, new roles and disabling; a session
of an older version reads as signed out. What is done to an account is kept in
``gateway_account_events`` with the account that did it: a student who has
activated their account can be invited again only by a reset that names its
reason (`invite_student(reason=…)`), and sees their activations on their page.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from attrs import frozen
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from dossier.core.enums import Locale
from dossier.core.policy import ALL_BRANCHES, CHAIN_WIDE_ROLES, Actor, Role
from dossier.storage.confidentiality import due_branches
from dossier.storage.db import Database
from dossier.storage.schema import gateway_account_events as account_events
from dossier.storage.schema import gateway_accounts as accounts

log = logging.getLogger("dossier.gateway.accounts")

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
ACTIVATION_VALID_FOR = timedelta(days=7)
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@frozen(kw_only=True)
class Account:
    id: str
    login: str
    roles: frozenset[Role]
    branches: frozenset[str]
    student_number: str | None
    locale: Locale
    session_version: int = 0
    policy_due: tuple[str, ...] = ()
    """The branches whose current confidentiality policy this member of staff has still to
    acknowledge (保密承诺): while any is, their tokens are limited to masked data."""

    @property
    def actor(self) -> Actor:
        return Actor(
            id=f"web:{self.login}",
            roles=self.roles,
            branches=self.branches,
            student_number=self.student_number,
            masked_only=bool(self.policy_due),
        )

    @property
    def is_student(self) -> bool:
        return Role.STUDENT in self.roles


class SignInRefused(Exception):
    """``reason``: ``invalid`` (no such login, or a wrong password: never which) or ``locked``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AccountExists(Exception):
    pass


class WeakPassword(Exception):
    pass


class AlreadyActivated(Exception):
    """The student chose a password already: only a reset with a reason invites them again."""


class AccountClosed(Exception):
    """The student's account was closed (their record destroyed, or disabled by an admin):
    no invitation or reset opens it again."""


class AccountEvent:
    """What `gateway_account_events` records (``kind``)."""

    INVITED = "invited"
    RESET = "reset"
    ACTIVATED = "activated"
    CREDENTIALS = "credentials"
    ROLES = "roles"
    DISABLED = "disabled"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        login=row.login,
        roles=frozenset(Role(r) for r in row.roles),
        branches=frozenset(row.branches),
        student_number=row.student_number,
        locale=Locale(row.locale),
        session_version=row.session_version,
    )


_NEXT_VERSION = {"session_version": accounts.c.session_version + 1}


def _record(
    conn: Connection,
    account_id: str,
    kind: str,
    at: datetime,
    by: str | None = None,
    reason: str | None = None,
) -> None:
    conn.execute(
        insert(account_events).values(
            id=str(uuid.uuid4()),
            account_id=account_id,
            kind=kind,
            by_account=by,
            reason=reason,
            at=at,
        )
    )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"at least {MIN_PASSWORD_LENGTH} characters")


class AccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        login: str,
        password: str | None,
        roles: Sequence[Role],
        branches: Sequence[str],
        *,
        student_number: str | None = None,
        locale: Locale = Locale.ZH_CN,
        now: datetime | None = None,
    ) -> Account:
        if password is not None:
            check_password(password)
        at = now or datetime.now(UTC)
        account_id = str(uuid.uuid4())
        row = {
            "id": account_id,
            "login": login,
            "password_hash": _hasher.hash(password) if password is not None else None,
            "roles": sorted(r.value for r in roles),
            "branches": sorted(branches),
            "student_number": student_number,
            "locale": locale.value,
            "disabled": False,
            "failed_logins": 0,
            "locked_until": None,
            "activation_sha256": None,
            "activation_expires": None,
            "created_at": at,
            "updated_at": at,
            "session_version": 0,
            "activated_at": None,
        }
        try:
            with self.db.engine.begin() as conn:
                conn.execute(insert(accounts).values(**row))
        except IntegrityError:
            raise AccountExists(login) from None
        log.info(
            "account created",
            extra={"account": account_id, "role": row["roles"], "branch": row["branches"]},
        )
        return self.get(account_id)

    def get(self, account_id: str) -> Account:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(accounts).where(accounts.c.id == account_id)).one()
        return _account(row)

    def policy_due(
        self, account: Account, renewal_days: Mapping[str, int], now: datetime | None = None
    ) -> tuple[str, ...]:
        """The branches (the account's; every branch for chain-wide staff) whose current
        confidentiality policy the member of staff must acknowledge: never published there,
        nothing to acknowledge; a new version, or an acknowledgement older than the branch's
        ``renewal_days``, asks again. Students have none."""
        if account.is_student:
            return ()
        chain_wide = ALL_BRANCHES in account.branches or bool(account.roles & CHAIN_WIDE_ROLES)
        branches = None if chain_wide else sorted(account.branches)
        with self.db.engine.connect() as conn:
            due = due_branches(
                conn, account.actor.id, branches, renewal_days, now or datetime.now(UTC)
            )
        return tuple(due)

    def find(self, account_id: str) -> Account | None:
        """The account of a session, or None when it was disabled or removed since."""
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(accounts).where(accounts.c.id == account_id, accounts.c.disabled.is_(False))
            ).one_or_none()
        return _account(row) if row is not None else None

    def authenticate(self, login: str, password: str, now: datetime | None = None) -> Account:
        at = now or datetime.now(UTC)
        refused: str | None = None
        with self.db.engine.begin() as conn:  # a failure is counted (committed), then refused
            row = conn.execute(
                select(accounts).where(accounts.c.login == login).with_for_update()
            ).one_or_none()
            if row is None or row.disabled or row.password_hash is None:
                _verify(_DUMMY_HASH, password)
                refused = "invalid"
            elif row.locked_until is not None and row.locked_until > at:
                _verify(_DUMMY_HASH, password)  # as long as any other refusal
                refused = "locked"
            elif not _verify(row.password_hash, password):
                failures = row.failed_logins + 1
                locks = failures >= MAX_FAILURES
                conn.execute(
                    update(accounts)
                    .where(accounts.c.id == row.id)
                    .values(
                        failed_logins=0 if locks else failures,
                        locked_until=at + LOCK_FOR if locks else None,
                        updated_at=at,
                    )
                )
                refused = "locked" if locks else "invalid"
            else:
                changes: dict[str, Any] = {
                    "failed_logins": 0,
                    "locked_until": None,
                    "updated_at": at,
                }
                if _hasher.check_needs_rehash(row.password_hash):
                    changes["password_hash"] = _hasher.hash(password)
                conn.execute(update(accounts).where(accounts.c.id == row.id).values(**changes))
        if refused is not None or row is None:
            log.warning(
                "sign-in refused",
                extra={"account": row.id if row is not None else None, "outcome": refused},
            )
            raise SignInRefused(refused or "invalid")
        log.info("signed in", extra={"account": row.id})
        return _account(row)

    def activation_state(self, student_number: str) -> str:
        """``none`` (never invited), ``invited`` (no password chosen yet) or ``activated``."""
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(accounts.c.password_hash).where(accounts.c.student_number == student_number)
            ).one_or_none()
        if row is None:
            return "none"
        return "invited" if row.password_hash is None else "activated"

    def invite_student(
        self,
        student_number: str,
        branch: str,
        locale: Locale = Locale.ZH_CN,
        now: datetime | None = None,
        *,
        by: str | None = None,
        reason: str | None = None,
    ) -> str:
        """A one-time activation code for the student's account (created if new); an earlier
        unused code stops working, and so do the account's sessions.

        A student who chose a password already is refused (`AlreadyActivated`) unless this
        is a reset with a ``reason`` (the pages let admins only): the password then stops
        working too, and the reset is recorded with ``by`` and the reason."""
        at = now or datetime.now(UTC)
        reason = (reason or "").strip() or None
        code = secrets.token_urlsafe(24)
        values = {
            "activation_sha256": _sha256(code),
            "activation_expires": at + ACTIVATION_VALID_FOR,
            "updated_at": at,
        }
        with self.db.engine.begin() as conn:
            found = conn.execute(
                select(accounts.c.id, accounts.c.password_hash, accounts.c.disabled)
                .where(accounts.c.student_number == student_number)
                .with_for_update()
            ).one_or_none()
            if found is not None and found.disabled:
                raise AccountClosed(student_number)
            if found is None:
                account_id = str(uuid.uuid4())
                conn.execute(
                    insert(accounts).values(
                        id=account_id,
                        login=student_number,
                        password_hash=None,
                        roles=[Role.STUDENT.value],
                        branches=[branch],
                        student_number=student_number,
                        locale=locale.value,
                        disabled=False,
                        failed_logins=0,
                        locked_until=None,
                        created_at=at,
                        session_version=0,
                        activated_at=None,
                        **values,
                    )
                )
                kind = AccountEvent.INVITED
            else:
                account_id = found.id
                activated = found.password_hash is not None
                if activated and reason is None:
                    raise AlreadyActivated(student_number)
                kind = AccountEvent.RESET if activated else AccountEvent.INVITED
                conn.execute(
                    update(accounts)
                    .where(accounts.c.id == account_id)
                    .values(password_hash=None, **values, **_NEXT_VERSION)
                )
            _record(conn, account_id, kind, at, by, reason if kind == AccountEvent.RESET else None)
        log.info(
            "student account reset" if kind == AccountEvent.RESET else "student invited",
            extra={"student_number": student_number, "branch": branch, "account": account_id},
        )
        return code

    def activate(self, code: str, password: str, now: datetime | None = None) -> Account:
        """Set the password of the account the code was made for; the code is then spent, and
        every earlier session of the account ends."""
        check_password(password)
        at = now or datetime.now(UTC)
        with self.db.engine.begin() as conn:
            row = conn.execute(
                select(accounts)
                .where(accounts.c.activation_sha256 == _sha256(code))
                .with_for_update()
            ).one_or_none()
            if row is None or row.activation_expires is None or row.activation_expires <= at:
                raise SignInRefused("invalid")
            conn.execute(
                update(accounts)
                .where(accounts.c.id == row.id)
                .values(
                    password_hash=_hasher.hash(password),
                    activation_sha256=None,
                    activation_expires=None,
                    failed_logins=0,
                    locked_until=None,
                    activated_at=at,
                    updated_at=at,
                    **_NEXT_VERSION,
                )
            )
            _record(conn, row.id, AccountEvent.ACTIVATED, at, row.id)
        log.info("account activated", extra={"account": row.id})
        return self.get(row.id)

    def activations(self, account_id: str, limit: int = 10) -> list[datetime]:
        """When the account was activated, newest first (its owner sees them)."""
        with self.db.engine.connect() as conn:
            return list(
                conn.execute(
                    select(account_events.c.at)
                    .where(
                        account_events.c.account_id == account_id,
                        account_events.c.kind == AccountEvent.ACTIVATED,
                    )
                    .order_by(account_events.c.at.desc())
                    .limit(limit)
                ).scalars()
            )

    def events(self, account_id: str) -> list[Any]:
        """Everything recorded about the account, oldest first (kind, by_account, reason, at)."""
        with self.db.engine.connect() as conn:
            return list(
                conn.execute(
                    select(account_events)
                    .where(account_events.c.account_id == account_id)
                    .order_by(account_events.c.at)
                ).all()
            )

    def end_sessions(self, account_id: str, now: datetime | None = None) -> None:
        """Sign-out: every session of the account, this one and copies of its cookie, ends."""
        at = now or datetime.now(UTC)
        with self.db.engine.begin() as conn:
            conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(updated_at=at, **_NEXT_VERSION)
            )
        log.info("signed out", extra={"account": account_id})

    def set_password(
        self, account_id: str, password: str, *, by: str | None = None, now: datetime | None = None
    ) -> None:
        check_password(password)
        self._change(
            account_id,
            AccountEvent.CREDENTIALS,
            by,
            now,
            password_hash=_hasher.hash(password),
            failed_logins=0,
            locked_until=None,
        )

    def set_roles(
        self,
        account_id: str,
        roles: Sequence[Role],
        branches: Sequence[str],
        *,
        by: str | None = None,
        now: datetime | None = None,
    ) -> None:
        self._change(
            account_id,
            AccountEvent.ROLES,
            by,
            now,
            roles=sorted(r.value for r in roles),
            branches=sorted(branches),
        )

    def disable(
        self, account_id: str, *, by: str | None = None, now: datetime | None = None
    ) -> None:
        self._change(account_id, AccountEvent.DISABLED, by, now, disabled=True)

    def find_by_login(self, login: str) -> Account | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(accounts).where(accounts.c.login == login)).one_or_none()
        return _account(row) if row is not None else None

    def _change(
        self, account_id: str, kind: str, by: str | None, now: datetime | None, **values: Any
    ) -> None:
        at = now or datetime.now(UTC)
        with self.db.engine.begin() as conn:
            changed = conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(updated_at=at, **values, **_NEXT_VERSION)
            )
            if changed.rowcount == 0:
                raise LookupError(account_id)
            _record(conn, account_id, kind, at, by)
        log.info("account changed", extra={"account": account_id, "outcome": kind})


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
