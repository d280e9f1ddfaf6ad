"""A scan counts as pictures and videos only what decodes as one (issue 14, "wrongly typed").

A JPEG header with a garbage body is recorded as damaged and counted as "other"; sound-only
MP4, M4A and WMA files are "other", not videos. Checked in the counts of ``scan --json``
and of the report, which read different things (the scan's records, the store's contents).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests_support import media_file, run_vigil
from vigil.demo import draw_landscape


def test_damaged_pictures_and_sound_only_files_are_not_counted(tmp_path: Path) -> None:
    evidence, home, out = tmp_path / "ev", tmp_path / "home", tmp_path / "rep"
    evidence.mkdir()
    draw_landscape(3, (160, 120)).save(evidence / "good.jpg", quality=90)
    whole = (evidence / "good.jpg").read_bytes()
    garbage = whole[: whole.index(b"\xff\xda") + 20] + random.Random(7).randbytes(6000)
    (evidence / "damaged.jpg").write_bytes(garbage)
    (evidence / "damaged-copy.jpg").write_bytes(garbage)  # the same content, not re-decoded
    (evidence / "song.m4a").write_bytes(media_file("ipod", video=False, audio=True))
    (evidence / "sound.mp4").write_bytes(media_file("mp4", video=False, audio=True))
    (evidence / "voice.wma").write_bytes(media_file("asf", video=False, audio=True))
    (evidence / "clip.mp4").write_bytes(media_file("mp4", video=True, audio=True))
    summary = json.loads(run_vigil(["scan", str(evidence), "--case", "T", "--exhibit", "E",
                                    "--json", "--workers", "1"], home))
    assert summary["media"] == {"image": 1, "video": 1, "other": 5}
    run_vigil(["report", "T", "--format", "json", "--out", str(out)], home)
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["media"] == {
        "image": {"items": 1, "distinct": 1},
        "video": {"items": 1, "distinct": 1},
        "other": {"items": 5, "distinct": 4},
    }
    kinds = {i["path"]: (i["mime"], i["media"]) for i in report["items"]}
    assert kinds == {
        "good.jpg": ("image/jpeg", "image"),
        "damaged.jpg": ("image/jpeg", "other"),
        "damaged-copy.jpg": ("image/jpeg", "other"),
        "song.m4a": ("audio/mp4", "other"),
        "sound.mp4": ("audio/mp4", "other"),
        "voice.wma": ("audio/x-ms-wma", "other"),
        "clip.mp4": ("video/mp4", "video"),
    }
    # One record for the content (decoded once), on whichever copy came first.
    assert [(e["location"].startswith("damaged"), e["stage"], e["reason"].endswith(
        "; not counted as a picture")) for e in report["errors"]] == [(True, "decode", True)]
