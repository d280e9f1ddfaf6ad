"""The work done on one item: read it once, identify it, hash it, match it.

``Analysis`` runs in workers. It never writes to the store and never raises for a bad
item: failures come back as ``ScanError`` records in the outcome. The only exception
that passes through is ``ItemTimeout``, the walk's CPU budget for one step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from vigil.hashing.crypto import Digests, digest_stream
from vigil.model import Hashes, Item, Match, Media, ScanError
from vigil.sources.expand.firefox_cache import kind_of
from vigil.sources.sniff import Kind, sniff

Matcher = Callable[[Hashes], list[Match]]
# A perceptual analyser adds PDQ / frame hashes for one media kind: it gets the item
# and the crypto hashes and returns the enriched hashes plus any errors.
Analyser = Callable[[Item, Hashes], tuple[Hashes, list[ScanError]]]


@dataclass
class Outcome:
    """What ``analyse`` learnt about one item."""

    item: Item
    hashes: Hashes | None
    kind: Kind | None
    matches: list[Match] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)


@dataclass
class Analysis:
    """The configured work for every item of one scan (shared by the worker threads)."""

    matchers: Sequence[Matcher]
    analysers: dict[str, Analyser]
    claimed: Callable[[str], bool]
    # Contents whose analyser changed their media (a picture signature that does not
    # decode is "other"): later copies in the same task, not analysed again, follow.
    retyped: dict[str, Media] = field(default_factory=dict)

    def __call__(self, item: Item) -> Outcome:
        """Analyse one item whose bytes ``item.open()`` gives; see the module docstring."""
        if item.deleted and item.size is None:
            # A deleted name whose content cannot be recovered: recorded, not hashed
            # (hashing nothing would claim the empty file's MD5).
            return Outcome(item, None, None)
        try:
            with item.open() as stream:
                digests = digest_stream(stream)
        except Exception as exc:  # noqa: BLE001 - any read failure is a record, not a crash
            return Outcome(item, None, None, errors=[read_error(item, exc)])
        return self.finish(item, digests)

    def finish(self, item: Item, digests: Digests) -> Outcome:
        """Identify, hash perceptually and match an item whose bytes were read once.

        ``item.open()`` must give the bytes again if the content is a picture or a video
        (a spooled copy for a container member).
        """
        kind = sniff(digests.head)
        if kind.media != "other":
            # A cached picture or video with the cache's metadata after it is an entry.
            kind = _typed(item, digests.head)
        hashes = Hashes(
            size=digests.size,
            md5=digests.md5,
            sha1=digests.sha1,
            sha256=digests.sha256,
            mime=kind.mime,
            media=kind.media,
        )
        outcome = Outcome(item, hashes, kind)
        # Perceptual work and matching happen once per distinct content in the case.
        if not self.claimed(hashes.sha256):
            if hashes.sha256 in self.retyped:
                outcome.hashes = replace(hashes, media=self.retyped[hashes.sha256], partial=True)
            return outcome
        analyser = self.analysers.get(kind.media)
        if analyser is not None:
            try:
                hashes, errs = analyser(item, hashes)
            except ItemTimeout:
                raise
            except Exception as exc:  # noqa: BLE001
                errs = [ScanError(item.path, kind.media, f"{type(exc).__name__}: {exc}")]
            outcome.hashes = hashes
            outcome.errors.extend(errs)
            if hashes.media != kind.media:
                self.retyped[hashes.sha256] = hashes.media
        for matcher in self.matchers:
            outcome.matches.extend(matcher(outcome.hashes or hashes))
        if outcome.hashes is not None and item.size is not None and item.size != digests.size:
            outcome.errors.append(
                ScanError(item.path, "read", f"expected {item.size} bytes, read {digests.size}")
            )
            outcome.hashes = replace(outcome.hashes, partial=True)
        return outcome


def _typed(item: Item, head: bytes) -> Kind:
    try:
        with item.open() as stream:
            return kind_of(head, stream)
    except OSError:
        return sniff(head)


class ItemTimeout(Exception):
    """One step of the walk took more CPU time than its budget (raised by a timer)."""


def read_error(item: Item, exc: BaseException) -> ScanError:
    if isinstance(exc, OSError) and exc.strerror:
        reason = f"{type(exc).__name__}: {exc.strerror}"
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return ScanError(item.path, "read", reason)
