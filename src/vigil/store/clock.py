"""Canonical UTC text for timestamps, the one form the store and reports use."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(value: datetime | None) -> str | None:
    """Canonical UTC text (``2024-01-02T03:04:05.000000Z``) for a timestamp, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_text() -> str:
    """The current time as canonical UTC text."""
    return utc_text(datetime.now(UTC)) or ""
