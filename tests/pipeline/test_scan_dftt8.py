"""End-to-end `vigil scan --carve` of the DFTT-#8-like NTFS image: every picture, no decoy."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests_support import run_vigil


def _build(folder: Path) -> tuple[Path, dict]:
    path = Path(__file__).resolve().parents[1] / "sources" / "build_dftt8.py"
    spec = importlib.util.spec_from_file_location("build_dftt8_e2e", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    image = module.build(folder, seed=8)
    return image, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    base = tmp_path_factory.mktemp("dftt8-e2e")
    image, manifest = _build(base / "image")
    home = base / "home"
    home.mkdir()
    run_vigil(["scan", str(image), "--case", "D8", "--exhibit", "X", "--carve", "-q"], home)
    run_vigil(["report", "D8", "--format", "json", "--out", str(base / "rep")], home)
    report = json.loads((base / "rep" / "report.json").read_text())
    return {i["path"]: i for i in report["items"]}, manifest


def test_every_picture_is_reported_with_its_provenance(scanned: tuple[dict, dict]) -> None:
    items, manifest = scanned
    pictures = {p: i["md5"] for p, i in items.items() if i["media"] == "image"}
    assert {p: pictures.get(p) for p in manifest["pictures"]} == manifest["pictures"]
    # Carving finds the deleted pictures' freed clusters again; nothing else is extra.
    deleted_md5 = {manifest["pictures"][p] for p in manifest["deleted"]}
    extra = {p: m for p, m in pictures.items() if p not in manifest["pictures"]}
    assert all(p.startswith("NTFS/$Unallocated@") for p in extra)
    assert set(extra.values()) <= deleted_md5
    for path in manifest["deleted"]:
        assert items[path]["flags"]["deleted"]
    carved = items[f"NTFS/$Unallocated@{manifest['unallocated_offset']}"]
    assert carved["flags"]["carved"] and carved["offset"] == manifest["unallocated_offset"]


def test_no_decoy_is_a_picture(scanned: tuple[dict, dict]) -> None:
    items, manifest = scanned
    assert [items[d]["media"] for d in manifest["decoys"]] == ["other"] * len(manifest["decoys"])
