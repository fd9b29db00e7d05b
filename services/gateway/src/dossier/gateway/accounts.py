"""Gateway accounts (网关账户): who may sign in, with what roles and branches.

Staff sign in with a login name and a password; students with their student
number and a password they chose through a one-time activation link that a
member of staff created for them (`AccountStore.invite_student`). Passwords
are kept as argon2id hashes (argon2-cffi's defaults), activation codes as
their SHA-256.

Sign-in is throttled per account: after `MAX_FAILURES` wrong passwords in a
row the account is locked for `LOCK_FOR`, whatever the password — slow enough
that guessing is pointless, short enough that a clerk who mistyped is back by
the next coffee. An unknown login costs the same hash verification as a known
one, so timing does not tell which logins exist.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from attrs import frozen
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from dossier.core.enums import Locale
from dossier.core.policy import Actor, Role
from dossier.storage.db import Database
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

    @property
    def actor(self) -> Actor:
        return Actor(
            id=f"web:{self.login}",
            roles=self.roles,
            branches=self.branches,
            student_number=self.student_number,
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

    def invite_student(
        self,
        student_number: str,
        branch: str,
        locale: Locale = Locale.ZH_CN,
        now: datetime | None = None,
    ) -> str:
        """A one-time activation code for the student's account (created if new); an earlier
        unused code stops working."""
        at = now or datetime.now(UTC)
        code = secrets.token_urlsafe(24)
        values = {
            "activation_sha256": _sha256(code),
            "activation_expires": at + ACTIVATION_VALID_FOR,
            "updated_at": at,
        }
        with self.db.engine.begin() as conn:
            found = conn.execute(
                select(accounts.c.id).where(accounts.c.student_number == student_number)
            ).scalar_one_or_none()
            if found is None:
                conn.execute(
                    insert(accounts).values(
                        id=str(uuid.uuid4()),
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
                        **values,
                    )
                )
            else:
                conn.execute(update(accounts).where(accounts.c.id == found).values(**values))
        log.info("student invited", extra={"student_number": student_number, "branch": branch})
        return code

    def activate(self, code: str, password: str, now: datetime | None = None) -> Account:
        """Set the password of the account the code was made for; the code is then spent."""
        check_password(password)
        at = now or datetime.now(UTC)
        with self.db.engine.begin() as conn:
            row = conn.execute(
                select(accounts).where(accounts.c.activation_sha256 == _sha256(code))
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
                    updated_at=at,
                )
            )
        log.info("account activated", extra={"account": row.id})
        return _account(row)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
