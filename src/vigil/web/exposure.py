"""Exposure accounting: who revealed how many pictures today and this week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, insert, select
from sqlalchemy.engine import Engine

from vigil.store.clock import now_text, utc_text
from vigil.web.accounts import User
from vigil.web.labschema import reveals, users


@dataclass(frozen=True)
class Exposure:
    """Pictures one user revealed since the start of today and of this week (UTC)."""

    user: str
    today: int
    week: int


def record_reveal(engine: Engine, user: User, case: str, content_id: int) -> None:
    """Count one reveal against ``user``.

    Args:
        engine: The lab database.
        user: Who revealed.
        case: The case name.
        content_id: The content revealed.
    """
    with engine.begin() as conn:
        conn.execute(
            insert(reveals).values(
                user_id=user.id, case_name=case, content_id=content_id, at=now_text()
            )
        )


def _bounds(now: datetime) -> tuple[str, str]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    return utc_text(day) or "", utc_text(week) or ""


def exposure(
    engine: Engine, only: User | None = None, now: datetime | None = None
) -> list[Exposure]:
    """Reveal counts per user (weeks start on Monday, UTC).

    Args:
        engine: The lab database.
        only: Restrict to this user; None lists every user.
        now: The reference time (default: now).

    Returns:
        One row per user, by name.
    """
    day, week = _bounds(now or datetime.now(UTC))
    today_count = func.sum(case((reveals.c.at >= day, 1), else_=0))
    query = (
        select(
            users.c.name,
            func.coalesce(today_count, 0).label("today"),
            func.count(reveals.c.id).label("week"),
        )
        .select_from(users)
        .outerjoin(reveals, (reveals.c.user_id == users.c.id) & (reveals.c.at >= week))
        .group_by(users.c.name)
        .order_by(users.c.name)
    )
    if only is not None:
        query = query.where(users.c.id == only.id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [Exposure(r.name, int(r.today), int(r.week)) for r in rows]
