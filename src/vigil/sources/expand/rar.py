"""RAR v4 and v5 archives: listed with ``rarfile``; stored members read by rarfile itself,
compressed ones through ``bsdtar`` (Debian ``libarchive-tools``), which rarfile's own
tool detection does not drive correctly for solid RAR5.

Without ``bsdtar`` compressed members are still listed; their ``open()`` raises and the
pipeline records why.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import BinaryIO

import rarfile

from vigil.model import Item, ScanError
from vigil.sources.expand import Limits, register
from vigil.sources.expand.members import Budget, child
from vigil.sources.spool import SPOOL_MEMORY, spool

STAGE = "expand.rar"
_STORED = 0x30  # RAR compression method "store"
_TOOL_TIMEOUT = 600


def expand_rar(item: Item, limits: Limits) -> Iterator[Item | ScanError]:
    """Yield the members of a RAR archive as child items.

    Args:
        item: The RAR item.
        limits: Bomb guards.

    Returns:
        An iterator of child ``Item``s and ``ScanError``s.
    """
    budget = Budget(item, limits, STAGE)
    if (error := budget.depth_error()) is not None:
        yield error
        return
    try:
        with item.open() as stream:
            archive = rarfile.RarFile(stream)
            infos = [i for i in archive.infolist() if not i.is_dir()]
            header_encrypted = archive.needs_password() and not infos
    except rarfile.PasswordRequired:
        yield ScanError(item.path, STAGE, "encrypted: header is encrypted, members unknown")
        return
    except (rarfile.Error, OSError, ValueError, EOFError) as exc:
        yield ScanError(item.path, STAGE, f"not a readable rar: {exc}")
        return
    if header_encrypted:
        yield ScanError(item.path, STAGE, "encrypted: header is encrypted, members unknown")
        return
    encrypted_seen = False
    for info in infos:
        size = info.file_size
        if (error := budget.admit(info.filename, size, info.compress_size)) is not None:
            yield error
            if budget.entry_limit_hit():
                return
            continue
        encrypted = bool(info.needs_password())
        encrypted_seen |= encrypted
        modified = info.mtime.astimezone(UTC) if info.mtime and info.mtime.tzinfo else None
        yield child(
            item,
            info.filename,
            _opener(
                item,
                info.filename,
                info.compress_type == _STORED,
                min(size, limits.max_member_bytes),
            ),
            size,
            encrypted=encrypted,
            modified=modified,
        )
    if encrypted_seen:
        yield ScanError(item.path, STAGE, "encrypted: members are listed but cannot be read")


def _opener(item: Item, name: str, stored: bool, limit: int) -> Callable[[], BinaryIO]:
    def open_() -> BinaryIO:
        if stored:
            with item.open() as stream:
                archive = rarfile.RarFile(stream)
                with archive.open(name) as member:
                    return spool(member, limit=limit)
        return _bsdtar_extract(item, name, limit)

    return open_


def _bsdtar_extract(item: Item, name: str, limit: int) -> BinaryIO:
    tool = shutil.which("bsdtar")
    if tool is None:
        raise OSError("compressed RAR member needs bsdtar (Debian package libarchive-tools)")
    # bsdtar needs the archive as a file: an anonymous copy, never named after a member.
    with tempfile.NamedTemporaryFile(suffix=".rar") as copy:
        with item.open() as stream:
            shutil.copyfileobj(stream, copy, 1024 * 1024)
        copy.flush()
        pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in name)
        proc = subprocess.Popen(  # noqa: S603 - fixed tool, argument list, no shell
            [tool, "-x", "--to-stdout", "-f", copy.name, "--", pattern],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
        total = 0
        while chunk := proc.stdout.read(1024 * 1024):
            total += len(chunk)
            if total > limit:
                proc.kill()
                proc.wait()
                raise OSError(f"RAR member {name!r} larger than {limit} bytes")
            out.write(chunk)
        _, err = proc.communicate(timeout=_TOOL_TIMEOUT)
        if proc.returncode != 0:
            raise OSError(f"bsdtar failed on {name!r}: {err.decode('utf-8', 'replace').strip()}")
    out.seek(0)
    return out  # type: ignore[return-value]


register(("application/vnd.rar", "application/x-rar-compressed"), expand_rar)
