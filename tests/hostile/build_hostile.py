"""Build the hostile-evidence corpus: damaged file systems and containers, benign content.

Every picture is a seeded generated picture (``build_dftt8.picture``: gradients, ellipses,
noise). Each case is one evidence path plus its expected outcome:

* ``must_find``: provenance path -> MD5 of every planted picture that Sleuth Kit
  (``fls``/``icat``) or the standard tools can still recover; a source must yield it
  with exactly these bytes;
* ``must_record``: ``(location, stage, words)`` of the records a source must yield for
  what it cannot list or read (``words`` must occur in the reason);
* ``lost``: planted pictures that no tool recovers (each is covered by a record at
  its path or at a folder above it);
* ``also_listed``: the other items the listing holds (``must_find`` plus these is the
  exact set of item paths).

Images are built under ``/tmp/hostile-cache/<key>/`` where ``key`` is a hash of this
file and the picture generator, so a change to either rebuilds everything and an
unchanged generator reuses the cache. ``expected.json`` there holds every case.

Needs root and Debian ``e2fsprogs dosfstools mtools ntfs-3g fdisk gdisk ewf-tools
sleuthkit`` (the Makefile's DEBS). Run directly to build and print the cache folder:

    python tests/hostile/build_hostile.py
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))

from build_dftt8 import picture  # noqa: E402

CACHE = Path("/tmp/hostile-cache")
MIB = 1024 * 1024
SPARSE_BYTES = 20 * 1024 * MIB


@dataclass
class Case:
    """One hostile evidence path and what a source must make of it."""

    name: str
    evidence: str
    kind: str  # "image" or "folder"
    must_find: dict[str, str] = field(default_factory=dict)
    must_record: list[tuple[str, str, str]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    also_listed: list[str] = field(default_factory=list)
    notes: str = ""


def pic(seed: int) -> bytes:
    """A planted picture (PNG, about 30 KB: it spans several clusters)."""
    return picture(1000 + seed, "PNG", (120, 90))


def md5(data: bytes) -> str:
    """Hex MD5 of ``data``."""
    return hashlib.md5(data).hexdigest()


def _run(*args: str, input_: bytes | None = None) -> bytes:
    proc = subprocess.run(args, check=True, capture_output=True, timeout=120, input=input_)
    return proc.stdout


def _sparse(path: Path, size: int) -> None:
    with path.open("wb") as f:
        f.truncate(size)


def _write_at(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


def tsk_recover(image: Path, path: str, sector_offset: int = 0) -> str | None:
    """MD5 of the file ``path`` as Sleuth Kit's ``fls``/``icat`` recover it, or None."""
    args = ["-o", str(sector_offset)] if sector_offset else []
    try:
        listing = _run("fls", "-r", "-p", *args, str(image)).decode("utf-8", "surrogateescape")
    except subprocess.CalledProcessError:
        return None
    for line in listing.splitlines():
        head, _, name = line.partition("\t")
        if name == path and head.split()[0] in ("r/r", "-/r"):
            inode = head.split()[-1].rstrip(":").split("(")[0].split("-")[0]
            try:
                return md5(_run("icat", *args, str(image), inode))
            except subprocess.CalledProcessError:
                return None
    return None


# --- ext4 -----------------------------------------------------------------------------


def _ext4_tree(root: Path, files: dict[bytes, bytes]) -> None:
    for rel, data in files.items():
        target = os.path.join(os.fsencode(root), rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)


def build_ext4_names(out: Path) -> Case:
    """ext4 with a non-UTF-8 name, a control-character name, a symlink, FIFO, socket,
    device node and an empty file, all in one directory with pictures around them."""
    work = out / "ext4_names.src"
    shutil.rmtree(work, ignore_errors=True)
    files = {
        b"a_first.png": pic(1),
        b"caf\xe9.png": pic(2),
        b"bell\x07\x1b[31m.png": pic(3),
        b"z_last.png": pic(4),
        b"empty.txt": b"",
        b"dir/inner.png": pic(5),
    }
    _ext4_tree(work, files)
    os.symlink("a_first.png", work / "link_ok")
    os.symlink("/nowhere/target.png", work / "link_dangling")
    os.mkfifo(work / "fifo")
    os.mknod(work / "null", 0o600 | 0o020000, os.makedev(1, 3))
    with contextlib.closing(socket.socket(socket.AF_UNIX)) as s:
        s.bind(str(work / "sock"))
    image = out / "ext4_names.raw"
    _sparse(image, 16 * MIB)
    _run("mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-d", str(work), str(image))
    shutil.rmtree(work)
    case = Case("ext4_names", image.name, "image")
    for rel, data in files.items():
        if data:
            case.must_find["EXT/" + rel.decode("utf-8", "surrogateescape")] = md5(data)
    case.must_find["EXT/empty.txt"] = md5(b"")
    case.must_record = [
        ("EXT/link_ok", "walk", "symbolic link to 'a_first.png'"),
        ("EXT/link_dangling", "walk", "symbolic link to '/nowhere/target.png'"),
        ("EXT/fifo", "walk", "FIFO"),
        ("EXT/null", "walk", "device"),
        ("EXT/sock", "walk", "socket"),
    ]
    case.notes = "names are bytes: b'caf\\xe9.png' is 'caf\\udce9.png' (surrogateescape)"
    return case


def _ext4_dir_block(image: Path, directory: str) -> int:
    """Byte offset of the first data block of ``directory`` (``debugfs`` blocks)."""
    stats = _run("debugfs", "-R", f"stat {directory}", str(image)).decode()
    extents = stats.split("EXTENTS:")[1].split()[0]
    block = int(extents.split(":")[-1].split("-")[0])
    size = int(_run("dumpe2fs", "-h", str(image)).decode().split("Block size:")[1].split()[0])
    return block * size


def build_ext4_bad_entry(out: Path) -> Case:
    """ext4 where one directory entry of ``pics`` points at an inode that does not exist."""
    work = out / "ext4_bad.src"
    shutil.rmtree(work, ignore_errors=True)
    names = [f"p{i}.png" for i in range(1, 7)]
    files = {f"pics/{n}".encode(): pic(10 + i) for i, n in enumerate(names)}
    files[b"top.png"] = pic(20)
    _ext4_tree(work, files)
    image = out / "ext4_bad_entry.raw"
    _sparse(image, 16 * MIB)
    _run("mkfs.ext4", "-q", "-F", "-O", "^metadata_csum,^dir_index", "-d", str(work), str(image))
    shutil.rmtree(work)
    offset = _ext4_dir_block(image, "/pics")
    with image.open("rb") as f:
        f.seek(offset)
        block = bytearray(f.read(4096))
    # Walk the linear directory entries (inode, rec_len, name_len, type, name).
    pos, victim = 0, None
    while pos < len(block):
        inode, rec_len, name_len = struct.unpack_from("<IHB", block, pos)
        if block[pos + 8 : pos + 8 + name_len] == b"p3.png":
            victim = pos
        if rec_len == 0:
            break
        pos += rec_len
    assert victim is not None, "p3.png entry not found"
    struct.pack_into("<I", block, victim, 0x7FFFFFF0)
    _write_at(image, offset, bytes(block))
    case = Case("ext4_bad_entry", image.name, "image")
    for rel, data in files.items():
        path = rel.decode()
        if rel == b"pics/p3.png":
            case.lost.append("EXT/" + path)
            continue
        assert tsk_recover(image, path) == md5(data), path
        case.must_find["EXT/" + path] = md5(data)
    # libfsext stops at the bad entry; Sleuth Kit skips it and lists the rest.
    case.must_record = [("EXT/pics", "walk", "listing cut after 2 entries")]
    return case


# --- FAT32 ----------------------------------------------------------------------------


def _mcopy(target: str, files: dict[str, bytes]) -> None:
    """Copy ``files`` (path in the file system -> bytes) into the FAT at ``target``
    (an image path, ``image@@offset`` for a partition)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "file"
        for rel, data in files.items():
            source.write_bytes(data)
            _run("mcopy", "-i", target, str(source), "::" + rel)


@dataclass
class _Fat:
    bps: int
    spc: int
    reserved: int
    nfats: int
    fat_sectors: int
    root: int

    @classmethod
    def read(cls, image: Path, base: int = 0) -> _Fat:
        with image.open("rb") as f:
            f.seek(base)
            boot = f.read(512)
        bps, spc, reserved, nfats = struct.unpack_from("<HBHB", boot, 11)
        fat_sectors, root = struct.unpack_from("<L", boot, 36)[0], struct.unpack_from(
            "<L", boot, 44
        )[0]
        return cls(bps, spc, reserved, nfats, fat_sectors, root)

    def cluster_offset(self, cluster: int) -> int:
        data = (self.reserved + self.nfats * self.fat_sectors) * self.bps
        return data + (cluster - 2) * self.spc * self.bps

    def set_next(self, image: Path, cluster: int, value: int) -> None:
        for n in range(self.nfats):
            at = (self.reserved + n * self.fat_sectors) * self.bps + 4 * cluster
            _write_at(image, at, struct.pack("<L", value))


def _fat_entry(image: Path, fat: _Fat, short: bytes) -> tuple[int, int]:
    """(byte offset of the 8.3 directory entry ``short``, its first cluster)."""
    data = image.read_bytes()
    at = data.find(short, fat.cluster_offset(2))
    assert at > 0 and at % 32 == 0, short
    hi, lo = struct.unpack_from("<H", data, at + 20)[0], struct.unpack_from("<H", data, at + 26)[0]
    return at, hi << 16 | lo


def build_fat32_damaged(out: Path) -> Case:
    """FAT32: a cluster-chain cycle in one file, two directory loops (to itself, to root),
    a deleted directory with two deleted pictures in it."""
    image = out / "fat32_damaged.raw"
    _sparse(image, 40 * MIB)
    _run("mkfs.vfat", "-F", "32", "-s", "1", "-n", "HOSTILE", str(image))
    chain = pic(30) + pic(31) + pic(32)  # about 90 KB: many 512-byte clusters
    files = {"a.png": pic(33), "chain.png": chain, "sub/b.png": pic(34), "z.png": pic(35)}
    _run("mmd", "-i", str(image), "::sub")
    _run("mmd", "-i", str(image), "::olddir")
    _mcopy(str(image), files)
    gone = {"olddir/first.png": pic(36), "olddir/second.png": pic(37)}
    _mcopy(str(image), gone)
    _run("mdeltree", "-i", str(image), "::olddir")  # a deleted directory and its files
    fat = _Fat.read(image)
    cluster_bytes = fat.spc * fat.bps
    _, first = _fat_entry(image, fat, b"CHAIN   PNG")
    # mcopy writes a file contiguously: cluster first+3 points back to the first one.
    fat.set_next(image, first + 3, first)
    sub_at, sub_cluster = _fat_entry(image, fat, b"SUB        ")
    entries = b""
    for short, cluster in ((b"LOOP       ", sub_cluster), (b"UP         ", fat.root)):
        entry = bytearray(32)
        entry[0:11] = short
        entry[11] = 0x10
        struct.pack_into("<H", entry, 20, cluster >> 16)
        struct.pack_into("<H", entry, 26, cluster & 0xFFFF)
        entries += bytes(entry)
    sub_dir = fat.cluster_offset(sub_cluster)
    with image.open("rb") as f:
        f.seek(sub_dir)
        block = f.read(cluster_bytes)
    free = next(i for i in range(0, cluster_bytes, 32) if block[i] == 0)
    _write_at(image, sub_dir + free, entries)
    case = Case("fat32_damaged", image.name, "image")
    for rel, data in files.items():
        if rel == "chain.png":
            continue
        assert tsk_recover(image, rel) == md5(data), rel
        case.must_find["FAT32/" + rel] = md5(data)
    # FAT deleted names lose their first letter; Sleuth Kit still reads the clusters.
    for rel, data in gone.items():
        deleted = "/".join("_" + part[1:] for part in rel.split("/"))
        assert tsk_recover(image, deleted) == md5(data), deleted
        case.must_find["FAT32/" + deleted] = md5(data)
    case.lost.append("FAT32/chain.png")
    case.also_listed = ["FAT32/chain.png"]
    case.must_record = [
        ("FAT32/chain.png", "walk", "chain loops back to cluster"),
        ("FAT32/sub/LOOP", "walk", "directory loop"),
        ("FAT32/sub/UP", "walk", "directory loop"),
    ]
    case.notes = f"readable prefix of chain.png: {4 * cluster_bytes} bytes (4 clusters)"
    return case


# --- NTFS -----------------------------------------------------------------------------


@contextlib.contextmanager
def _ntfs_mounted(image: Path, mount: Path) -> Iterator[Path]:
    mount.mkdir(exist_ok=True)
    _run("ntfs-3g", str(image), str(mount))
    try:
        yield mount
    finally:
        _run("umount", str(mount))
        mount.rmdir()


def _ntfs_mft_offset(image: Path, inode: int) -> int:
    import pytsk3

    fs = pytsk3.FS_Info(pytsk3.Img_Info(str(image)))
    mft = fs.open_meta(inode=0)
    first_run = next(run for attr in mft if int(attr.info.type) == 128 for run in attr)
    return int(first_run.addr) * fs.info.block_size + inode * 1024


def _ntfs_inode(image: Path, path: str) -> int:
    return int(_run("ifind", "-n", path, str(image)).split()[0])


def _reparse_symlink(target: str) -> bytes:
    """Reparse data of a relative NTFS symbolic link to ``target``."""
    name = target.encode("utf-16-le")
    body = struct.pack("<HHHHL", 0, len(name), len(name), len(name), 1) + name + name
    return struct.pack("<LHH", 0xA000000C, len(body), 0) + body


def build_ntfs_damaged(out: Path) -> Case:
    """NTFS: a deleted directory tree, a BAAD MFT entry, a reparse-point symbolic link,
    ntfs-3g's interix link and FIFO (plain files to NTFS), a name that is not valid
    UTF-16 (a lone surrogate)."""
    image = out / "ntfs_damaged.raw"
    _sparse(image, 16 * MIB)
    _run("mkntfs", "-F", "-q", "-Q", "-c", "4096", "-L", "HOSTILE", str(image))
    files = {
        "keep.png": pic(40),
        "gone/d1.png": pic(41),
        "gone/d2.png": pic(42),
        "gone/inner/d3.png": pic(43),
        "broken.png": pic(44),
        "sur_X.png": pic(45),
        "last.png": pic(46),
    }
    with _ntfs_mounted(image, out / "ntfs.mnt") as mount:
        for rel, data in files.items():
            (mount / rel).parent.mkdir(parents=True, exist_ok=True)
            (mount / rel).write_bytes(data)
        os.symlink("keep.png", mount / "link")
        os.mkfifo(mount / "fifo")
        shutil.rmtree(mount / "gone")
        # A Windows symbolic link: a reparse point (IO_REPARSE_TAG_SYMLINK, relative).
        (mount / "rp_link").touch()
        os.setxattr(mount / "rp_link", "system.ntfs_reparse_data", _reparse_symlink("keep.png"))
    # "BAAD" is what NTFS itself writes over an MFT entry that failed its fixups.
    broken = _ntfs_inode(image, "broken.png")
    _write_at(image, _ntfs_mft_offset(image, broken), b"BAAD")
    # A lone high surrogate where "X" was, in the MFT entry and in the index entry.
    raw = image.read_bytes()
    old, new = "sur_X.png".encode("utf-16-le"), "sur_".encode("utf-16-le") + b"\x00\xd8" + (
        ".png".encode("utf-16-le")
    )
    assert raw.count(old) >= 2
    image.write_bytes(raw.replace(old, new))
    case = Case("ntfs_damaged", image.name, "image")
    for rel in ("keep.png", "last.png", "gone/d1.png", "gone/d2.png", "gone/inner/d3.png"):
        assert tsk_recover(image, rel) == md5(files[rel]), rel
        case.must_find["NTFS/" + rel] = md5(files[rel])
    case.must_find["NTFS/sur_\ud800.png"] = md5(files["sur_X.png"])
    # Sleuth Kit ignores the BAAD signature and reads the entry; libfsntfs does not.
    assert tsk_recover(image, "broken.png") == md5(files["broken.png"])
    case.must_find["NTFS/broken.png"] = md5(files["broken.png"])
    case.must_record = [
        ("NTFS/broken.png", "walk", "MFT entry unreadable by libfsntfs"),
        ("NTFS/broken.png", "walk", "listed and read through Sleuth Kit"),
        ("NTFS/rp_link", "walk", "symbolic link to 'keep.png', not followed"),
    ]
    case.also_listed = ["NTFS/fifo", "NTFS/link"]
    case.notes = f"broken.png is MFT entry {broken}; link and fifo are ntfs-3g interix files"
    return case


# --- partition tables, truncation -----------------------------------------------------


def _fat_partition(image: Path, start_sector: int, sectors: int, files: dict[str, bytes]) -> None:
    """A FAT file system (mformat picks FAT12/16 by size) written inside ``image``."""
    target = f"{image}@@{start_sector * 512}"
    _run("mformat", "-i", target, "-T", str(sectors), "-h", "1", "-s", "32", "::")
    _mcopy(target, files)


def build_mbr_past_end(out: Path) -> Case:
    """MBR with four partitions on a 24 MiB image: p1 and p2 fit, p3 runs past the end
    (its first files are still there), p4 starts past the end."""
    image = out / "mbr_past_end.raw"
    _sparse(image, 40 * MIB)
    table = "label: dos\nstart=2048, size=16384, type=6\nstart=18432, size=16384, type=6\n"
    table += "start=34816, size=45056, type=6\n"
    _run("sfdisk", "-q", str(image), input_=table.encode())
    p1, p2, early, late = pic(50), pic(51), pic(52), pic(53)
    _fat_partition(image, 2048, 16384, {"one.png": p1})
    _fat_partition(image, 18432, 16384, {"two.png": p2})
    _fat_partition(image, 34816, 45056, {"early.png": early, "fill.bin": bytes(12 * MIB),
                                         "late.png": late})
    # A fourth entry far past the end, written by hand (sfdisk refuses it).
    _write_at(image, 446 + 48, struct.pack("<B3xB3xLL", 0, 6, 204800, 20480))
    with image.open("r+b") as f:
        f.truncate(24 * MIB)
    case = Case("mbr_past_end", image.name, "image")
    assert tsk_recover(image, "early.png", 34816) == md5(early)
    assert tsk_recover(image, "late.png", 34816) != md5(late)
    case.must_find = {"p1/FAT12/one.png": md5(p1), "p2/FAT12/two.png": md5(p2),
                      "p3/FAT16/early.png": md5(early)}
    case.lost = ["p3/FAT16/late.png"]
    case.also_listed = ["p3/FAT16/fill.bin", "p3/FAT16/late.png"]
    case.must_record = [
        ("mbr_past_end.raw", "open", "volume scan failed"),
        ("p3", "open", "past the readable end: read up to the end"),
        ("p4", "open", "past the readable end (25165824): nothing to read"),
        ("p3/FAT16/late.png", "walk", "cluster chain unreadable"),
        ("p1/FAT12/one.png", "walk", "content read through Sleuth Kit"),
    ]
    return case


def build_gpt_damaged(out: Path) -> Case:
    """GPT whose primary header is overwritten; the backup header at the end is intact."""
    image = out / "gpt_damaged.raw"
    _sparse(image, 40 * MIB)
    _run("sgdisk", "-n", "1:2048:+12M", "-n", "2:0:+12M", "-n", "3:0:+4M", str(image))
    one, two = pic(60), pic(61)
    _fat_partition(image, 2048, 24576, {"g1.png": one})
    _fat_partition(image, 26624, 24576, {"g2.png": two})
    _write_at(image, 512, b"DAMAGED!")
    verify = subprocess.run(["sgdisk", "-v", str(image)], capture_output=True, text=True)
    assert "corrupt GPT" in verify.stdout, verify.stdout  # sgdisk recovers it from the backup
    case = Case("gpt_damaged", image.name, "image")
    assert tsk_recover(image, "g1.png", 2048) == md5(one)
    case.must_find = {"p1/FAT12/g1.png": md5(one), "p2/FAT12/g2.png": md5(two)}
    case.must_record = [
        ("gpt_damaged.raw", "open", "primary header damaged, partitions read from the backup"),
        ("p3", "open", "no file system found in the partition"),
    ]
    return case


def _acquire(raw: Path, target: Path, *extra: str) -> None:
    """``ewfacquire`` of ``raw`` into ``target.E01`` (uncompressed chunks, MD5 + SHA-1)."""
    _run("ewfacquire", "-u", "-q", "-t", str(target), "-c", "deflate:none", "-d", "sha1",
         "-C", "hostile", "-D", "hostile", "-e", "vigil", "-E", "1", "-N", "benign", *extra,
         str(raw))


def build_e01_truncated(out: Path) -> list[Case]:
    """A FAT32 image acquired in 1 MiB segments of which the last ones are missing, and
    one single-segment E01 cut before its chunk table."""
    raw = out / "e01_src.raw"
    _sparse(raw, 40 * MIB)
    _run("mkfs.vfat", "-F", "32", "-s", "1", "-n", "EWF", str(raw))
    first, far = pic(70), pic(71)
    _mcopy(str(raw), {"first.png": first, "fill.bin": bytes(22 * MIB), "far.png": far})
    folder = out / "e01_split"
    folder.mkdir()
    _acquire(raw, folder / "split", "-S", str(MIB))
    segments = sorted(folder.iterdir())
    for segment in segments[len(segments) // 2 :]:
        segment.unlink()
    single = out / "e01_cut"
    single.mkdir()
    _acquire(raw, single / "cut")
    data = (single / "cut.E01").read_bytes()
    (single / "cut.E01").write_bytes(data[: len(data) // 2])
    raw.unlink()
    split = Case("e01_split_missing", "e01_split/split.E01", "image")
    split.must_find = {"FAT32/first.png": md5(first)}
    split.lost = ["FAT32/far.png"]
    split.also_listed = ["FAT32/fill.bin", "FAT32/far.png"]
    split.must_record = [
        ("split.E01", "open", "volume scan failed"),
        ("split.E01", "open", "media readable up to byte"),
        # The integrity pass: libewf reports the missing chunks as one bad range.
        ("FAT32/far.png", "integrity", "failed the E01 chunk checksum or are missing"),
    ]
    cut = Case("e01_cut", "e01_cut/cut.E01", "image")
    # libewf reads nothing of it (the chunk table follows the chunks); the chunks before
    # the cut are still there, one after the other, and first.png lies in them.
    cut.must_find = {"FAT32/first.png": md5(first)}
    cut.lost = ["FAT32/far.png"]
    cut.also_listed = ["FAT32/fill.bin", "FAT32/far.png"]
    cut.must_record = [
        ("cut.E01", "open", "media readable up to byte 0 of"),
        ("cut.E01", "open", "EWF chunk table missing (segment cut short): 640 chunks"),
    ]
    return [split, cut]


def build_e01_bad_chunk(out: Path) -> Case:
    """A FAT32 image acquired with ewfacquire, one byte of one picture's chunk flipped
    in the E01 (the chunk's Adler-32 no longer holds; libewf reads it as zeros)."""
    raw = out / "badchunk_src.raw"
    _sparse(raw, 40 * MIB)
    _run("mkfs.vfat", "-F", "32", "-s", "1", "-n", "EWF", str(raw))
    # hit.png is large enough (about 150 KB) to hold whole 32 KiB chunks of its own.
    files = {"ok1.png": pic(80), "hit.png": picture(1081, "PNG", (480, 360)), "ok2.png": pic(82)}
    _mcopy(str(raw), files)
    folder = out / "e01_bad_chunk"
    folder.mkdir()
    _acquire(raw, folder / "bad")
    raw.unlink()
    e01 = folder / "bad.E01"
    data = bytearray(e01.read_bytes())
    # Uncompressed chunks hold the media bytes as they are: find the picture's middle.
    middle = len(files["hit.png"]) // 2
    assert middle > 64 * 1024
    needle = files["hit.png"][middle : middle + 64]
    at = data.find(needle)
    assert at > 0 and data.find(needle, at + 1) < 0
    data[at + 10] ^= 0xFF
    e01.write_bytes(bytes(data))
    case = Case("e01_bad_chunk", "e01_bad_chunk/bad.E01", "image")
    case.must_find = {f"FAT32/{n}": md5(d) for n, d in files.items() if n != "hit.png"}
    case.lost = ["FAT32/hit.png"]
    case.also_listed = ["FAT32/hit.png"]
    case.must_record = [("FAT32/hit.png", "integrity", "checksum")]
    case.notes = "the stored MD5 no longer matches the media: verify_media says so"
    return case


# --- folder ---------------------------------------------------------------------------


def build_folder(out: Path) -> Case:
    """A folder with links, a FIFO, a socket, a device node, an empty file, names that
    are not UTF-8 or hold control characters, and a 20 GiB sparse file."""
    root = out / "folder"
    root.mkdir()
    broot = os.fsencode(root)
    files = {b"a.png": pic(90), b"caf\xe9.png": pic(91), b"tab\tbell\x07\x1b[2J.png": pic(92),
             b"sub/deep.png": pic(93), b"empty.bin": b""}
    for rel, data in files.items():
        target = os.path.join(broot, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
    os.symlink("a.png", root / "link_ok")
    os.symlink("/nowhere/x.png", root / "link_dangling")
    os.symlink(".", root / "sub" / "loop")
    os.mkfifo(root / "fifo")
    os.mknod(root / "null", 0o600 | 0o020000, os.makedev(1, 3))
    with contextlib.closing(socket.socket(socket.AF_UNIX)) as s:
        s.bind(str(root / "sock"))
    _sparse(root / "sparse.bin", SPARSE_BYTES)
    _write_at(root / "sparse.bin", SPARSE_BYTES - len(pic(94)), pic(94))
    case = Case("folder", "folder", "folder")
    for rel, data in files.items():
        case.must_find[rel.decode("utf-8", "surrogateescape")] = md5(data)
    case.must_record = [
        ("link_ok", "source", "symbolic link to 'a.png', not followed"),
        ("link_dangling", "source", "symbolic link to '/nowhere/x.png', not followed"),
        ("sub/loop", "source", "symbolic link to '.', not followed"),
        ("fifo", "source", "FIFO (named pipe), not read"),
        ("null", "source", "character device, not read"),
        ("sock", "source", "socket, not read"),
    ]
    case.also_listed = ["sparse.bin"]
    case.notes = "sparse.bin: 20 GiB, one picture in its last bytes"
    return case


# --- checking an outcome -------------------------------------------------------------


def outcome_problems(
    case: Case, found: dict[str, str | None], records: list[tuple[str, str, str]]
) -> list[str]:
    """What is wrong with a scan's outcome for ``case`` (empty when it is right).

    Usable on a source listing or on a whole ``vigil scan`` (from its store).

    Args:
        case: The case from ``build_all``.
        found: Every item path yielded at the top level (no container members) -> the MD5
            read from its bytes (None when it was not or could not be read).
        records: Every ``(location, stage, reason)`` recorded.

    Returns:
        One line per problem.
    """
    problems = []
    want = set(case.must_find) | set(case.also_listed)
    for path in sorted(want - set(found)):
        problems.append(f"missing item {path!r}")
    for path in sorted(set(found) - want):
        problems.append(f"unexpected item {path!r}")
    for path, digest in case.must_find.items():
        if path in found and found[path] != digest:
            problems.append(f"{path!r}: MD5 {found[path]} instead of {digest}")
    for location, stage, words in case.must_record:
        if not any(r[0] == location and r[1] == stage and words in r[2] for r in records):
            problems.append(f"no {stage} record at {location!r} saying {words!r}")
    image_name = Path(case.evidence).name
    for path in case.lost:
        if not any(_covers(r[0], path, image_name) for r in records):
            problems.append(f"lost {path!r} has no record")
    return problems


def _covers(location: str, path: str, image_name: str) -> bool:
    """A record at ``location`` speaks for ``path``: the same path, a folder or volume
    above it, or the image itself."""
    return location in (path, image_name) or path.startswith(location + "/")


# --- cases ----------------------------------------------------------------------------

BUILDERS: list[Callable[[Path], Case | list[Case]]] = [
    build_ext4_names,
    build_ext4_bad_entry,
    build_fat32_damaged,
    build_ntfs_damaged,
    build_mbr_past_end,
    build_gpt_damaged,
    build_e01_truncated,
    build_e01_bad_chunk,
    build_folder,
]


def cache_key() -> str:
    """Hash of this generator and the picture generator: the cache folder's name."""
    h = hashlib.sha256()
    for path in (Path(__file__), Path(__file__).parents[1] / "sources" / "build_dftt8.py"):
        h.update(path.read_bytes())
    import PIL

    h.update(PIL.__version__.encode())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_all(cache: Path = CACHE) -> tuple[Path, dict[str, Case]]:
    """Build (or reuse) every case; return the folder and the cases by name."""
    folder = cache / cache_key()
    expected = folder / "expected.json"
    with _locked(folder):
        if not expected.exists():
            for stale in folder.iterdir():
                if stale.name != ".lock":
                    shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
            for old in cache.iterdir():  # corpora of older generator versions
                if old != folder and old.is_dir() and len(old.name) == 16:
                    shutil.rmtree(old, ignore_errors=True)
            cases: list[Case] = []
            for build in BUILDERS:
                built = build(folder)
                cases += built if isinstance(built, list) else [built]
            expected.write_text(
                json.dumps({c.name: asdict(c) for c in cases}, indent=1), encoding="utf-8"
            )
    return folder, load_expected(folder)


def load_expected(folder: Path) -> dict[str, Case]:
    """The cases recorded in ``folder/expected.json``."""
    raw = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    cases = {}
    for name, value in raw.items():
        value["must_record"] = [tuple(r) for r in value["must_record"]]
        cases[name] = Case(**value)
    return cases


if __name__ == "__main__":
    where, _ = build_all()
    print(where)
