"""``vigil demo``: generate benign evidence, a demo hash set, scan it, report it.

Everything here is drawn procedurally (skies, suns, hills, shapes) from a seed, so
the demo and the tests that reuse ``draw_landscape`` are reproducible and benign.
"""

from __future__ import annotations

import json
import random
import shutil
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter
from rich.console import Console

from vigil.hashing.crypto import digest_stream


def draw_landscape(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A benign procedurally drawn landscape: sky gradient, sun, hills, trees."""
    rng = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    top = (rng.randrange(40, 120), rng.randrange(80, 170), rng.randrange(170, 255))
    bottom = (rng.randrange(180, 255), rng.randrange(150, 230), rng.randrange(120, 220))
    for y in range(h):
        t = y / max(h - 1, 1)
        draw.line(
            [(0, y), (w, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    r = rng.randrange(h // 16 + 2, h // 6 + 3)
    cx, cy = rng.randrange(r, w - r), rng.randrange(r, h // 2)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, rng.randrange(180, 240), 90))
    for layer in range(3):
        base = int(h * (0.5 + 0.15 * layer))
        pts = [(0, h)]
        for x in range(0, w + 1, max(w // 12, 1)):
            pts.append((x, base + rng.randrange(-h // 8, h // 8 + 1)))
        pts.append((w, h))
        g = 60 + 50 * layer
        draw.polygon(
            pts, fill=(rng.randrange(20, 80), g + rng.randrange(0, 60), rng.randrange(20, 70))
        )
    for _ in range(rng.randrange(3, 9)):
        x, y = rng.randrange(0, w), rng.randrange(h // 2, h)
        s = rng.randrange(h // 30 + 2, h // 10 + 3)
        draw.rectangle([x - s // 6, y, x + s // 6, y + s], fill=(90, 60, 30))
        draw.ellipse(
            [x - s // 2, y - s, x + s // 2, y + s // 3], fill=(20, rng.randrange(90, 150), 40)
        )
    return img.filter(ImageFilter.GaussianBlur(0.6))


def _save(img: Image.Image, path: Path, fmt: str, **kw: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **kw)


def build_demo_evidence(folder: Path, seed: int = 2014) -> dict[str, list[str]]:
    """Write the demo evidence into ``folder``; return which files play which role."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    roles: dict[str, list[str]] = {"known_A": [], "known_B": [], "known_C": [], "known_good": []}
    pictures = folder / "Users" / "alex" / "Pictures"
    specs = [
        ("holiday/beach.jpg", "JPEG", (1024, 768)),
        ("holiday/hills.jpg", "JPEG", (800, 600)),
        ("holiday/sunset.png", "PNG", (640, 480)),
        ("misc/lake.gif", "GIF", (320, 240)),
        ("misc/valley.bmp", "BMP", (400, 300)),
        ("misc/forest.webp", "WEBP", (720, 540)),
        ("misc/meadow.tiff", "TIFF", (300, 200)),
        ("phone/IMG_0001.jpg", "JPEG", (1600, 1200)),
        ("phone/IMG_0002.jpg", "JPEG", (1200, 1600)),
        ("phone/IMG_0003.jpg", "JPEG", (640, 480)),
    ]
    for i, (rel, fmt, size) in enumerate(specs):
        img = draw_landscape(seed + i, size)
        kw = {"quality": 88} if fmt in ("JPEG", "WEBP") else {}
        _save(img, pictures / rel, fmt, **kw)
    # A picture renamed to hide it, a duplicate in another folder, a random ".jpg".
    docs = folder / "Users" / "alex" / "Documents"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pictures / "holiday/beach.jpg", docs / "tax-return-2019.dat")
    desktop = folder / "Users" / "alex" / "Desktop"
    desktop.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pictures / "phone/IMG_0001.jpg", desktop / "copy.jpg")
    (docs / "broken.jpg").write_bytes(rng.randbytes(5000))
    (docs / "notes.txt").write_text("Shopping list: bread, milk, eggs.\n", encoding="utf-8")
    (docs / "letter.txt").write_text(
        "Dear neighbour, the fence will be repaired on Monday.\n", encoding="utf-8"
    )
    system = folder / "Windows" / "System32"
    system.mkdir(parents=True, exist_ok=True)
    (system / "license.rtf").write_text("{\\rtf1 Demo licence text}\n", encoding="utf-8")
    (system / "readme.txt").write_text("Operating system readme (demo).\n", encoding="utf-8")
    with zipfile.ZipFile(docs / "backup.zip", "w") as zf:
        zf.writestr("old/scan-0001.jpg", (pictures / "phone/IMG_0003.jpg").read_bytes())
        zf.writestr("old/todo.txt", "renew passport\n")
    roles["known_A"] = ["Users/alex/Pictures/holiday/beach.jpg"]
    roles["known_B"] = [
        "Users/alex/Pictures/phone/IMG_0001.jpg",
        "Users/alex/Pictures/misc/lake.gif",
    ]
    roles["known_C"] = ["Users/alex/Pictures/phone/IMG_0003.jpg"]
    roles["known_good"] = ["Windows/System32/license.rtf", "Windows/System32/readme.txt"]
    return roles


def add_altered_copies(folder: Path, roles: dict[str, list[str]]) -> dict[str, list[str]]:
    """Altered copies of known pictures and two generated videos (benign, seeded).

    Each copy defeats MD5 but not PDQ: resized and recompressed, mirrored, rotated by
    90 degrees, letterboxed; one video shows a known picture for two seconds, another
    is a re-encoded, scaled copy of a known video (whose original is not in the
    evidence). Returns the roles of the new files.
    """
    import numpy as np

    from vigil.synthetic_video import Still, reencode, write_clip

    pictures = folder / "Users" / "alex" / "Pictures"
    downloads = folder / "Users" / "alex" / "Downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    with Image.open(pictures / "holiday/beach.jpg") as beach:
        small = beach.resize((512, 384), Image.Resampling.LANCZOS)
    small.save(downloads / "beach-small.jpg", "JPEG", quality=60)
    with Image.open(pictures / "phone/IMG_0003.jpg") as img3:
        img3.load()
        img3.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(downloads / "mirror.png", "PNG")
        still = np.asarray(img3.resize((320, 240), Image.Resampling.LANCZOS).convert("RGB"))
    with Image.open(pictures / "phone/IMG_0001.jpg") as img1:
        sideways = img1.transpose(Image.Transpose.ROTATE_90)
    sideways.save(downloads / "sideways.jpg", "JPEG", quality=85)
    with Image.open(pictures / "misc/lake.gif") as gif:
        lake = gif.convert("RGB")
    boxed = Image.new("RGB", (lake.width, lake.height + 120), (0, 0, 0))
    boxed.paste(lake, (0, 60))
    boxed.save(downloads / "lake-letterbox.png", "PNG")
    videos = folder / "Users" / "alex" / "Videos"
    videos.mkdir(parents=True, exist_ok=True)
    write_clip(
        videos / "garden.mp4", seconds=6.0, fps=25, seed=5, gop=25, still=Still(still, 2.0, 4.0)
    )
    write_clip(videos / "street.mp4", seconds=4.0, fps=25, seed=9, gop=25)
    known_video = folder.parent / "known-video-original.mp4"
    write_clip(known_video, width=480, height=360, seconds=6.0, fps=25, seed=21, gop=25)
    reencode(known_video, videos / "clip-copy.mp4", width=320, height=240, bit_rate=300_000)
    return {
        "altered_A": ["Users/alex/Downloads/beach-small.jpg"],
        "altered_B": [
            "Users/alex/Downloads/sideways.jpg",
            "Users/alex/Downloads/lake-letterbox.png",
        ],
        "altered_C": ["Users/alex/Downloads/mirror.png", "Users/alex/Videos/garden.mp4"],
        "known_video": [str(known_video)],
    }


def write_demo_hashsets(
    evidence: Path, roles: dict[str, list[str]], folder: Path
) -> tuple[Path, Path]:
    """A VICS 2.0 (UK flavour) notable set and an md5sum known-good list for the demo.

    The VICS entries carry the PDQ hash (reference mode, as national sets compute it)
    in ``AlternativeHashes``, so altered copies match perceptually.
    """
    from vigil.hashing.pdq import pdq_for_file

    folder.mkdir(parents=True, exist_ok=True)
    media = []
    for category, key in ((1, "known_A"), (2, "known_B"), (3, "known_C")):
        for rel in roles[key]:
            with (evidence / rel).open("rb") as f:
                d = digest_stream(f)
            media.append(
                {
                    "MediaID": len(media) + 1,
                    "Category": category,
                    "MD5": d.md5.upper(),
                    "SHA1": d.sha1.upper(),
                    "MediaSize": d.size,
                    "IsPrecategorized": "true",
                    "AlternativeHashes": [
                        {
                            "HashName": "PDQ",
                            "HashValue": pdq_for_file(evidence / rel, "reference").hash,
                        }
                    ],
                }
            )
    vics = folder / "demo-known.json"
    doc = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Media",
        "value": media,
    }
    vics.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc, indent=1).encode())
    good = folder / "demo-known-good.md5"
    lines = []
    for rel in roles["known_good"]:
        with (evidence / rel).open("rb") as f:
            lines.append(f"{digest_stream(f).md5}  {Path(rel).name}\n")
    good.write_text("".join(lines), encoding="utf-8")
    return vics, good


def write_vpdq_file(video: Path, out: Path) -> Path:
    """Hash ``video`` at one frame per second and write it in Meta's vPDQ text format."""
    from vigil.hashing.video import hash_video

    result = hash_video(video)
    lines = [f"{n},{f.quality},{f.pdq},{f.timestamp:.3f}\n" for n, f in enumerate(result.frames)]
    out.write_text("".join(lines), encoding="utf-8")
    return out


def run_demo(out: Path, console: Console | None = None) -> Path:
    """Build the demo in ``out`` (wiped first) and return the report folder."""
    from vigil.hashsets.library import HashSetLibrary
    from vigil.pipeline.scan import ScanSettings, run_scan
    from vigil.pipeline.setup import build_matchers, hashset_records
    from vigil.report.build import build_report
    from vigil.report.publish import write_outputs
    from vigil.store.api import CaseStore

    console = console or Console()
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    evidence, home = out / "evidence", out / "home"
    home.mkdir(parents=True)
    roles = build_demo_evidence(evidence)
    extra = add_altered_copies(evidence, roles)
    console.print(f"benign demo evidence written to {evidence}")
    vics, good = write_demo_hashsets(evidence, roles, out / "hashsets")
    vpdq = write_vpdq_file(Path(extra["known_video"][0]), out / "hashsets" / "demo-video.vpdq")
    lib = HashSetLibrary(home)
    res = lib.import_file(vics, "demo-known", fmt="vics", scheme="uk", category_map="1=A,2=B,3=C")
    console.print(f"imported hash set demo-known: {res.entries} entries ({res.mapping_note})")
    res = lib.import_file(vpdq, "demo-known-video", fmt="vpdq", scheme="uk", grade="B")
    console.print(f"imported hash set demo-known-video: {res.entries} video (vPDQ, grade B)")
    res = lib.import_file(good, "demo-known-good", fmt="md5sum", known_good=True)
    console.print(f"imported hash set demo-known-good: {res.entries} entries (known-good)")
    settings = ScanSettings()
    build_matchers(home, settings)
    store = CaseStore(f"sqlite:///{out / 'demo-case.sqlite'}")
    summary = run_scan(
        store,
        "DEMO-001",
        "EX1",
        evidence,
        settings,
        home,
        hashset_records(lib, ()),
        workers=2,
    )
    console.print(
        f"scanned {summary.items} items, {summary.matches} matches, {summary.errors} errors"
    )
    report_dir = out / "report"
    write_outputs(build_report(store, "DEMO-001"), ["html", "pdf", "json", "csv"], report_dir)
    store.close()
    return report_dir
