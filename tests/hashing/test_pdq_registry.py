"""The hasher registry: PDQ built in, an extra hasher plugs in by registering."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.hashing import registry
from vigil.hashing.pdq import PdqHasher

ROOT = Path(__file__).resolve().parents[2]
PICTURE = ROOT / ".." / "shared" / "reference" / "pdq" / "data" / "bridge-mods" / "aaa-orig.jpg"


class ByteCountHasher:
    """Stands in for a licensed hasher such as PhotoDNA."""

    name = "bytecount"
    media = frozenset({"image", "video"})

    def __init__(self) -> None:
        self.seen: list[int] = []

    def hash(self, data: bytes) -> dict[str, str | int | None]:
        self.seen.append(len(data))
        return {"bytecount": len(data)}


def test_pdq_is_built_in_for_images_only():
    assert [h.name for h in registry.hashers_for("image")][:1] == ["pdq"]
    assert "pdq" not in [h.name for h in registry.hashers_for("video")]
    assert registry.REGISTRY.names()[0] == "pdq"


def test_extra_hasher_is_registered_and_called():
    hashers = registry.HasherRegistry()
    hashers.register(PdqHasher())
    extra = hashers.register(ByteCountHasher())
    data = PICTURE.read_bytes()
    values: dict[str, str | int | None] = {}
    for hasher in hashers.hashers_for("image"):
        values.update(hasher.hash(data))
    assert extra.seen == [len(data)]
    assert values["bytecount"] == len(data) == 361_182
    assert values["pdq_quality"] == 100
    assert [h.name for h in hashers.hashers_for("video")] == ["bytecount"]


def test_duplicate_name_is_refused():
    hashers = registry.HasherRegistry()
    hashers.register(ByteCountHasher())
    with pytest.raises(ValueError, match="'bytecount' is already registered"):
        hashers.register(ByteCountHasher())
    with pytest.raises(ValueError, match="already registered"):
        registry.register(PdqHasher())


def test_object_without_hash_is_refused():
    class Nameless:
        name = "broken"
        media = frozenset({"image"})

    with pytest.raises(ValueError, match="is not a hasher"):
        registry.HasherRegistry().register(Nameless())
