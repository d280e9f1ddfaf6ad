"""Users, roles, case assignments, password checks with back-off, and sessions.

Passwords are stored as Argon2id hashes and verified outside any database transaction,
one verification at a time in a low-priority thread (a login flood queues on the
verifier, not on the lab database, and leaves the CPU to logged-in users' requests).
Wrong passwords earn a wait that doubles with each one, counted per name and address
pair (``PAIR_*``) and, more gently, per name from anywhere (``ACCOUNT_*``); a success
resets both; attempts refused while waiting are not counted, so they cannot extend
the wait. Unknown names are counted and verified
exactly like known ones, so neither the answer nor its timing tells which exist.

Sessions end after ``IDLE_MINUTES`` without a request, ``LIFETIME_HOURS`` after the
login, when the user is disabled, or when the password changes (the session carries
the credential version it was opened under).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from vigil.errors import UsageError
from vigil.store.clock import utc_text
from vigil.web.lab import writing
from vigil.web.labschema import assignments, login_attempts, sessions, users
from vigil.web.policy import check_password, fold, login_key, normalise_name

ROLES = ("examiner", "reviewer", "admin")
PAIR_FREE_FAILURES = 3  # wrong passwords for one name from one address before any wait
PAIR_MAX_WAIT = 300  # seconds
ACCOUNT_FREE_FAILURES = 10  # wrong passwords for one name from anywhere
ACCOUNT_MAX_WAIT = 60
FAILURE_MEMORY_HOURS = 24  # older failures no longer count
IDLE_MINUTES = 30
LIFETIME_HOURS = 12
TOUCH_SECONDS = 60  # a session's last-seen time is written at most this often
VERIFY_QUEUE_SECONDS = 20

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as much as a
# wrong password and timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not a password: timing equaliser")
VERIFY_NICENESS = 10


def _lower_priority() -> None:
    # Linux scheduling priority is per thread (and inherited by the threads Argon2 starts
    # for its lanes): the verifier yields the CPU to the threads answering requests.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), VERIFY_NICENESS)


# One Argon2 verification at a time, in one low-priority thread: a flood of logins
# queues here instead of starving the requests of logged-in users.
_VERIFIER = ThreadPoolExecutor(1, "vigil-argon2", initializer=_lower_priority)

LoginStatus = Literal["ok", "bad", "wait", "busy"]


@dataclass(frozen=True)
class User:
    """A lab user as the app sees one."""

    id: int
    name: str
    role: str
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        """Whether the user may assign cases and see everyone's exposure."""
        return self.role == "admin"


@dataclass(frozen=True)
class LoginResult:
    """The outcome of one login attempt (``retry_after`` in seconds when waiting)."""

    status: LoginStatus
    user: User | None = None
    retry_after: int = 0


@dataclass(frozen=True)
class Session:
    """A live session: who, the CSRF token every state change carries, its id."""

    user: User
    csrf: str
    id: str = ""


@dataclass(frozen=True)
class SessionInfo:
    """One open session as ``vigil user sessions`` lists it."""

    id: str
    created_at: str
    last_seen: str | None
    expires_at: str
    remote: str | None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _text(t: datetime) -> str:
    return utc_text(t) or ""


def _now() -> datetime:
    return datetime.now(UTC)


def _user(row: object) -> User:
    return User(int(row.id), row.name, row.role, bool(row.disabled))  # type: ignore[attr-defined]


def add_user(engine: Engine, name: str, role: str, password: str) -> User:
    """Create a user.

    Args:
        engine: The lab database.
        name: Login name (normalised to NFC; see ``policy.normalise_name``).
        role: ``examiner``, ``reviewer`` or ``admin``.
        password: The password in clear; only its Argon2 hash is stored.

    Returns:
        The new user.

    Raises:
        UsageError: If the role is unknown, the name malformed or taken (also in
            another case or compatibility form), or the password refused by the policy.
    """
    if role not in ROLES:
        raise UsageError(f"role {role!r} is not one of {', '.join(ROLES)}")
    name = normalise_name(name)
    check_password(password, name)
    digest = _hasher.hash(password)
    with writing(engine) as conn:
        for (other,) in conn.execute(select(users.c.name)):
            if fold(other) == fold(name):
                raise UsageError(f"user {name!r} already exists (as {other!r})")
        result = conn.execute(
            insert(users).values(
                name=name,
                role=role,
                password_hash=digest,
                created_at=_text(_now()),
                failed_logins=0,
                disabled=False,
                credential_version=1,
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
        row = conn.execute(select(users).where(users.c.name == login_key(name))).first()
    if row is None:
        raise UsageError(f"no user {name!r}")
    return _user(row)


def list_users(engine: Engine) -> list[User]:
    """Every user, by name.

    Args:
        engine: The lab database.

    Returns:
        The users.
    """
    with engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.name)).all()
    return [_user(r) for r in rows]


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
    with writing(engine) as conn:
        exists = conn.execute(
            select(assignments.c.id).where(
                assignments.c.user_id == user.id, assignments.c.case_name == case
            )
        ).first()
        if exists:
            return False
        conn.execute(
            insert(assignments).values(
                user_id=user.id, case_name=case, assigned_by=by, at=_text(_now())
            )
        )
    return True


def unassign(engine: Engine, name: str, case: str) -> bool:
    """Take ``case`` away from user ``name``.

    Args:
        engine: The lab database.
        name: The user.
        case: The case name.

    Returns:
        True if an assignment was removed.
    """
    user = get_user(engine, name)
    with writing(engine) as conn:
        done = conn.execute(
            delete(assignments).where(
                assignments.c.user_id == user.id, assignments.c.case_name == case
            )
        )
    return bool(done.rowcount)


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


def _backoff(failures: int, free: int, cap: int) -> float:
    return 0.0 if failures < free else float(min(cap, 2 ** (failures - free)))


def wait_seconds(engine: Engine, name: str, remote: str, now: datetime | None = None) -> float:
    """How long ``name`` must wait before another password is checked from ``remote``.

    Counts the wrong passwords since the name's newest success (within
    ``FAILURE_MEMORY_HOURS``); a read, no lock.

    Args:
        engine: The lab database.
        name: The login key (``policy.login_key``).
        remote: The client address.
        now: The reference time (default: now).

    Returns:
        Seconds left to wait; 0 when a try is allowed.
    """
    now = now or _now()
    since = _text(now - timedelta(hours=FAILURE_MEMORY_HOURS))
    cap = max(PAIR_FREE_FAILURES + 12, ACCOUNT_FREE_FAILURES + 8)
    with engine.connect() as conn:
        rows = conn.execute(
            select(login_attempts.c.remote, login_attempts.c.at, login_attempts.c.ok)
            .where(login_attempts.c.name == name, login_attempts.c.at >= since)
            .order_by(login_attempts.c.id.desc())
            .limit(cap)
        ).all()
    failures = []
    for row in rows:
        if row.ok:
            break
        failures.append(row)
    pair = [r for r in failures if r.remote == remote]
    waits = []
    if pair:
        last = datetime.fromisoformat(pair[0].at)
        wait = _backoff(len(pair), PAIR_FREE_FAILURES, PAIR_MAX_WAIT)
        waits.append(wait - (now - last).total_seconds())
    if failures:
        last = datetime.fromisoformat(failures[0].at)
        wait = _backoff(len(failures), ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_WAIT)
        waits.append(wait - (now - last).total_seconds())
    return max([0.0, *waits])


def _check(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify(stored: str, password: str) -> bool | None:
    # None: the queue did not reach this attempt in VERIFY_QUEUE_SECONDS.
    job = _VERIFIER.submit(_check, stored, password)
    try:
        return job.result(timeout=VERIFY_QUEUE_SECONDS)
    except TimeoutError:
        job.cancel()
        return None


def authenticate(engine: Engine, name: str, password: str, remote: str) -> LoginResult:
    """Check a login, applying the back-off; no database lock is held while hashing.

    Args:
        engine: The lab database.
        name: Login name given.
        password: Password given.
        remote: The client address (for the back-off and the record).

    Returns:
        The result; ``user`` is set only when ``status`` is ``ok``. A disabled user
        with the right password gets ``bad``, like anybody with a wrong one.
    """
    key = login_key(name)
    wait = wait_seconds(engine, key, remote)
    if wait > 0:
        return LoginResult("wait", retry_after=math.ceil(wait))
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == key)).first()
    verified = _verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    if verified is None:
        return LoginResult("busy", retry_after=5)
    good = bool(verified) and row is not None and not row.disabled
    with writing(engine) as conn:
        conn.execute(
            insert(login_attempts).values(name=key, remote=remote, at=_text(_now()), ok=good)
        )
    if not good:
        return LoginResult("bad")
    return LoginResult("ok", _user(row))


def unlock(engine: Engine, name: str) -> None:
    """Clear the back-off of ``name`` (counted failures start again from zero).

    Args:
        engine: The lab database.
        name: The user.
    """
    user = get_user(engine, name)
    with writing(engine) as conn:
        conn.execute(
            insert(login_attempts).values(
                name=user.name, remote="unlock", at=_text(_now()), ok=True
            )
        )


def set_password(engine: Engine, name: str, password: str) -> None:
    """Change a password; every session of the user ends.

    Args:
        engine: The lab database.
        name: The user.
        password: The new password (checked against the policy).

    Raises:
        UsageError: If there is no such user or the policy refuses the password.
    """
    user = get_user(engine, name)
    check_password(password, user.name)
    digest = _hasher.hash(password)
    with writing(engine) as conn:
        conn.execute(
            update(users)
            .where(users.c.id == user.id)
            .values(password_hash=digest, credential_version=users.c.credential_version + 1)
        )
        conn.execute(delete(sessions).where(sessions.c.user_id == user.id))


def set_disabled(engine: Engine, name: str, disabled: bool) -> None:
    """Disable (every session ends, logins refused) or enable a user.

    Args:
        engine: The lab database.
        name: The user.
        disabled: True to disable.
    """
    user = get_user(engine, name)
    with writing(engine) as conn:
        conn.execute(update(users).where(users.c.id == user.id).values(disabled=disabled))
        if disabled:
            conn.execute(delete(sessions).where(sessions.c.user_id == user.id))


def list_sessions(engine: Engine, name: str) -> list[SessionInfo]:
    """The open sessions of a user, oldest first (the id is a prefix of the token hash).

    Args:
        engine: The lab database.
        name: The user.

    Returns:
        The sessions.
    """
    user = get_user(engine, name)
    with engine.connect() as conn:
        rows = conn.execute(
            select(sessions).where(sessions.c.user_id == user.id).order_by(sessions.c.created_at)
        ).all()
    return [
        SessionInfo(r.token_hash[:12], r.created_at, r.last_seen, r.expires_at, r.remote)
        for r in rows
    ]


def revoke(engine: Engine, name: str, session_id: str | None = None) -> int:
    """End one session of a user (by the id ``list_sessions`` shows) or all of them.

    Args:
        engine: The lab database.
        name: The user.
        session_id: A session id, or None for every session.

    Returns:
        How many sessions ended.
    """
    user = get_user(engine, name)
    where = sessions.c.user_id == user.id
    if session_id is not None:
        if len(session_id) < 8 or not all(c in "0123456789abcdef" for c in session_id):
            raise UsageError("a session id is 8 or more hex digits, as `vigil user sessions` shows")
        where = where & sessions.c.token_hash.startswith(session_id)
    with writing(engine) as conn:
        return int(conn.execute(delete(sessions).where(where)).rowcount)


def start_session(
    engine: Engine, user: User, remote: str | None = None, lifetime_hours: float = LIFETIME_HOURS
) -> str:
    """Open a session for ``user``, bound to the user's current credential version.

    Args:
        engine: The lab database.
        user: The logged-in user.
        remote: The client address (for ``vigil user sessions``).
        lifetime_hours: Absolute lifetime.

    Returns:
        The session token for the cookie (only its hash is stored).
    """
    token = secrets.token_urlsafe(32)
    now = _now()
    with writing(engine) as conn:
        version = conn.execute(
            select(users.c.credential_version).where(users.c.id == user.id)
        ).scalar_one()
        conn.execute(
            insert(sessions).values(
                token_hash=_hash_token(token),
                user_id=user.id,
                csrf=secrets.token_urlsafe(32),
                created_at=_text(now),
                expires_at=_text(now + timedelta(hours=lifetime_hours)),
                credential_version=version,
                last_seen=_text(now),
                remote=remote,
            )
        )
    return token


def find_session(
    engine: Engine,
    token: str | None,
    idle_minutes: float = IDLE_MINUTES,
    now: datetime | None = None,
) -> Session | None:
    """The live session behind a cookie token, or None.

    A read without the write lock; the last-seen time is written at most once every
    ``TOUCH_SECONDS`` per session.

    Args:
        engine: The lab database.
        token: The cookie value, if any.
        idle_minutes: Idle timeout.
        now: The reference time (default: now).

    Returns:
        The session, or None when missing, expired, idle too long, opened under an
        older password, or its user is disabled.
    """
    if not token or len(token) > 100:
        return None
    now = now or _now()
    digest = _hash_token(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                sessions.c.csrf,
                sessions.c.expires_at,
                sessions.c.last_seen,
                sessions.c.credential_version.label("session_version"),
                users.c.id,
                users.c.name,
                users.c.role,
                users.c.disabled,
                users.c.credential_version,
            )
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.token_hash == digest)
        ).first()
    if row is None or row.disabled or row.session_version != row.credential_version:
        return None
    seen = row.last_seen or ""
    if row.expires_at <= _text(now) or seen < _text(now - timedelta(minutes=idle_minutes)):
        return None
    if seen < _text(now - timedelta(seconds=TOUCH_SECONDS)):
        with writing(engine) as conn:
            conn.execute(
                update(sessions).where(sessions.c.token_hash == digest).values(last_seen=_text(now))
            )
    return Session(_user(row), row.csrf, digest[:12])


def end_session(engine: Engine, token: str | None) -> None:
    """Delete the session behind ``token`` (log out).

    Args:
        engine: The lab database.
        token: The cookie value, if any.
    """
    if token:
        with writing(engine) as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == _hash_token(token)))
