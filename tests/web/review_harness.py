"""Build a benign case with a real ``vigil scan``, add users, run the real server.

Shared by the browser tests and ``benchmarks/review_keys.py``. Every picture is a
procedurally drawn landscape (``vigil.demo.draw_landscape``).
"""

from __future__ import annotations

import io
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pdqhash
from PIL import Image

from vigil.demo import draw_landscape

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Test passwords that pass the policy (12+ characters, not the name, not common).
PASSWORDS = {
    "alice": "quiet-harbour-lamp-41",
    "bob": "amber-lantern-road-52",
    "carol": "silver-meadow-kite-63",
    "root": "granite-falcon-mill-74",
}
NEAR_NAMES = ("near/original.jpg", "near/smaller.jpg", "near/recompressed.jpg")
EXIF_NAME = "camera/DSC_0042.jpg"


def _jpeg(img: Image.Image, quality: int, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, **kw)
    return out.getvalue()


def _camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "DemoCam"
    exif[0x0110] = "Model 7"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2023:06:01 12:34:56"
    sub[0xA431] = "SN-000123"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 0.0)
    gps[3], gps[4] = "W", (0.0, 7.0, 30.0)
    return exif


def write_evidence(folder: Path, pictures: int, seed: int = 100) -> None:
    """Write ``pictures`` distinct landscapes, a near-duplicate trio and one EXIF picture.

    Args:
        folder: Evidence folder to create.
        pictures: How many distinct plain pictures to draw.
        seed: First drawing seed.
    """
    for i in range(pictures):
        path = folder / "pictures" / f"{i // 100:02d}" / f"land_{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_jpeg(draw_landscape(seed + i, (320, 240)), 90))
    base = draw_landscape(7, (480, 360))
    (folder / "near").mkdir(parents=True, exist_ok=True)
    (folder / NEAR_NAMES[0]).write_bytes(_jpeg(base, 92))
    (folder / NEAR_NAMES[1]).write_bytes(_jpeg(base.resize((400, 300)), 85))
    (folder / NEAR_NAMES[2]).write_bytes(_jpeg(base, 55))
    (folder / "camera").mkdir(parents=True, exist_ok=True)
    (folder / EXIF_NAME).write_bytes(_jpeg(draw_landscape(9, (320, 240)), 90, exif=_camera_exif()))


def run_vigil(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run ``python -m vigil.web`` (or ``vigil`` for ``scan``) and return its output.

    Args:
        env: Environment (with VIGIL_HOME).
        *args: Command line after the program name.
        stdin: Text for standard input.

    Returns:
        Standard output.
    """
    module = "vigil" if args[0] in ("scan", "hashset") else "vigil.web"
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def fill_pdq(case_db: Path, evidence: Path) -> None:
    """Give every picture content a PDQ hash if the scan did not compute one.

    Args:
        case_db: The case's SQLite file.
        evidence: The exhibit's evidence folder.
    """
    conn = sqlite3.connect(case_db)
    rows = conn.execute(
        "SELECT c.id, MIN(i.path) FROM contents c JOIN items i ON i.content_id = c.id "
        "WHERE c.media = 'image' AND c.pdq IS NULL GROUP BY c.id"
    ).fetchall()
    for cid, path in rows:
        with Image.open(evidence / path) as img:
            bits, quality = pdqhash.compute(np.asarray(img.convert("RGB")))
        value = int("".join("1" if b else "0" for b in bits), 2)
        conn.execute(
            "UPDATE contents SET pdq = ?, pdq_quality = ? WHERE id = ?",
            (f"{value:064x}", int(quality), cid),
        )
    conn.commit()
    conn.close()


def content_ids(case_db: Path) -> dict[str, int]:
    """Item path to content id for every item of the case.

    Args:
        case_db: The case's SQLite file.

    Returns:
        The mapping.
    """
    with sqlite3.connect(case_db) as conn:
        return dict(conn.execute("SELECT path, content_id FROM items WHERE content_id IS NOT NULL"))


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``vigil serve`` process."""

    process: subprocess.Popen
    url: str
    log: BinaryIO

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def start_server(env: dict[str, str], log: Path, *extra: str) -> Server:
    """Start ``vigil serve`` on a free port and wait until it answers.

    Args:
        env: Environment (with VIGIL_HOME).
        log: File for the server's output.
        *extra: More ``vigil serve`` options.

    Returns:
        The running server.
    """
    port = free_port()
    out = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "vigil.web", "serve", "--host", "127.0.0.1", "--port", str(port)]
        + list(extra),
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as r:
                if r.status == 200:
                    return Server(process, url, out)
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            out.close()
            raise AssertionError(f"server did not start: {log.read_text(errors='replace')}")
        time.sleep(0.2)


@dataclass
class Lab:
    """A scanned benign case with users, ready to serve."""

    env: dict[str, str]
    home: Path
    evidence: Path
    case: str
    case_db: Path
    ids: dict[str, int]


def build_lab(root: Path, pictures: int, case: str = "CASE-1") -> Lab:
    """Scan a benign evidence folder into a case and add the test users.

    Users: ``alice`` (examiner, assigned to ``case``), ``bob`` (examiner, assigned to
    ``OTHER-1``), ``carol`` (examiner, for the back-off), ``root`` (admin); passwords
    in ``PASSWORDS``.

    Args:
        root: Working folder.
        pictures: How many distinct plain pictures to draw.
        case: Case name.

    Returns:
        The lab.
    """
    home, evidence, other = root / "home", root / "evidence", root / "other-evidence"
    home.mkdir(parents=True)
    env = {**os.environ, "VIGIL_HOME": str(home), "VIGIL_EXAMINER": "tester"}
    write_evidence(evidence, pictures)
    write_evidence(other, 2, seed=900)
    run_vigil(env, "scan", str(evidence), "--case", case, "--exhibit", "EX1", "-q")
    run_vigil(env, "scan", str(other), "--case", "OTHER-1", "--exhibit", "EX1", "-q")
    case_db = home / "cases" / f"{case}.sqlite"
    fill_pdq(case_db, evidence)
    for name, role, assigned in (
        ("alice", "examiner", case),
        ("bob", "examiner", "OTHER-1"),
        ("carol", "examiner", case),
        ("root", "admin", None),
    ):
        add = ("user", "add", name, "--role", role, "--password-stdin")
        run_vigil(env, *add, stdin=PASSWORDS[name] + "\n")
        if assigned:
            run_vigil(env, "user", "assign", name, assigned)
    return Lab(env, home, evidence, case, case_db, content_ids(case_db))


def login(page: object, base: str, name: str, password: str) -> None:
    """Log in through the login form.

    Args:
        page: A Playwright page.
        base: Server URL.
        name: User name.
        password: Password.
    """
    page.goto(base + "/login")  # type: ignore[attr-defined]
    page.fill("#name", name)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("#login-button")  # type: ignore[attr-defined]
