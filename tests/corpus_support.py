"""A seeded generator of a many-file benign corpus for scan tests (resume, cluster)."""

from __future__ import annotations

import hashlib
import io
import random
import sqlite3
import zipfile
from pathlib import Path

from vigil.demo import draw_landscape


def make_corpus(root: Path, files: int) -> None:
    """Many small files with duplicates, some pictures, zips every 500 files (seeded)."""
    rng = random.Random(7)
    pictures = []
    for i in range(8):
        buf = io.BytesIO()
        draw_landscape(i, (96, 72)).save(buf, "JPEG", quality=85)
        pictures.append(buf.getvalue())
    for i in range(files):
        folder = root / f"d{i % 37:02d}" / f"s{i % 11}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 500 == 0:
            with zipfile.ZipFile(folder / f"archive{i}.zip", "w") as zf:
                zf.writestr("a.txt", f"member {i}")
                zf.writestr("pics/p.jpg", pictures[i % 8])
        elif i % 97 == 0:
            (folder / f"pic{i}.jpg").write_bytes(pictures[i % 8])
        else:
            # Many duplicates: contents repeat every 1,000 files.
            (folder / f"f{i}.bin").write_bytes(f"content {i % 1000} ".encode() * (1 + i % 5))
    (root / "noise.bin").write_bytes(rng.randbytes(3000))


def write_known_md5(path: Path, step: int) -> Path:
    """An md5sum list of every ``step``-th repeated content of ``make_corpus``."""
    path.write_text(
        "".join(
            f"{hashlib.md5(f'content {k} '.encode()).hexdigest()}  c{k}\n"
            for k in range(0, 1000, step)
        )
    )
    return path


def count_items(db: Path) -> int:
    """Items recorded so far in a case store (0 while it does not exist yet)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("select count(*) from items").fetchone()[0]
    except sqlite3.Error:
        return 0


def store_state(db: Path) -> tuple[list, list, list]:
    """Items, contents and matches of a case store, in a stable order, for comparison."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        items = conn.execute(
            "select i.path, c.sha256, i.expanded from items i left join contents c "
            "on c.id = i.content_id order by i.path"
        ).fetchall()
        contents = conn.execute(
            "select sha256, md5, media, pdq from contents order by sha256"
        ).fetchall()
        matches = conn.execute(
            "select c.sha256, m.hashset, m.entry_id, m.basis from matches m join contents c "
            "on c.id = m.content_id order by 1, 2, 3"
        ).fetchall()
    return items, contents, matches
