"""Videos in the review app: a blurred keyframe strip, then an audited reduced reveal."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path

import pytest
from http_client import client, csrf_of, login
from PIL import Image
from review_harness import run_vigil

from vigil.errors import EvidenceError
from vigil.synthetic_video import write_clip
from vigil.web import accounts, imaging, video
from vigil.web.app import AppSettings, create_app
from vigil.web.lab import default_lab_url, open_lab

PASSWORD = "saffron-jetty-cloud-15"


@pytest.fixture(scope="module")
def video_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, int]:
    root = tmp_path_factory.mktemp("video-case")
    home, evidence = root / "home", root / "evidence"
    evidence.mkdir()
    write_clip(evidence / "clip.mp4", width=640, height=360, seconds=6.0, fps=25, seed=3)
    env = {**os.environ, "VIGIL_HOME": str(home), "VIGIL_EXAMINER": "tester"}
    run_vigil(env, "scan", str(evidence), "--case", "VIDEO-1", "--exhibit", "EX1", "-q")
    db = home / "cases" / "VIDEO-1.sqlite"
    with sqlite3.connect(db) as conn:
        (cid,) = conn.execute("SELECT id FROM contents WHERE media = 'video'").fetchone()
        (thumbs,) = conn.execute(
            "SELECT COUNT(*) FROM thumbnails WHERE content_id = ?", (cid,)
        ).fetchone()
    assert thumbs >= 2
    lab = open_lab(default_lab_url(home))
    accounts.add_user(lab, "vera", "examiner", PASSWORD)
    accounts.assign(lab, "vera", "VIDEO-1", "test")
    app = create_app(AppSettings(home, default_lab_url(home)))
    return app, db, cid


def test_a_video_tile_is_a_blurred_strip_of_its_keyframes(video_case: tuple) -> None:
    app, db, cid = video_case
    c = client(app)
    assert login(c, "vera", PASSWORD).status_code == 303
    queue = c.get("/cases/VIDEO-1/grade").text
    assert f'"id": {cid}, "media": "video"' in queue
    strip = c.get(f"/cases/VIDEO-1/tiles/{cid}.jpg", params={"blur": 0})
    img = Image.open(io.BytesIO(strip.content))
    with sqlite3.connect(db) as conn:
        frames = [
            r[0]
            for r in conn.execute(
                "SELECT jpeg FROM thumbnails WHERE content_id = ? ORDER BY timestamp", (cid,)
            )
        ]
    assert (img.mode, img.height) == ("L", imaging.STRIP_HEIGHT)
    assert strip.content == imaging.keyframe_strip(frames, imaging.MIN_BLUR)
    assert c.get("/api/exposure").json()[0]["tiles_today"] == 1


def test_a_video_reveal_is_logged_and_gives_reduced_frames(video_case: tuple) -> None:
    app, db, cid = video_case
    c = client(app)
    assert login(c, "vera", PASSWORD).status_code == 303
    answer = c.post(f"/cases/VIDEO-1/reveal/{cid}", headers={"x-csrf-token": csrf_of(c)})
    assert answer.status_code == 200
    sheet = Image.open(io.BytesIO(answer.content))
    # 8 frames of 320x180 in two rows of four, 4 px apart.
    assert (sheet.mode, sheet.size) == ("RGB", (4 * 320 + 3 * 4, 2 * 180 + 4))
    with sqlite3.connect(db) as conn:
        actor, details = conn.execute(
            "SELECT actor, details FROM audit_log WHERE action = 'reveal'"
        ).fetchone()
    assert (actor, json.loads(details)) == (
        "vera",
        {"content": cid, "item": "clip.mp4", "media": "video", "frames": 8, "side": 320},
    )
    assert c.get("/api/exposure").json()[0]["today"] == 1
    graded = c.post(
        "/cases/VIDEO-1/grades",
        json={"content_ids": [cid], "grade": "N"},
        headers={"x-csrf-token": csrf_of(c)},
    )
    assert graded.status_code == 200


def test_a_corrupt_video_is_an_error_answer_not_a_crash() -> None:
    with pytest.raises(EvidenceError, match="cannot decode video|no video stream"):
        video.contact_sheet(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
