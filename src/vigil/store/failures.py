"""Store failures as one clear message: disk full, locked, damaged, or a refused batch.

SQLAlchemy and the drivers raise many exception types whose text names the cause;
``translated`` turns them into a ``StoreError`` (exit 3) that says what happened, that
nothing of the unfinished transaction was kept, and what to do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError, SQLAlchemyError

from vigil.errors import BatchRejected, StoreError

_FULL = ("database or disk is full", "no space left on device", "could not extend file",
         "disk full", "diskfull")
_LOCKED = ("database is locked", "database table is locked", "lock timeout",
           "could not obtain lock")
_DAMAGED = ("malformed", "file is not a database", "could not decode to utf-8",
            "invalid page", "checksum", "corrupt")
_IO = ("disk i/o error", "input/output error", "read-only file system",
       "attempt to write a readonly database", "unable to open database file")


def shown_url(url: str) -> str:
    """The store URL without any password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def store_failure(exc: BaseException, url: str, doing: str) -> StoreError:
    """The ``StoreError`` that explains ``exc``, raised while ``doing`` on store ``url``."""
    reason = _reason(exc)
    low = reason.lower()
    where = f"case store {shown_url(url)}"
    if any(k in low for k in _FULL):
        return StoreError(
            f"{where}: the disk is full ({reason}) while {doing}. Nothing of the unfinished "
            "write was kept and the store is consistent; free space, then run the same "
            "command again (a scan: with --resume)"
        )
    if any(k in low for k in _LOCKED):
        return StoreError(
            f"{where} is locked by another process ({reason}) while {doing}; nothing was "
            "written. Wait for the other process to finish, then run the command again"
        )
    if any(k in low for k in _DAMAGED):
        return StoreError(
            f"{where} is damaged ({reason}) while {doing}. Restore the store from a copy "
            "(for SQLite, `sqlite3 FILE 'PRAGMA integrity_check'` shows what is broken)"
        )
    if any(k in low for k in _IO):
        return StoreError(
            f"{where}: the disk or file system failed ({reason}) while {doing}. Nothing of "
            "the unfinished write was kept; check the disk (full, failing, read-only, "
            "permissions), then run the same command again (a scan: with --resume)"
        )
    if isinstance(exc, IntegrityError | DataError):
        return BatchRejected(f"{where} refused the values while {doing}: {reason}")
    return StoreError(f"cannot use {where} while {doing}: {reason}")


def as_store_error(exc: BaseException) -> StoreError | None:
    """``exc`` as a ``StoreError`` if it is a database error, else None."""
    if isinstance(exc, SQLAlchemyError | sqlite3.Error):
        return store_failure(exc, getattr(exc, "url", "(unknown)"), "running the command")
    return None


@contextmanager
def translated(url: str, doing: str) -> Iterator[None]:
    """Raise database errors inside the block as one clear ``StoreError``."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise store_failure(exc, url, doing) from exc
