"""A registry of named hashers for pictures and videos.

PDQ is built in; a licensed agency adds PhotoDNA (or any other perceptual hash) by
writing one module with a class that satisfies ``Hasher`` and calling ``register`` on
it at import. The pipeline asks ``hashers_for(media)`` and calls each hasher's
``hash`` on the content's bytes; it never names a hasher itself.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from vigil.model import Media

HashValues = dict[str, str | int | None]


@runtime_checkable
class Hasher(Protocol):
    """What a hasher provides.

    Attributes:
        name: unique, stable name (``pdq``, ``photodna``); stored with every value.
        media: the media classes it applies to (``image``, ``video``).
    """

    name: str
    media: frozenset[Media]

    def hash(self, data: bytes) -> HashValues:
        """Hash one content's bytes.

        Never raises on bad input: a failure is reported in the returned values (for
        example under ``<name>_error``).
        """
        ...


class HasherRegistry:
    """Hashers by name, in registration order."""

    def __init__(self) -> None:
        self._hashers: dict[str, Hasher] = {}

    def register(self, hasher: Hasher) -> Hasher:
        """Add a hasher.

        Args:
            hasher: an object satisfying ``Hasher``.

        Returns:
            The hasher, so the call can be used at module level.

        Raises:
            ValueError: the name is taken, or the object is not a ``Hasher``.
        """
        if not isinstance(hasher, Hasher):
            raise ValueError(f"{hasher!r} is not a hasher (needs name, media and hash())")
        if hasher.name in self._hashers:
            raise ValueError(f"a hasher named {hasher.name!r} is already registered")
        self._hashers[hasher.name] = hasher
        return hasher

    def hashers_for(self, media: Media) -> list[Hasher]:
        """Hashers that apply to a media class, in registration order.

        Args:
            media: ``image``, ``video`` or ``other``.

        Returns:
            The matching hashers.
        """
        return [hasher for hasher in self._hashers.values() if media in hasher.media]

    def names(self) -> list[str]:
        """Names of all registered hashers, in registration order."""
        return list(self._hashers)


def _default() -> HasherRegistry:
    # Imported here so that pdq.py stays free of registry concerns.
    from vigil.hashing.pdq import PdqHasher

    registry = HasherRegistry()
    registry.register(PdqHasher())
    return registry


REGISTRY = _default()


def register(hasher: Hasher) -> Hasher:
    """Add a hasher to vigil's registry (see ``HasherRegistry.register``)."""
    return REGISTRY.register(hasher)


def hashers_for(media: Media) -> list[Hasher]:
    """Hashers in vigil's registry for a media class (see ``HasherRegistry.hashers_for``)."""
    return REGISTRY.hashers_for(media)
