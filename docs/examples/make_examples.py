"""Write the example reports in docs/examples/ from benign generated evidence.

Run from the repository root: ``.venv/bin/python docs/examples/make_examples.py``.

* ``demo/``: the demo case (procedurally drawn landscapes, a renamed copy, a zip, altered
  copies that match perceptually, two generated videos) scanned against the demo VICS set
  and a vPDQ video set, in every format, signed with a throw-away examiner key whose
  public half is written to ``examiner.pub``.
* ``disk-image/``: the generated MBR disk (FAT32, NTFS, exFAT partitions, deleted files,
  nested archives) from ``../shared``, scanned against the shared fixture VICS and NSRL
  sets: deleted entries, archive members and known-good files show up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vigil.demo import (
    add_altered_copies,
    build_demo_evidence,
    write_demo_hashsets,
    write_vpdq_file,
)

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / ".." / "shared"
DISK = SHARED / "fixtures" / "disk" / "generated" / "gen_mbr_disk.E01"
FIXTURE_SETS = SHARED / "fixtures" / "hashsets"
FORMATS = "json,csv,html,pdf,vics,vics-uk"


def vigil(home: Path, *args: str) -> None:
    """Run the real command line with ``home`` as VIGIL_HOME; stop on failure."""
    env = {**os.environ, "VIGIL_HOME": str(home), "VIGIL_EXAMINER": "example-examiner"}
    subprocess.run([sys.executable, "-m", "vigil", *args], env=env, check=True)


def main() -> None:
    """Build both example cases and write their reports beside this script."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        home = base / "home"
        evidence = base / "evidence"
        roles = build_demo_evidence(evidence)
        extra = add_altered_copies(evidence, roles)
        known, good = write_demo_hashsets(evidence, roles, base / "sets")
        video = write_vpdq_file(Path(extra["known_video"][0]), base / "sets" / "video.vpdq")
        uk = ["--scheme", "uk", "--category-map", "1=A,2=B,3=C"]
        vigil(home, "hashset", "import", str(known), "--name", "demo-known", *uk)
        vigil(home, "hashset", "import", str(video), "--name", "demo-known-video",
              "--format", "vpdq", "--scheme", "uk", "--grade", "B")  # fmt: skip
        vigil(home, "hashset", "import", str(good), "--name", "demo-known-good", "--known-good")
        vigil(home, "hashset", "import", str(FIXTURE_SETS / "vics_2.0_media.json"),
              "--name", "fixture-notable")  # fmt: skip
        vigil(home, "hashset", "import", str(FIXTURE_SETS / "NSRLFile.txt"),
              "--name", "fixture-nsrl")  # fmt: skip
        vigil(home, "keys", "new", "--out", str(base / "keys"))
        key = str(base / "keys" / "vigil-ed25519.key")
        shutil.copyfile(base / "keys" / "vigil-ed25519.pub", HERE / "examiner.pub")

        cases = [
            ("DEMO-001", "EX1", evidence, "Demo folder of benign generated pictures", "demo"),
            ("DISK-001", "HDD1", DISK.resolve(), "Generated MBR disk image (E01)", "disk-image"),
        ]
        for case, exhibit, path, description, folder in cases:
            db = f"sqlite:///{base / (case + '.sqlite')}"
            vigil(home, "scan", str(path), "--case", case, "--exhibit", exhibit, "-q", "--db", db)
            vigil(
                home, "case", "set", case, "--examiner", "A. Examiner",
                "--organisation", "Example Digital Forensics Unit",
                "--reference", f"EXAMPLE/{case}", "--db", db,
            )  # fmt: skip
            vigil(home, "exhibit", "set", case, exhibit, "--description", description, "--db", db)
            out = HERE / folder
            if out.exists():
                shutil.rmtree(out)
            vigil(
                home,
                "report",
                case,
                "--format",
                FORMATS,
                "--out",
                str(out),
                "--sign",
                key,
                "--db",
                db,
            )
            vigil(home, "report", "verify", str(out), "--key", str(HERE / "examiner.pub"))


if __name__ == "__main__":
    main()
