import os
from datetime import UTC, datetime
from pathlib import Path

from vigil.model import Item, ScanError
from vigil.sources.folder import iter_folder


def test_lists_regular_files_sorted_with_utc_times(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_bytes(b"zz")
    (tmp_path / "a.txt").write_bytes(b"a")
    (tmp_path / "c.bin").write_bytes(b"ccc")
    os.symlink(tmp_path / "a.txt", tmp_path / "link")
    os.utime(tmp_path / "a.txt", (1_000_000_000, 1_000_000_000))
    results = list(iter_folder(tmp_path))
    got = [r for r in results if isinstance(r, Item)]
    # Files of a folder before its subfolders; the symbolic link is not followed.
    assert [(i.path, i.size) for i in got] == [("a.txt", 1), ("c.bin", 3), ("b/z.txt", 2)]
    target = str(tmp_path / "a.txt")
    assert [r for r in results if isinstance(r, ScanError)] == [
        ScanError("link", "source", f"symbolic link to {target!r}, not followed")
    ]
    first = got[0]
    assert first.modified == datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)
    with first.open() as f:
        assert f.read() == b"a"


def test_depth_first_sorted_order(tmp_path: Path) -> None:
    for rel in ("a/1", "a/b/2", "c/3", "0"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    assert [i.path for i in iter_folder(tmp_path)] == ["0", "a/1", "a/b/2", "c/3"]


def test_unlistable_directory_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("x")
    got = list(iter_folder(tmp_path / "missing"))
    assert len(got) == 1 and isinstance(got[0], ScanError)
    assert got[0].stage == "source" and "cannot list directory" in got[0].reason


def test_every_skip_has_a_reason(tmp_path: Path) -> None:
    import socket

    (tmp_path / "empty.bin").write_bytes(b"")
    os.mkfifo(tmp_path / "fifo")
    os.mknod(tmp_path / "null", 0o600 | 0o020000, os.makedev(1, 3))
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "sock"))
    os.symlink("/nowhere", tmp_path / "dangling")
    results = list(iter_folder(tmp_path))
    assert [(r.path, r.size) for r in results if isinstance(r, Item)] == [("empty.bin", 0)]
    assert [r for r in results if isinstance(r, ScanError)] == [
        ScanError("dangling", "source", "symbolic link to '/nowhere', not followed"),
        ScanError("fifo", "source", "FIFO (named pipe), not read"),
        ScanError("null", "source", "character device, not read"),
        ScanError("sock", "source", "socket, not read"),
    ]


def test_unreadable_file_is_listed_and_fails_on_open(tmp_path: Path) -> None:
    # As an ordinary user would see it: root without the right to override permissions.
    import subprocess
    import sys

    secret = tmp_path / "secret.png"
    secret.write_bytes(b"x" * 10)
    secret.chmod(0)
    code = (
        "import sys; from vigil.sources.folder import iter_folder\n"
        "(item,) = iter_folder(sys.argv[1])\n"
        "print(item.path, item.size)\n"
        "try:\n    item.open()\nexcept PermissionError as exc:\n    print('denied', exc.errno)\n"
    )
    cmd = [sys.executable, "-c", code, str(tmp_path)]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ).stdout
    assert out.split("\n") == ["secret.png 10", "denied 13", ""]
