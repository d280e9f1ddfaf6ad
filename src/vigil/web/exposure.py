"""Exposure accounting: who saw how many pictures today and this week.

Two kinds of view are counted: reveals (the unblurred picture) and tiles viewed with
less blur than the default (still from the 40 px floor picture, but sharper).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, insert, select
from sqlalchemy.engine import Engine

from vigil.store.clock import now_text, utc_text
from vigil.web.accounts import User
from vigil.web.lab import writing
from vigil.web.labschema import reveals, users


@dataclass(frozen=True)
class Exposure:
    """Pictures one user revealed (and sharper tiles viewed) today and this week (UTC)."""

    user: str
    today: int
    week: int
    tiles_today: int = 0
    tiles_week: int = 0


def record_reveal(
    engine: Engine,
    user: User,
    case: str,
    content_id: int,
    kind: str = "reveal",
    blur: int | None = None,
) -> None:
    """Count one view against ``user``.

    Args:
        engine: The lab database.
        user: Who saw it.
        case: The case name.
        content_id: The content seen.
        kind: ``reveal`` or ``tile`` (a tile sharper than the default).
        blur: The tile's blur, for ``tile``.
    """
    with writing(engine) as conn:
        conn.execute(
            insert(reveals).values(
                user_id=user.id,
                case_name=case,
                content_id=content_id,
                at=now_text(),
                kind=kind,
                blur=blur,
            )
        )


def _bounds(now: datetime) -> tuple[str, str]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    return utc_text(day) or "", utc_text(week) or ""


def exposure(
    engine: Engine, only: User | None = None, now: datetime | None = None
) -> list[Exposure]:
    """Reveal and sharper-tile counts per user (weeks start on Monday, UTC).

    Args:
        engine: The lab database.
        only: Restrict to this user; None lists every user.
        now: The reference time (default: now).

    Returns:
        One row per user, by name.
    """
    day, week = _bounds(now or datetime.now(UTC))
    is_reveal = reveals.c.kind == "reveal"

    def counted(*conditions: object) -> object:
        return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)

    query = (
        select(
            users.c.name,
            counted(is_reveal, reveals.c.at >= day).label("today"),
            counted(is_reveal).label("week"),
            counted(~is_reveal, reveals.c.at >= day).label("tiles_today"),
            counted(~is_reveal).label("tiles_week"),
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
    return [
        Exposure(r.name, int(r.today), int(r.week), int(r.tiles_today), int(r.tiles_week))
        for r in rows
    ]
