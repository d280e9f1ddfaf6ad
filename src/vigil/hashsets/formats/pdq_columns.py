"""A PDQ list read into flat arrays at disk speed, for importing national-size banks.

The same records as ``pdq.read`` (which stays the reference), as columns: an N x 32 uint8
array of hashes, their line numbers and category codes. A compiled loop (numba) walks
each block of the file once: a line of exactly 64 hex digits, optionally followed by a
separator run and a short category (``<pdq>,<category>``), is decoded there; every
other line (comments, blanks, spaces around the hash, long categories, anything
malformed) is handed to the reference parser, so its outcome and its error message are
exactly the reference's. A file with lone CR line ends is read by the reference reader
whole (Python counts a lone CR as a line end; the loop would not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from vigil.errors import HashSetFormatError
from vigil.hashsets.entry import HashEntry, Malformed, Truncated

_BLOCK = 16 << 20
_BOM = b"\xef\xbb\xbf"
# Categories of at most this many printable ASCII bytes are decoded in the loop.
_SHORT = 8
_HEX = np.full(256, 255, dtype=np.uint8)
for _value, _digit in enumerate(b"0123456789abcdef"):
    _HEX[_digit] = _value
    _HEX[ord(chr(_digit).upper())] = _value


@dataclass
class PdqColumns:
    """The entries of a PDQ list, in file order, and what could not be read.

    ``categories[category_codes[i]]`` is entry ``i``'s raw category (index 0: None).
    ``malformed`` holds the first ``samples`` bad records; ``malformed_count`` all.
    """

    codes: np.ndarray
    records: np.ndarray
    category_codes: np.ndarray
    categories: list[str | None]
    malformed_count: int = 0
    malformed: list[Malformed] = field(default_factory=list)
    truncated: Truncated | None = None

    def __len__(self) -> int:
        return len(self.codes)


@njit(nogil=True, cache=True)
def _scan(data, first_line, hexes, codes, lines, keys, others, out_at):  # type: ignore[no-untyped-def]
    """Decode the plain lines of ``data`` (whole lines) into ``codes[out_at:]``.

    Returns (entries decoded, other lines, next line number); other line ``k`` is
    ``data[others[k, 0]:others[k, 1]]``, line number ``others[k, 2]``, to be parsed by
    the reference reader.
    """
    size = data.shape[0]
    at = 0
    line = first_line
    done = out_at
    other = 0
    while at < size:
        end = at
        while end < size and data[end] != 10:
            end += 1
        stop = end
        if stop > at and data[stop - 1] == 13:
            stop -= 1
        ok = stop - at >= 64
        if ok:
            for i in range(32):
                high = hexes[data[at + 2 * i]]
                low = hexes[data[at + 2 * i + 1]]
                if high > 15 or low > 15:
                    ok = False
                    break
                codes[done, i] = (high << 4) | low
        key = np.uint64(0)
        if ok and stop - at > 64:
            # "<pdq><separators><category>": separators , TAB or space, then a short
            # printable category and the line end; anything else goes to the reference.
            cursor = at + 64
            while cursor < stop and (data[cursor] == 44 or data[cursor] == 9 or data[cursor] == 32):
                cursor += 1
            length = stop - cursor
            ok = cursor > at + 64 and 0 < length <= 8
            if ok:
                for i in range(length):
                    byte = data[cursor + i]
                    if byte < 33 or byte > 126:
                        ok = False
                        break
                    key |= np.uint64(byte) << np.uint64(8 * i)
        if ok:
            lines[done] = line
            keys[done - out_at] = key
            done += 1
        else:
            others[other, 0] = at
            others[other, 1] = stop
            others[other, 2] = line
            other += 1
        at = end + 1
        line += 1
    return done - out_at, other, line


def _key_text(key: int) -> str:
    return key.to_bytes(_SHORT, "little").rstrip(b"\0").decode("ascii")


class _Reader:
    """State of one columnar read: the output arrays and the records seen so far."""

    def __init__(self, path: Path, capacity: int, samples: int) -> None:
        self.path = path
        self.samples = samples
        self.codes = np.empty((capacity, 32), dtype=np.uint8)
        self.records = np.empty(capacity, dtype=np.uint32 if capacity < 2**32 else np.uint64)
        self.category_codes = np.zeros(capacity, dtype=np.uint32)
        self.names: dict[str | None, int] = {None: 0}
        self.count = 0
        self.malformed: list[Malformed] = []
        self.malformed_count = 0
        self.seen_first = False
        self.last_bad: Malformed | None = None  # the last record, when it is malformed

    def code(self, category: str | None) -> int:
        return self.names.setdefault(category, len(self.names))

    def block(self, data: np.ndarray, first_line: int) -> int:
        """Read the whole lines in ``data``; return the next line number."""
        lines = int(np.count_nonzero(data == 10)) + 1
        keys = np.zeros(lines, dtype=np.uint64)
        others = np.empty((lines, 3), dtype=np.int64)
        decoded, other, next_line = _scan(
            data, first_line, _HEX, self.codes, self.records, keys, others, self.count
        )
        start, end = self.count, self.count + decoded
        if decoded:
            found, inverse = np.unique(keys[:decoded], return_inverse=True)
            lookup = np.array(
                [self.code(_key_text(int(key)) if key else None) for key in found.tolist()],
                dtype=np.uint32,
            )
            self.category_codes[start:end] = lookup[inverse]
        extra = [self._other(data, row) for row in others[:other]]
        self._check_first(decoded, extra, start)
        entries = [item for item in extra if isinstance(item, HashEntry)]
        if entries:
            self._merge(start, end, entries)
            end += len(entries)
        records = [item for item in extra if item is not None]
        last_fast = int(self.records[end - 1]) if end > start else 0
        if records and records[-1].record > last_fast:
            last = records[-1]
            self.last_bad = last if isinstance(last, Malformed) else None
        elif end > start:
            self.last_bad = None
        self.count = end
        return next_line

    def _other(self, data: np.ndarray, row: np.ndarray) -> HashEntry | Malformed | None:
        from vigil.hashsets.formats.pdq import _parse

        begin, stop, number = (int(value) for value in row)
        text = data[begin:stop].tobytes().decode("utf-8", errors="replace")
        if not text.strip() or text.lstrip().startswith("#"):
            return None
        try:
            return _parse(text, number)
        except ValueError as exc:
            bad = Malformed(number, str(exc))
            self.malformed_count += 1
            if len(self.malformed) < self.samples:
                self.malformed.append(bad)
            return bad

    def _check_first(self, decoded: int, extra: list, start: int) -> None:  # type: ignore[type-arg]
        if self.seen_first:
            return
        first_fast = int(self.records[start]) if decoded else None
        for item in extra:
            if item is None:
                continue
            if first_fast is not None and item.record > first_fast:
                break
            if isinstance(item, Malformed):
                raise HashSetFormatError(
                    f"{self.path}: line {item.record}: not a PDQ list: {item.reason}"
                )
            break
        self.seen_first = bool(decoded) or any(isinstance(i, HashEntry) for i in extra)

    def _merge(self, start: int, end: int, entries: list[HashEntry]) -> None:
        """Put the reference-parsed entries among the decoded ones, in line order."""
        more = len(entries)
        lines = np.concatenate([self.records[start:end], [e.record for e in entries]])
        codes = np.concatenate(
            [self.codes[start:end], np.frombuffer(bytes.fromhex("".join(e.pdq for e in entries)),
                                                  np.uint8).reshape(more, 32)]
        )
        cats = np.concatenate(
            [self.category_codes[start:end], [self.code(e.category) for e in entries]]
        )
        order = np.argsort(lines, kind="stable")
        self.records[start : end + more] = lines[order]
        self.codes[start : end + more] = codes[order]
        self.category_codes[start : end + more] = cats[order]

    def finish(self, ends_mid_line: bool) -> PdqColumns:
        if not self.seen_first:
            raise HashSetFormatError(f"{self.path}: no PDQ hash lines found")
        truncated = None
        if self.last_bad is not None and ends_mid_line:
            bad = self.last_bad
            truncated = Truncated(bad.record, f"the file ends mid-line: {bad.reason}")
            self.malformed_count -= 1
            if bad in self.malformed:
                self.malformed.remove(bad)
        count = self.count
        return PdqColumns(
            self.codes[:count],
            self.records[:count],
            self.category_codes[:count],
            list(self.names),
            self.malformed_count,
            self.malformed,
            truncated,
        )


def read_columns(
    path: Path, samples: int = 20, progress: Callable[[int], None] | None = None
) -> PdqColumns:
    """Read a PDQ list into columns (the records of ``pdq.read``, same order and errors).

    Args:
        path: The PDQ list.
        samples: How many malformed records to keep (all are counted).
        progress: Called with the number of lines read so far, once per block.

    Returns:
        The entries and the damage found.

    Raises:
        HashSetFormatError: If the file cannot be read or is not a PDQ list (bad first
            hash line, or no hash line at all).
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise HashSetFormatError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with handle:
        lines, lone_cr, last = _count_lines(handle)
        if lone_cr:
            return _from_records(path, samples)
        handle.seek(0)
        reader = _Reader(path, lines, samples)
        carry = handle.read(3)
        if carry == _BOM:
            carry = b""
        number = 1
        while True:
            chunk = handle.read(_BLOCK)
            data = carry + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            if cut:
                number = reader.block(np.frombuffer(data, np.uint8, count=cut), number)
                if progress is not None:
                    progress(number - 1)
            carry = data[cut:]
            if not chunk:
                break
    return reader.finish(last not in (b"", b"\n", b"\r"))


def _count_lines(handle) -> tuple[int, bool, bytes]:  # type: ignore[no-untyped-def]
    """(upper bound of the lines, whether some CR ends a line alone, the file's last byte)."""
    lines = 1
    cr = crlf = 0
    last = b""
    while chunk := handle.read(_BLOCK):
        lines += chunk.count(b"\n")
        cr += chunk.count(b"\r")
        crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
        last = chunk[-1:]
    return lines, cr != crlf, last


def _from_records(path: Path, samples: int) -> PdqColumns:
    """The reference reader's records as columns (files with lone CR line ends)."""
    from vigil.hashsets.formats import pdq

    entries: list[HashEntry] = []
    malformed: list[Malformed] = []
    count = 0
    truncated = None
    for item in pdq.read(path):
        if isinstance(item, HashEntry):
            entries.append(item)
        elif isinstance(item, Malformed):
            count += 1
            if len(malformed) < samples:
                malformed.append(item)
        else:
            truncated = item
    names: dict[str | None, int] = {None: 0}
    codes = np.frombuffer(bytes.fromhex("".join(e.pdq for e in entries)), np.uint8)
    return PdqColumns(
        codes.reshape(len(entries), 32).copy(),
        np.array([e.record for e in entries], dtype=np.uint64),
        np.array([names.setdefault(e.category, len(names)) for e in entries], dtype=np.uint32),
        list(names),
        count,
        malformed,
        truncated,
    )
