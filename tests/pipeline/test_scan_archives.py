"""Archives scanned end to end by `vigil scan`: one pass per container, budgets, damage.

Archives are written by real producers (bsdtar for zip, 7z, tar, cpio and ar;
Python's zipfile and gzip) from generated benign pictures; each archive's members must
equal what `bsdtar -tf` lists, with the exact MD5 of every member.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

VIGIL = [sys.executable, "-m", "vigil"]


def picture(i: int, size: int = 24) -> bytes:
    rng = random.Random(i)
    img = Image.new("RGB", (size, size), (rng.randrange(256), rng.randrange(256), 90))
    img.putpixel((i % size, (i // size) % size), (255, 255, 255))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def scan(home: Path, evidence: Path, case: str, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VIGIL_HOME": str(home)}
    return subprocess.run(
        VIGIL + ["scan", str(evidence), "--case", case, "--exhibit", "E1", "-q", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def items_md5(db: Path) -> dict[str, str | None]:
    return dict(
        rows(
            db,
            "select i.path, c.md5 from items i left join contents c on c.id = i.content_id",
        )
    )


def bsdtar_listing(archive: Path, source: Path) -> list[str]:
    """Member names as `bsdtar -tf` lists them, less the directories of ``source``."""
    out = subprocess.run(["bsdtar", "-tf", str(archive)], capture_output=True, check=True)
    names = out.stdout.decode("utf-8", "surrogateescape").splitlines()
    return sorted(n for n in names if not n.endswith("/") and not (source / n).is_dir())


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pics")
    for i in range(40):
        folder = root / f"set{i % 3}"
        folder.mkdir(exist_ok=True)
        (folder / f"p{i:03d}.png").write_bytes(picture(i))
    return root


FORMATS = {
    "pics.zip": ["--format", "zip"],
    "pics.7z": ["--format", "7zip"],
    "pics.tar": ["--format", "ustar"],
    "pics.cpio": ["--format", "newc"],
    "pics.ar": ["--format", "ar"],
}


def test_members_equal_bsdtar_listing(tmp_path: Path, pictures: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for name, args in FORMATS.items():
        subprocess.run(
            ["bsdtar", "-cf", str(evidence / name), *args, "-C", str(pictures), "."], check=True
        )
    home = tmp_path / "home"
    done = scan(home, evidence, "ARCH")
    assert done.returncode == 0, done.stderr
    got = items_md5(home / "cases" / "ARCH.sqlite")
    # Picture names are unique across folders (ar keeps only the base name).
    expected_md5 = {
        p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in pictures.rglob("*.png")
    }
    for name in FORMATS:
        listing = bsdtar_listing(evidence / name, pictures)
        members = sorted(p[len(name) + 1 :] for p in got if p.startswith(name + "!"))
        assert members == listing, name
        for member in members:
            assert got[f"{name}!{member}"] == expected_md5[member.rsplit("/", 1)[-1]], member
    assert rows(home / "cases" / "ARCH.sqlite", "select * from errors") == []
    # Every container was walked to its end.
    assert rows(
        home / "cases" / "ARCH.sqlite", "select path from items where expanded = 0"
    ) == []


def test_truncated_tar_gz_keeps_its_prefix(tmp_path: Path) -> None:
    tar = io.BytesIO()
    import tarfile

    bodies = {f"p{i}.png": picture(i, 64) for i in range(6)}
    with tarfile.open(fileobj=tar, mode="w") as t:
        for name, body in bodies.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            t.addfile(info, io.BytesIO(body))
    whole = tar.getvalue()
    # Cut in the middle of the fourth member's data: three whole members before it.
    offsets = [whole.index(body) for body in bodies.values()]
    cut = offsets[3] + len(bodies["p3.png"]) // 2
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "cut.tar.gz").write_bytes(gzip.compress(whole[:cut]))
    home = tmp_path / "home"
    assert scan(home, evidence, "CUT").returncode == 0
    db = home / "cases" / "CUT.sqlite"
    got = items_md5(db)
    for i in range(3):
        assert got[f"cut.tar.gz!cut.tar!p{i}.png"] == hashlib.md5(bodies[f"p{i}.png"]).hexdigest()
    assert "cut.tar.gz!cut.tar!p4.png" not in got
    errors = rows(db, "select location, stage from errors")
    assert ("cut.tar.gz!cut.tar", "expand.archive") in errors or (
        "cut.tar.gz!cut.tar!p3.png", "read"
    ) in errors, errors


def nested_bomb(levels: int, copies: int) -> bytes:
    data = picture(0)
    name = "leaf.png"
    for level in range(levels):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(copies):
                z.writestr(f"{i}-{name}", data)
        data = out.getvalue()
        name = f"level{level}.zip"
    return data


def test_nested_bomb_ends_with_budget_records(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "bomb.zip").write_bytes(nested_bomb(10, 10))
    (evidence / "after.png").write_bytes(picture(7))
    home = tmp_path / "home"
    started = time.monotonic()
    done = scan(home, evidence, "BOMB")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 120  # 10^10 leaves if walked naively
    db = home / "cases" / "BOMB.sqlite"
    got = items_md5(db)
    assert "after.png" in got
    # Each level's ten copies are one content: walked once, the nine others recorded.
    assert max(p.count("!") for p in got) == 8  # the default max_depth
    deep = rows(db, "select location, reason from errors where stage = 'budget'")
    assert len(deep) == 1 and deep[0][0].count("!") == 8
    assert deep[0][1].startswith("depth budget: members would be deeper than max_depth=8")
    repeats = rows(db, "select count(*) from errors where reason like 'same content as %'")
    assert repeats == [(9 * 8,)]


def test_repeated_member_names_give_two_items(tmp_path: Path) -> None:
    out = io.BytesIO()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("photo.png", picture(1))
            z.writestr("photo.png", picture(2))
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "mail.zip").write_bytes(out.getvalue())
    home = tmp_path / "home"
    assert scan(home, evidence, "DUP").returncode == 0
    db = home / "cases" / "DUP.sqlite"
    got = items_md5(db)
    assert got["mail.zip!photo.png"] == hashlib.md5(picture(1)).hexdigest()
    assert got["mail.zip!photo.png[#2]"] == hashlib.md5(picture(2)).hexdigest()
    assert rows(db, "select location, reason from errors") == [
        ("mail.zip!photo.png[#2]", "member name repeated in the container: occurrence 2")
    ]


def big_zip(path: Path, members: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i in range(members):
            z.writestr(f"d{i // 1000}/m{i:05d}.png", picture(i, 8))


def test_kill_in_a_10000_member_zip_and_resume(tmp_path: Path) -> None:
    """Killed twice while two workers share the zip out; resumed: as one worker alone."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    big_zip(evidence / "big.zip", 10_000)
    home = tmp_path / "home"
    assert scan(home, evidence, "FULL", "--workers", "1").returncode == 0
    full = home / "cases" / "FULL.sqlite"
    expected = items_md5(full)
    assert len(expected) == 10_001
    env = {**os.environ, "VIGIL_HOME": str(home)}
    db = home / "cases" / "CUT.sqlite"
    cuts = sorted(random.Random(11).sample(range(2_000, 9_000), 2))
    for n, threshold in enumerate(cuts):
        proc = subprocess.Popen(
            VIGIL
            + ["scan", str(evidence), "--case", "CUT", "--exhibit", "E1", "-q", "--workers", "2"]
            + (["--resume"] if n else []),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                count = rows(db, "select count(*) from items")[0][0]
            except sqlite3.Error:
                count = 0
            if count >= threshold:
                break
            assert proc.poll() is None, f"finished before the cut at {threshold}"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert rows(db, "select count(*) from items")[0][0] < 10_001
    assert scan(home, evidence, "CUT", "--resume", "--workers", "2").returncode == 0
    # Two workers share the zip's pictures out (shipments); one worker walks it alone.
    assert items_md5(db) == expected
    assert rows(db, "select path, expanded from items where expanded is not null") == [
        ("big.zip", 1)
    ]
