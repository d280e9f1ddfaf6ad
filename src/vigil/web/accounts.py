"""Users, roles, case assignments, password checks with lock-out, and sessions.

Passwords are stored as Argon2id hashes. A user is locked for ``LOCK_MINUTES`` after
``LOCK_AFTER`` consecutive wrong passwords; a remote address is refused for the rest
of the window after ``RATE_LIMIT`` failed attempts in ``RATE_WINDOW_MINUTES``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from vigil.errors import UsageError
from vigil.store.clock import now_text, utc_text
from vigil.web.labschema import assignments, login_attempts, sessions, users

ROLES = ("examiner", "reviewer", "admin")
LOCK_AFTER = 5
LOCK_MINUTES = 15
RATE_LIMIT = 20
RATE_WINDOW_MINUTES = 5
SESSION_HOURS = 12

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as much as a
# wrong password and timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not a password: timing equaliser")

LoginStatus = Literal["ok", "bad", "locked", "rate-limited"]


@dataclass(frozen=True)
class User:
    """A lab user as the app sees one."""

    id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        """Whether the user may assign cases and see everyone's exposure."""
        return self.role == "admin"


@dataclass(frozen=True)
class LoginResult:
    """The outcome of one login attempt."""

    status: LoginStatus
    user: User | None = None


@dataclass(frozen=True)
class Session:
    """A live session: who, and the CSRF token every state change must carry."""

    user: User
    csrf: str


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _ago(minutes: float) -> str:
    return utc_text(datetime.now(UTC) - timedelta(minutes=minutes)) or ""


def add_user(engine: Engine, name: str, role: str, password: str) -> User:
    """Create a user.

    Args:
        engine: The lab database.
        name: Login name (unique).
        role: ``examiner``, ``reviewer`` or ``admin``.
        password: The password in clear; only its Argon2 hash is stored.

    Returns:
        The new user.

    Raises:
        UsageError: If the role is unknown, the name taken or the password too short.
    """
    if role not in ROLES:
        raise UsageError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not name.strip() or len(name) > 200:
        raise UsageError("a user name must be 1-200 characters")
    if len(password) < 8:
        raise UsageError("a password must have at least 8 characters")
    with engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.name == name)).first():
            raise UsageError(f"user {name!r} already exists")
        result = conn.execute(
            insert(users).values(
                name=name,
                role=role,
                password_hash=_hasher.hash(password),
                created_at=now_text(),
                failed_logins=0,
            )
        )
        return User(int(result.inserted_primary_key[0]), name, role)


def get_user(engine: Engine, name: str) -> User:
    """Look a user up by name.

    Args:
        engine: The lab database.
        name: Login name.

    Returns:
        The user.

    Raises:
        UsageError: If there is no such user.
    """
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise UsageError(f"no user {name!r}")
    return User(int(row.id), row.name, row.role)


def list_users(engine: Engine) -> list[User]:
    """Every user, by name.

    Args:
        engine: The lab database.

    Returns:
        The users.
    """
    with engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.name)).all()
    return [User(int(r.id), r.name, r.role) for r in rows]


def assign(engine: Engine, name: str, case: str, by: str) -> bool:
    """Give user ``name`` access to ``case``.

    Args:
        engine: The lab database.
        name: The user.
        case: The case name.
        by: Who assigns (for the record).

    Returns:
        True if the assignment is new, False if it existed.
    """
    user = get_user(engine, name)
    with engine.begin() as conn:
        exists = conn.execute(
            select(assignments.c.id).where(
                assignments.c.user_id == user.id, assignments.c.case_name == case
            )
        ).first()
        if exists:
            return False
        conn.execute(
            insert(assignments).values(
                user_id=user.id, case_name=case, assigned_by=by, at=now_text()
            )
        )
    return True


def assigned_cases(engine: Engine, user: User) -> set[str]:
    """The case names ``user`` is assigned to.

    Args:
        engine: The lab database.
        user: The user.

    Returns:
        Case names.
    """
    with engine.connect() as conn:
        rows = conn.execute(select(assignments.c.case_name).where(assignments.c.user_id == user.id))
        return {r.case_name for r in rows}


def may_open(engine: Engine, user: User, case: str) -> bool:
    """Whether ``user`` may see ``case``: assigned to it, or an admin.

    Args:
        engine: The lab database.
        user: The user.
        case: The case name.

    Returns:
        True when allowed.
    """
    return user.is_admin or case in assigned_cases(engine, user)


def authenticate(engine: Engine, name: str, password: str, remote: str) -> LoginResult:
    """Check a login, applying the per-address rate limit and per-user lock-out.

    Args:
        engine: The lab database.
        name: Login name given.
        password: Password given.
        remote: The client address (for rate limiting and the record).

    Returns:
        The result; ``user`` is set only when ``status`` is ``ok``.
    """
    now = now_text()
    with engine.begin() as conn:
        failures = conn.execute(
            select(func.count())
            .select_from(login_attempts)
            .where(
                login_attempts.c.remote == remote,
                login_attempts.c.ok.is_(False),
                login_attempts.c.at >= _ago(RATE_WINDOW_MINUTES),
            )
        ).scalar_one()
        if failures >= RATE_LIMIT:
            conn.execute(insert(login_attempts).values(name=name, remote=remote, at=now, ok=False))
            return LoginResult("rate-limited")
        row = conn.execute(select(users).where(users.c.name == name)).first()
        if row is not None and row.locked_until and row.locked_until > now:
            conn.execute(insert(login_attempts).values(name=name, remote=remote, at=now, ok=False))
            return LoginResult("locked")
        try:
            _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
            good = row is not None
        except (VerificationError, InvalidHashError):
            good = False
        conn.execute(insert(login_attempts).values(name=name, remote=remote, at=now, ok=good))
        if row is None:
            return LoginResult("bad")
        if not good:
            failed = int(row.failed_logins) + 1
            locked = None
            if failed >= LOCK_AFTER:
                locked = utc_text(datetime.now(UTC) + timedelta(minutes=LOCK_MINUTES))
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(failed_logins=failed, locked_until=locked)
            )
            return LoginResult("locked" if locked else "bad")
        conn.execute(
            update(users).where(users.c.id == row.id).values(failed_logins=0, locked_until=None)
        )
        return LoginResult("ok", User(int(row.id), row.name, row.role))


def unlock(engine: Engine, name: str) -> None:
    """Clear a user's lock-out and failure count.

    Args:
        engine: The lab database.
        name: The user.
    """
    user = get_user(engine, name)
    with engine.begin() as conn:
        conn.execute(
            update(users).where(users.c.id == user.id).values(failed_logins=0, locked_until=None)
        )


def start_session(engine: Engine, user: User) -> str:
    """Open a session for ``user``.

    Args:
        engine: The lab database.
        user: The logged-in user.

    Returns:
        The session token for the cookie (only its hash is stored).
    """
    token = secrets.token_urlsafe(32)
    expires = utc_text(datetime.now(UTC) + timedelta(hours=SESSION_HOURS)) or ""
    with engine.begin() as conn:
        conn.execute(
            insert(sessions).values(
                token_hash=_hash_token(token),
                user_id=user.id,
                csrf=secrets.token_urlsafe(32),
                created_at=now_text(),
                expires_at=expires,
            )
        )
    return token


def find_session(engine: Engine, token: str | None) -> Session | None:
    """The live session behind a cookie token, or None.

    Args:
        engine: The lab database.
        token: The cookie value, if any.

    Returns:
        The session, or None when missing or expired.
    """
    if not token:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(sessions.c.csrf, sessions.c.expires_at, users.c.id, users.c.name, users.c.role)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.token_hash == _hash_token(token))
        ).first()
    if row is None or row.expires_at <= now_text():
        return None
    return Session(User(int(row.id), row.name, row.role), row.csrf)


def end_session(engine: Engine, token: str | None) -> None:
    """Delete the session behind ``token`` (log out).

    Args:
        engine: The lab database.
        token: The cookie value, if any.
    """
    if token:
        with engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == _hash_token(token)))
