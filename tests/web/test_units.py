"""Review-app pieces without a browser: near-duplicate groups, exposure, EXIF."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image
from review_harness import _camera_exif

from vigil.demo import draw_landscape
from vigil.web import accounts, exposure, imaging
from vigil.web.lab import open_lab
from vigil.web.neardup import near_groups, neighbours


def test_near_groups_are_transitive_and_bounded() -> None:
    zero = "0" * 64
    hashes = {
        1: zero,
        2: f"{(1 << 31) - 1:064x}",  # 31 bits from 1: near
        3: f"{((1 << 41) - 1) << 100:064x}",  # 41 bits from 1, 72 from 2, 81 from 4: far
        4: f"{(1 << 40) - 1:064x}",  # 40 from 1, 9 from 2: near 2, so in the group
    }
    assert near_groups(hashes) == {1: [1, 2, 4], 2: [1, 2, 4], 4: [1, 2, 4]}
    assert neighbours(zero, hashes) == [(1, 0), (2, 31)]


def test_exposure_counts_today_and_week(tmp_path: Path) -> None:
    lab = open_lab(f"sqlite:///{tmp_path / 'lab.sqlite'}")
    eve = accounts.add_user(lab, "eve", "examiner", "orchid-canyon-river-5")
    accounts.add_user(lab, "frank", "admin", "basalt-willow-pier-6")
    with lab.begin() as conn:
        for at in (
            "2026-11-23T09:00:00.000000Z",
            "2026-11-27T09:00:00.000000Z",
            "2026-11-27T10:00:00.000000Z",
            "2026-11-22T23:59:59.000000Z",
        ):
            conn.exec_driver_sql(
                "INSERT INTO reveals (user_id, case_name, content_id, at) VALUES (?, 'C', 1, ?)",
                (eve.id, at),
            )
    now = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # a Friday; the week began Monday 23rd
    rows = exposure.exposure(lab, now=now)
    assert [(r.user, r.today, r.week) for r in rows] == [("eve", 2, 3), ("frank", 0, 0)]
    assert exposure.exposure(lab, only=eve, now=now) == [exposure.Exposure("eve", 2, 3)]


def test_tile_is_small_grey_and_blurred_and_exif_is_read() -> None:
    out = io.BytesIO()
    draw_landscape(9, (640, 480)).save(out, "JPEG", quality=90, exif=_camera_exif())
    data = out.getvalue()
    tile = Image.open(io.BytesIO(imaging.blurred_tile(data, 0)))
    assert (tile.mode, tile.size) == ("L", (480, 360))
    assert imaging.clamp_blur(0) == imaging.MIN_BLUR
    assert imaging.blurred_tile(data, 0) == imaging.blurred_tile(data, imaging.MIN_BLUR)
    assert Image.open(io.BytesIO(imaging.revealed(data))).mode == "RGB"
    assert imaging.exif_facts(data) == imaging.ExifFacts(
        "DemoCam", "Model 7", "SN-000123", "2023:06:01 12:34:56", 51.5, -0.125
    )
    assert imaging.exif_facts(b"not a picture") == imaging.ExifFacts()


def test_a_lab0001_database_with_users_and_sessions_upgrades(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from vigil.web.lab import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'lab.sqlite'}"
    old = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with old.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "lab0001")
        conn.execute(
            text(
                "INSERT INTO users (name, role, password_hash, created_at, failed_logins) "
                "VALUES ('old', 'admin', 'x', '2026-01-01T00:00:00.000000Z', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) "
                "VALUES ('ab', 1, 'c', '2026-01-01T00:00:00.000000Z', '2099-01-01T00:00:00Z')"
            )
        )
    old.dispose()
    lab = open_lab(url)
    with lab.connect() as conn:
        users = conn.execute(text("SELECT name, disabled, credential_version FROM users")).all()
        kept = conn.execute(text("SELECT token_hash, last_seen FROM sessions")).all()
    assert [tuple(r) for r in users] == [("old", 0, 1)]
    # A session from before the upgrade has no last-seen time: it counts as idle.
    assert [tuple(r) for r in kept] == [("ab", None)]
    assert accounts.list_users(lab) == [accounts.User(1, "old", "admin", False)]
