"""Recall and false positives of vigil's perceptual matching against a PDQ-only bank.

A benign generated photo set: photo-like scenes (``corpus.photo``) and drawn landscapes
(``vigil.demo.draw_landscape``), at mixed sizes, every picture from its own seed. The
*known* pictures and many *other* pictures go into a PDQ-only hash set (reference-mode
PDQ, as an agency computes it with Meta's pipeline), imported into a real hash-set
library; a further set of pictures is never in the bank. Queries go through what a scan
runs: ``pdq_for_file`` in the scan's mode (with every query variant) and the
``PerceptualMatcher`` of the library (distance <= 31, quality >= 50).

- Recall: each known picture's 17 edits (``benchmarks/edits.py``) must match its own
  entry; per edit and overall.
- False positives: a match of any query (every edit and every never-banked picture) to
  an entry of a different picture, over all (query, entry of another picture) pairs.
- Cost: seconds per query picture for hashing (decode, PDQ, variants) and for matching.

- A case (``--case 50``): 20 edits each of 50 known pictures scanned and reported by
  ``vigil`` as processes; every match must be counted.
- A lab bank (``--lab``): the same figures when the bank also holds each picture's
  region signature (``vigil.matching.lab_regions``), plus picture-in-picture copies.
- Sub-window PDQ (``--regions 20``): how finely PDQs of sub-windows of the known
  pictures would have to be sampled to find the crops.

    python benchmarks/recall.py [--known 100] [--others 600] [--unbanked 300]
    python benchmarks/recall.py --case 50
    python benchmarks/recall.py --lab [--known 100] [--others 600] [--unbanked 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402
import edits  # noqa: E402
from vigil.demo import draw_landscape  # noqa: E402
from vigil.hashing.pdq import hamming, pdq_for_file  # noqa: E402
from vigil.model import Hashes  # noqa: E402

SIZES = ((1024, 768), (800, 600), (1280, 720), (960, 640), (768, 1024), (640, 480))


def picture(index: int) -> Image.Image:
    """Photo set picture ``index``: a photo-like scene or a drawn landscape, own seed."""
    size = SIZES[index % len(SIZES)]
    if index % 2:
        return draw_landscape(90_000 + index, size)
    return corpus.photo(90_000 + index, *size)


@dataclass
class Tally:
    """What the queries found, with one set of query variants."""

    found: Counter[str] = field(default_factory=Counter)
    tried: Counter[str] = field(default_factory=Counter)
    variants: Counter[str] = field(default_factory=Counter)
    false: list[tuple[str, int, int, str | None, int | None]] = field(default_factory=list)

    def json(self, pairs: int) -> dict[str, object]:
        total, tried = sum(self.found.values()), sum(self.tried.values())
        return {
            "recall": round(total / tried, 4),
            "found": total,
            "tried": tried,
            "per_edit": {n: f"{self.found[n]}/{self.tried[n]}" for n in edits.EDITS},
            "variants": dict(self.variants.most_common()),
            "false_positives": len(self.false),
            "false_examples": self.false[:10],
            "different_picture_pairs": pairs,
        }


def _hashes(data: bytes, mode: str, tilts: bool = True, uncrops: bool | str = True) -> Hashes:
    result = pdq_for_file(data, mode, tilts=tilts, uncrops=uncrops)  # type: ignore[arg-type]
    return Hashes(
        size=len(data),
        md5="",
        sha1="",
        sha256="",
        media="image",
        pdq=result.hash,
        pdq_quality=result.quality,
        pdq_variants=dict(result.variants),
    )


def _without(hashes: Hashes, *prefixes: str) -> Hashes:
    """``hashes`` without the variants whose names start with one of ``prefixes``."""
    kept = {k: v for k, v in hashes.pdq_variants.items() if not k.startswith(prefixes)}
    return replace(hashes, pdq_variants=kept)


def build_bank(home: Path, count: int) -> dict[int, int]:
    """Hash ``count`` pictures (reference mode) into a PDQ list, import it; entry -> picture."""
    from vigil.hashsets.library import HashSetLibrary

    listing = home / "bank.txt"
    by_hash: dict[str, int] = {}
    with listing.open("w", encoding="utf-8") as out:
        for index in range(count):
            value = pdq_for_file(corpus.jpeg_bytes(picture(index), 92), "reference").hash
            assert value is not None
            by_hash.setdefault(value, index)
            out.write(f"{value}\n")
    library = HashSetLibrary(home)
    library.import_file(listing, "bank", fmt="pdq", scheme="uk", grade="A")
    return {entry_id: by_hash[pdq] for entry_id, _, pdq, _ in library.entries_with_pdq()}


def _score(tally: Tally, matches, entries: dict[int, int], edit: str, index: int) -> None:
    if edit != "unbanked":
        tally.tried[edit] += 1
    for m in matches:
        if entries[m.entry_id] == index:
            tally.found[edit] += 1
            tally.variants["regions" if m.algorithm == "orb-regions" else m.variant or "?"] += 1
        else:
            tally.false.append((edit, index, entries[m.entry_id], m.variant, m.distance))


def best_ms(call, repeats: int = 5) -> float:
    """Milliseconds of the fastest of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return round(1000 * min(times), 2)


def jpeg_1080p() -> bytes:
    """The 1080p JPEG that costs are measured on."""
    return corpus.jpeg_bytes(corpus.photo(4242, 1920, 1080), 90)


def cost_1080p() -> dict[str, float]:
    """Milliseconds per 1080p JPEG, best of 5: full decode, hash without and with the
    tilt variants (the scan's fast mode, every other variant included)."""
    from vigil.hashing.decode import decode

    data = jpeg_1080p()
    best = best_ms
    return {
        "full_decode_ms": best(lambda: decode(data)),
        "fast_pdq_neither_ms": best(
            lambda: pdq_for_file(data, "fast", tilts=False, uncrops=False)
        ),
        "fast_pdq_tilts_only_ms": best(lambda: pdq_for_file(data, "fast", uncrops=False)),
        "fast_pdq_default_uncrops_ms": best(lambda: pdq_for_file(data, "fast", uncrops="default")),
        "fast_pdq_all_variants_ms": best(lambda: pdq_for_file(data, "fast")),
    }


def _cost(mode: str, sample: list[bytes], tilts: bool, uncrops: bool | str) -> float:
    start = time.perf_counter()
    for data in sample:
        _hashes(data, mode, tilts, uncrops)
    return (time.perf_counter() - start) / len(sample)


def run(known: int, others: int, unbanked: int, mode: str, costs: bool = True) -> dict[str, object]:
    """Build the bank, query every edit and every unbanked picture; the figures.

    Every query is hashed once with all variants and matched five times: with them all,
    with only the default six ``uncrop`` variants (what a scan queries by default),
    without the ``uncrop`` variants, without the ``tilt`` variants, and without either
    (what the matcher did before them). ``costs=False`` leaves out the timings (for a
    counting run outside the benchmark lock).
    """
    from vigil.hashing.pdq_uncrops import placements
    from vigil.hashsets.library import HashSetLibrary
    from vigil.matching.perceptual import PerceptualMatcher

    tallies = {
        "all_variants": Tally(),
        "default_uncrops": Tally(),
        "without_uncrops": Tally(),
        "without_tilts": Tally(),
        "neither": Tally(),
    }
    default = {f"uncrop{c * 100:.0f}-y{y * 100:.0f}x{x * 100:.0f}"
               for c, y, x in placements("default")}  # fmt: skip
    strip = {
        "all_variants": (),
        "without_uncrops": ("uncrop",),
        "without_tilts": ("tilt",),
        "neither": ("tilt", "uncrop"),
    }
    match_seconds, queries = 0.0, 0
    with tempfile.TemporaryDirectory(prefix="court-recall-") as tmp:
        home = Path(tmp)
        os.environ["VIGIL_HOME"] = str(home)
        start = time.perf_counter()
        entries = build_bank(home, known + others)
        bank_seconds = time.perf_counter() - start
        matcher = PerceptualMatcher(HashSetLibrary(home), None)
        files = [
            (name, index, data)
            for index in range(known)
            for name, data in edits.edited(picture(index)).items()
        ]
        files += [
            ("unbanked", index, corpus.jpeg_bytes(picture(index), 88))
            for index in range(known + others, known + others + unbanked)
        ]
        for name, index, data in files:
            hashes = _hashes(data, mode)
            t0 = time.perf_counter()
            found = matcher.match_picture(hashes)
            match_seconds += time.perf_counter() - t0
            queries += 1
            _score(tallies["all_variants"], found, entries, name, index)
            kept = {k: v for k, v in hashes.pdq_variants.items()
                    if not k.startswith("uncrop") or k in default}  # fmt: skip
            fewer = matcher.match_picture(replace(hashes, pdq_variants=kept))
            _score(tallies["default_uncrops"], fewer, entries, name, index)
            for tally, prefixes in strip.items():
                if prefixes:
                    fewer = matcher.match_picture(_without(hashes, *prefixes))
                    _score(tallies[tally], fewer, entries, name, index)
    bank = known + others
    pairs = known * len(edits.EDITS) * (bank - 1) + unbanked * bank
    result: dict[str, object] = {
        "mode": mode,
        "known": known,
        "bank": bank,
        "unbanked": unbanked,
        **{name: tally.json(pairs) for name, tally in tallies.items()},
    }
    if costs:
        result.update(hash_costs(mode))
        result["match_seconds_per_picture"] = round(match_seconds / max(1, queries), 5)
        result["bank_seconds"] = round(bank_seconds, 1)
    return result


def hash_costs(mode: str) -> dict[str, object]:
    """Hashing seconds per query picture (68 edits of 4 pictures) and milliseconds per
    1080p JPEG, for each set of query variants."""
    sample = [data for i in range(4) for data in edits.edited(picture(i)).values()]
    return {
        "hash_seconds_per_picture": {
            "all_variants": round(_cost(mode, sample, True, True), 4),
            "default_uncrops": round(_cost(mode, sample, True, "default"), 4),
            "tilts_only": round(_cost(mode, sample, True, False), 4),
            "neither": round(_cost(mode, sample, False, False), 4),
        },
        "cost_1080p": cost_1080p(),
    }


def run_lab(known: int, others: int, unbanked: int) -> dict[str, object]:
    """Recall and false positives against a lab bank: PDQ and region signatures.

    The same bank as ``run`` (reference-mode PDQ imported into the library), and each
    picture's region signature in the set's region index (``LabRegions``, from the full
    decode, as a lab adds a graded picture). A query is what a scan has: its fast-mode
    PDQ with every variant through ``PerceptualMatcher``, and its reduced decode
    (``FAST_MIN_SIDE``) through ``RegionMatcher``; it is found if either finds it. The
    17 edits plus ``edits.LAB_EDITS`` (picture-in-picture).
    """
    from vigil.hashing.decode import decode
    from vigil.hashing.pdq import FAST_MIN_SIDE
    from vigil.hashsets.library import HashSetLibrary
    from vigil.matching.lab_regions import LabRegions, RegionMatcher
    from vigil.matching.perceptual import PerceptualMatcher

    names = [*edits.EDITS, *edits.LAB_EDITS]
    tallies = {"lab_bank": Tally(), "pdq_only": Tally(), "regions_only": Tally()}
    region_seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="robust-lab-") as tmp:
        home = Path(tmp)
        os.environ["VIGIL_HOME"] = str(home)
        start = time.perf_counter()
        entries = build_bank(home, known + others)
        library = HashSetLibrary(home)
        regions = LabRegions(library, "bank")
        entry_of = {index: entry_id for entry_id, index in sorted(entries.items(), reverse=True)}
        for index in range(known + others):
            pixels = decode(corpus.jpeg_bytes(picture(index), 92)).pixels
            regions.add(entry_of[index], pixels)
        regions.save()
        bank_seconds = time.perf_counter() - start
        pdq_matcher = PerceptualMatcher(library, None)
        region_matcher = RegionMatcher(library, None)
        files = []
        for index in range(known):
            image = picture(index).convert("RGB")
            copies = {**edits.edited(image), **{k: e(image) for k, e in edits.LAB_EDITS.items()}}
            files += [(name, index, data) for name, data in copies.items()]
        files += [
            ("unbanked", index, corpus.jpeg_bytes(picture(index), 88))
            for index in range(known + others, known + others + unbanked)
        ]
        for name, index, data in files:
            by_pdq = pdq_matcher.match_picture(_hashes(data, "fast"))
            reduced = decode(data, min_side=FAST_MIN_SIDE).pixels
            t0 = time.perf_counter()
            by_regions = region_matcher.match_pixels(reduced)
            region_seconds.append(time.perf_counter() - t0)
            seen = {m.entry_id for m in by_pdq}
            both = by_pdq + [m for m in by_regions if m.entry_id not in seen]
            for tally, found in (("lab_bank", both), ("pdq_only", by_pdq),
                                 ("regions_only", by_regions)):  # fmt: skip
                _score(tallies[tally], found, entries, name, index)
        cost = _region_cost_1080p(region_matcher)
    bank = known + others
    pairs = known * len(names) * (bank - 1) + unbanked * bank
    ms = 1000 * np.array(region_seconds)
    result: dict[str, object] = {"known": known, "bank": bank, "unbanked": unbanked}
    for tally_name, tally in tallies.items():
        figures = tally.json(pairs)
        figures["per_edit"] = {n: f"{tally.found[n]}/{tally.tried[n]}" for n in names}
        result[tally_name] = figures
    result["region_query_ms"] = {
        "mean": round(float(ms.mean()), 2),
        "p95": round(float(np.percentile(ms, 95)), 2),
    }
    result["cost_1080p"] = cost
    result["bank_seconds"] = round(bank_seconds, 1)
    return result


def _region_cost_1080p(matcher) -> dict[str, float]:
    """Milliseconds on a 1080p JPEG, best of 5: its full decode, its reduced decode, and
    the region query on the reduced decode (what a scan adds)."""
    from vigil.hashing.decode import decode
    from vigil.hashing.pdq import FAST_MIN_SIDE

    data = jpeg_1080p()
    reduced = decode(data, min_side=FAST_MIN_SIDE).pixels
    best = best_ms
    return {
        "full_decode_ms": best(lambda: decode(data)),
        "reduced_decode_ms": best(lambda: decode(data, min_side=FAST_MIN_SIDE)),
        "region_query_ms": best(lambda: matcher.match_pixels(reduced)),
    }


# Three more edits for the case, so that each known picture has 20 copies.
CASE_EXTRA = {
    "recompress60": lambda im: corpus.jpeg_bytes(im, 60),
    "resize75": lambda im: corpus.jpeg_bytes(im.resize((im.width * 3 // 4, im.height * 3 // 4))),
    "rot270": lambda im: corpus.jpeg_bytes(im.transpose(Image.Transpose.ROTATE_270)),
}


def case(pictures: int) -> dict[str, object]:
    """A case of 20 edits each of ``pictures`` known pictures, through ``vigil`` itself.

    The known pictures' reference PDQ go into a PDQ list graded A; ``vigil scan`` and
    ``vigil report`` run as processes. Every edit that matches its picture must be
    counted under A, and no entry may be suspect.
    """
    with tempfile.TemporaryDirectory(prefix="court-case-") as tmp:
        base = Path(tmp)
        evidence, home = base / "evidence", base / "home"
        home.mkdir()
        listing = base / "known.txt"
        with listing.open("w", encoding="utf-8") as out:
            for index in range(pictures):
                image = picture(index)
                out.write(f"{pdq_for_file(corpus.jpeg_bytes(image, 92), 'reference').hash}\n")
                folder = evidence / f"picture-{index:03d}"
                folder.mkdir(parents=True)
                copies = {**edits.edited(image), **{k: e(image) for k, e in CASE_EXTRA.items()}}
                for name, data in copies.items():
                    (folder / f"{name}.jpg").write_bytes(data)
        env = {**os.environ, "VIGIL_HOME": str(home)}
        vigil = [sys.executable, "-m", "vigil"]

        def call(*args: str) -> None:
            subprocess.run([*vigil, *args], env=env, check=True, capture_output=True)

        call("hashset", "import", str(listing), "--name", "known", "--format", "pdq",
             "--scheme", "uk", "--grade", "A")  # fmt: skip
        start = time.perf_counter()
        call("scan", str(evidence), "--case", "C", "--exhibit", "E1", "-q")
        scan_seconds = time.perf_counter() - start
        call("report", "C", "--format", "json", "--out", str(base / "report"))
        report = json.loads((base / "report" / "report.json").read_text())
    items = report["items"]
    matched = [i for i in items if i["match"]]
    counted = [i for i in matched if i["status"] == "graded" and not i["match"]["suspect"]]
    grades = {g["grade"]: g["images"] for g in report["totals"]["grades"]}
    pictures_in_case = report["flood_policy"]["pictures"]
    per_entry = Counter(i["match"]["entry_id"] for i in matched)
    # The rule before: an entry matching more than 1% of the pictures (and >= 3) floods.
    old_rule_left_out = sum(n for n in per_entry.values() if n >= 3 and n / pictures_in_case > 0.01)
    return {
        "known_pictures": pictures,
        "copies": len(items),
        "matched": len(matched),
        "counted_under_A": grades.get("A", {}).get("distinct", 0),
        "counted_items": len(counted),
        "suspect_entries": len(report["suspect_entries"]),
        "copied_entries": len(report["copied_entries"]),
        "groups_per_copied_entry": dict(Counter(e["groups"] for e in report["copied_entries"])),
        "old_rule_would_leave_out": old_rule_left_out,
        "scan_seconds": round(scan_seconds, 1),
    }


def regions(pictures: int) -> dict[str, object]:
    """How finely a bank of sub-window PDQs would have to sample to find the crops.

    For each crop edit of ``pictures`` known pictures: the smallest distance between the
    cropped copy's PDQ and the PDQ of windows of the original of the crop's own size,
    at offsets on a grid of 2.5% and of 1.25% of the sides (the crops are off-centre by a
    quarter of their margin: 1.25%, 2.5% and 5%). An upper bound on what region
    signatures of plain PDQ can do with the size known exactly.
    """
    from vigil.hashing import pdq_core

    crops = {"crop5": 0.05, "crop10": 0.10, "crop20": 0.20}
    found: dict[str, dict[str, list[int]]] = {}
    for index in range(pictures):
        image = picture(index)
        grey = pdq_core.luma(np.asarray(image))
        h, w = grey.shape
        copies = edits.edited(image)
        for name, share in crops.items():
            query = pdq_for_file(copies[name]).hash
            size = round(h * (1 - share)), round(w * (1 - share))
            for step in (0.025, 0.0125):
                offsets = np.arange(0, share + 1e-9, step)
                best = min(
                    hamming(query, pdq_core.block_to_hex(pdq_core.hash_grey(
                        grey[round(h * oy) : round(h * oy) + size[0],
                             round(w * ox) : round(w * ox) + size[1]])[0]))
                    for ox in offsets for oy in offsets
                )  # fmt: skip
                found.setdefault(f"grid {step:.2%}", {}).setdefault(name, []).append(best)
    return {
        grid: {
            name: {"median": int(np.median(d)), "max": max(d), "within 31": sum(x <= 31 for x in d)}
            for name, d in per.items()
        }
        for grid, per in found.items()
    }


def placed_crop(image: Image.Image, share: float, split_y: float, split_x: float) -> bytes:
    """``image`` cropped by ``share`` of each side, ``split_y`` / ``split_x`` of the cut
    taken from the top / left (``edits`` crops at 0.25, 0.25), as a JPEG."""
    w, h = image.size
    cut_w, cut_h = round(w * share), round(h * share)
    left, top = round(cut_w * split_x), round(cut_h * split_y)
    return corpus.jpeg_bytes(image.crop((left, top, w - (cut_w - left), h - (cut_h - top))), 90)


def uncrop_choice(pictures: int, first: int = 0) -> dict[str, object]:
    """Which ``uncrop`` variants earn their keep, on crops placed anywhere.

    For each of ``pictures`` photo-set pictures (from ``first``): 5% and 10% crops with
    the cut split 1:3, 1:1 and 3:1 on each axis (9 placements each; ``edits`` has only
    the 1:3, 1:3 one), every uncrop variant's PDQ distance to the picture's own
    reference PDQ. Per variant: the crops it brings within 31 bits. Then a greedy pick
    (the variant adding most crops not yet found, in turn) and what each prefix finds.
    """
    from vigil.hashing.pdq_uncrops import SHARES, SPLITS

    hits: dict[str, set[tuple[int, str]]] = {}
    crops: list[str] = []
    for index in range(first, first + pictures):
        image = picture(index).convert("RGB")
        original = pdq_for_file(corpus.jpeg_bytes(image, 92), "reference").hash
        for share in SHARES:
            for split_y in SPLITS:
                for split_x in SPLITS:
                    crop = f"crop{share * 100:.0f}-y{split_y * 100:.0f}x{split_x * 100:.0f}"
                    crops.append(crop)
                    result = pdq_for_file(placed_crop(image, share, split_y, split_x), "fast")
                    for name, value in result.variants.items():
                        if name.startswith("uncrop") and hamming(value, original) <= 31:
                            hits.setdefault(name, set()).add((index, crop))
    per_crop = Counter(crops)
    total = sum(per_crop.values())
    found: set[tuple[int, str]] = set()
    picked = []
    remaining = dict(hits)
    while remaining:
        name = max(sorted(remaining), key=lambda n: len(remaining[n] - found))
        gain = remaining.pop(name) - found
        if not gain:
            break
        found |= gain
        picked.append({"variant": name, "adds": len(gain), "found": f"{len(found)}/{total}"})
    return {
        "pictures": pictures,
        "crops": total,
        "per_variant": {n: len(h) for n, h in sorted(hits.items(), key=lambda kv: -len(kv[1]))},
        "per_variant_and_crop": {
            n: dict(Counter(crop for _, crop in h).most_common()) for n, h in sorted(hits.items())
        },
        "greedy": picked,
    }


def main() -> None:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--known", type=int, default=100, help="known pictures (17 edits each)")
    parser.add_argument("--others", type=int, default=600, help="other pictures in the bank")
    parser.add_argument("--unbanked", type=int, default=300, help="pictures never in the bank")
    parser.add_argument("--mode", default="fast", choices=["fast", "reference"])
    parser.add_argument(
        "--case", type=int, metavar="N", help="instead: a case of 20 edits each of N pictures"
    )
    parser.add_argument(
        "--lab", action="store_true", help="instead: against a lab bank (PDQ and regions)"
    )
    parser.add_argument(
        "--regions", type=int, metavar="N", help="instead: sub-window PDQ against N pictures' crops"
    )
    parser.add_argument(
        "--uncrop-choice", type=int, metavar="N", help="instead: per-variant hits on N pictures"
    )
    parser.add_argument("--first", type=int, default=0, help="with --uncrop-choice: first picture")
    parser.add_argument("--no-costs", action="store_true", help="counts only, no timings")
    parser.add_argument("--costs", action="store_true", help="instead: hashing costs only")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}", file=sys.stderr)
    if args.case:
        result = case(args.case)
    elif args.uncrop_choice:
        result = uncrop_choice(args.uncrop_choice, args.first)
    elif args.regions:
        result = regions(args.regions)
    elif args.lab:
        result = run_lab(args.known, args.others, args.unbanked)
    elif args.costs:
        result = hash_costs(args.mode)
    else:
        result = run(args.known, args.others, args.unbanked, args.mode, not args.no_costs)
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
