"""``vigil hash``: crypto hashes of every file, PDQ of pictures, errors as lines."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vigil.hashing.commands import JSON_KEYS, register

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
PDQ_REF = SHARED / "reference" / "pdq"

Run = Callable[..., tuple[int, str]]


def _main_app_has_hash() -> bool:
    from vigil.cli import app

    return any(c.name == "hash" for c in app.registered_commands)


@pytest.fixture(scope="module")
def run_hash() -> Run:
    """Run ``vigil hash ...``: the real CLI once it mounts ``hash``, else a test app."""
    if _main_app_has_hash():

        def via_cli(*args: str) -> tuple[int, str]:
            proc = subprocess.run(
                [sys.executable, "-m", "vigil", "hash", *args],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, "COLUMNS": "200"},
            )
            return proc.returncode, proc.stdout

        return via_cli

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test mount of vigil's hash command."""

    register(app)
    runner = CliRunner()

    def via_runner(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["hash", *args], env={"COLUMNS": "200"})
        return result.exit_code, result.stdout

    return via_runner


def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _reference_rows() -> dict[Path, tuple[str, int | None]]:
    """File to (hash, quality or None) for rows the full-resolution pipeline reproduces."""
    expected: dict[Path, tuple[str, int | None]] = {}
    with (PDQ_REF / "expected_pdq.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["dist_pdqhash_fullres"] != "0":
                continue
            path = PDQ_REF / row["file"]
            quality = int(row["expected_quality"]) if row["expected_quality"] else None
            old = expected.get(path)
            assert old is None or old[0] == row["expected_hash"], path
            if old is None or quality is not None:
                expected[path] = (row["expected_hash"], quality)
    return expected


def test_reference_mode_prints_the_reference_hash_of_every_file(run_hash: Run) -> None:
    expected = _reference_rows()
    assert len(expected) == 18
    files = sorted(expected)
    code, stdout = run_hash("--mode", "reference", "--json", *map(str, files))
    assert code == 0, stdout
    lines = _lines(stdout)
    assert [Path(r["path"]) for r in lines] == files
    for r in lines:
        path = Path(r["path"])
        want_hash, want_quality = expected[path]
        assert tuple(r) == JSON_KEYS, path
        assert r["pdq"] == want_hash, path
        assert isinstance(r["pdq_quality"], int) and 0 <= r["pdq_quality"] <= 100
        if want_quality is not None:
            assert r["pdq_quality"] == want_quality, path
        data = path.read_bytes()
        assert r["md5"] == hashlib.md5(data).hexdigest()
        assert r["sha1"] == hashlib.sha1(data).hexdigest()
        assert r["sha256"] == hashlib.sha256(data).hexdigest()


def test_fast_mode_stays_close_to_the_reference(run_hash: Run) -> None:
    path = PDQ_REF / "data" / "bridge-mods" / "aaa-orig.jpg"
    code, stdout = run_hash("--json", str(path))
    assert code == 0
    (r,) = _lines(stdout)
    reference = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    assert r["pdq"] != reference  # really the reduced decode, not the reference path
    assert (int(r["pdq"], 16) ^ int(reference, 16)).bit_count() <= 10
    assert r["pdq_quality"] == 100


def test_text_file_has_crypto_hashes_and_null_pdq(run_hash: Run, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"  # the name says picture, the bytes say text
    text.write_bytes(b"Shopping list: bread, milk, eggs.\n")
    code, stdout = run_hash("--json", str(text))
    assert code == 0
    assert _lines(stdout) == [
        {
            "path": str(text),
            "md5": "a6a42ecf0cca694a06a41ba72a38df91",
            "sha1": hashlib.sha1(text.read_bytes()).hexdigest(),
            "sha256": hashlib.sha256(text.read_bytes()).hexdigest(),
            "pdq": None,
            "pdq_quality": None,
        }
    ]


def test_missing_and_undecodable_files_give_error_lines_and_exit_1(
    run_hash: Run, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.jpg"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))  # a JPEG signature, no picture
    good = PDQ_REF / "data" / "bridge-mods" / "square-128x128.jpg"
    code, stdout = run_hash("--json", str(missing), str(broken), str(good))
    assert code == 1
    gone, bad, ok = _lines(stdout)
    assert gone["path"] == str(missing)
    assert [gone[k] for k in JSON_KEYS[1:]] == [None] * 5
    assert gone["error"].startswith("read: ") and "No such file" in gone["error"]
    assert bad["md5"] == hashlib.md5(broken.read_bytes()).hexdigest()
    assert (bad["pdq"], bad["pdq_quality"]) == (None, None)
    assert bad["error"].startswith("decode: ")
    assert "error" not in ok and ok["pdq"] is not None  # the command went on


def test_table_output_names_each_file(run_hash: Run, tmp_path: Path) -> None:
    missing = tmp_path / "gone.png"
    path = PDQ_REF / "data" / "bridge-mods" / "aaa-orig.jpg"
    code, stdout = run_hash("--mode", "reference", str(path), str(missing))
    assert code == 1
    assert "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22" in stdout
    assert hashlib.md5(path.read_bytes()).hexdigest() in stdout
    assert "No such file" in stdout


def test_bad_mode_is_refused(run_hash: Run) -> None:
    code, _ = run_hash("--mode", "slow", str(PDQ_REF / "data" / "misc-images" / "c.png"))
    assert code != 0
