"""The same scan on a real Dask LocalCluster, with one worker killed mid-scan."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from corpus_support import count_items, make_corpus, store_state, write_known_md5
from vigil.demo import draw_landscape

DISK = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "disk"

VIGIL = [sys.executable, "-m", "vigil"]
FILES = 3000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("cluster")
    home, evidence = base / "home", base / "evidence"
    home.mkdir()
    make_corpus(evidence, FILES)
    known = write_known_md5(base / "known.md5", 25)
    env = {**os.environ, "VIGIL_HOME": str(home)}
    subprocess.run(
        [*VIGIL, "hashset", "import", str(known), "--name", "k", "--grade", "C", "--scheme", "uk"],
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.run(
        [
            *VIGIL,
            "scan",
            str(evidence),
            "--case",
            "LOCAL",
            "--exhibit",
            "E",
            "-q",
            "--workers",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return home, evidence


def test_cluster_scan_equals_local_scan_despite_a_dead_worker(corpus: tuple[Path, Path]) -> None:
    home, evidence = corpus
    expected = store_state(home / "cases" / "LOCAL.sqlite")
    assert len(expected[0]) == FILES + 1 + 2 * (FILES // 500)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            preload=["vigil.pipeline.units"],  # as the README tells lab workers to start
        ) as cluster,
        Client(cluster) as client,
    ):
        env = {**os.environ, "VIGIL_HOME": str(home)}
        db = home / "cases" / "DASK.sqlite"
        scan = subprocess.Popen(
            [
                *VIGIL,
                "scan",
                str(evidence),
                "--case",
                "DASK",
                "--exhibit",
                "E",
                "-q",
                "--cluster",
                cluster.scheduler_address,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while count_items(db) < FILES // 5:
            assert scan.poll() is None, "scan ended before a worker could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        _out, err = scan.communicate(timeout=600)
        assert scan.returncode == 0, err
        # The nanny replaced the killed worker; its units were re-run elsewhere.
        assert victim not in client.run(os.getpid).values()
    assert store_state(db) == expected


def _scan_json(home: Path, evidence: Path, case: str, *extra: str) -> dict:
    env = {**os.environ, "VIGIL_HOME": str(home)}
    proc = subprocess.run(
        [*VIGIL, "scan", str(evidence), "--case", case, "--exhibit", "E", "--json", *extra],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_cluster_shares_a_big_zip_and_an_image_as_local_workers_do(tmp_path: Path) -> None:
    """On a cluster, units stream their batches and a big zip's pictures are shipped to
    the other worker, as on local workers; an image's units open their listed items."""
    home = tmp_path / "home"
    home.mkdir()
    zipped = tmp_path / "zipped"
    zipped.mkdir()
    with zipfile.ZipFile(zipped / "big.zip", "w") as zf:
        for i in range(300):
            buf = io.BytesIO()
            draw_landscape(i, (64 + i % 7, 48)).save(buf, "PNG")
            zf.writestr(f"pics/{i:03d}.png", buf.getvalue())
    disk = tmp_path / "disk"
    disk.mkdir()
    shutil.copy(DISK / "generated" / "gen_ntfs.raw", disk / "gen_ntfs.raw")
    local = _scan_json(home, zipped, "ZIP-LOCAL", "--workers", "2")
    assert local["shipped"] > 0
    _scan_json(home, disk / "gen_ntfs.raw", "IMG-LOCAL", "--workers", "2")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        preload=["vigil.pipeline.units"],
    ) as cluster:
        remote = _scan_json(home, zipped, "ZIP-DASK", "--cluster", cluster.scheduler_address)
        _scan_json(home, disk / "gen_ntfs.raw", "IMG-DASK", "--cluster", cluster.scheduler_address)
    # The spool folder is on this machine, which both cluster workers see: they ship too.
    assert remote["shipped"] > 0 and remote["items"] == local["items"] == 301
    cases = home / "cases"
    assert store_state(cases / "ZIP-DASK.sqlite") == store_state(cases / "ZIP-LOCAL.sqlite")
    assert store_state(cases / "IMG-DASK.sqlite") == store_state(cases / "IMG-LOCAL.sqlite")
