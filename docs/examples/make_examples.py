"""Write the example reports in docs/examples/ from benign generated evidence.

Run from the repository root: ``.venv/bin/python docs/examples/make_examples.py``.

* ``demo/``: the demo case (procedurally drawn landscapes, a renamed copy, a zip) scanned
  against the demo VICS set, in every format, signed with a throw-away examiner key whose
  public half is written to ``examiner.pub``.
* ``disk-image/``: the generated NTFS test image from ``../shared`` (when the disk-image
  source is present), scanned against the same set: deleted entries and errors show up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vigil.demo import build_demo_evidence, write_demo_hashsets

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / ".." / "shared"
NTFS = SHARED / "fixtures" / "disk" / "generated" / "gen_ntfs.raw"
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
        known, good = write_demo_hashsets(evidence, roles, base / "sets")
        uk = ["--scheme", "uk", "--category-map", "1=A,2=B,3=C"]
        vigil(home, "hashset", "import", str(known), "--name", "demo-known", *uk)
        vigil(home, "hashset", "import", str(good), "--name", "demo-known-good", "--known-good")
        vigil(home, "keys", "new", "--out", str(base / "keys"))
        key = str(base / "keys" / "vigil-ed25519.key")
        shutil.copyfile(base / "keys" / "vigil-ed25519.pub", HERE / "examiner.pub")

        cases = [("DEMO-001", "EX1", evidence, "Demo folder of benign generated pictures", "demo")]
        if (
            HERE.parents[1] / "src" / "vigil" / "sources" / "image.py"
        ).is_file() and NTFS.is_file():
            cases.append(
                ("DISK-001", "HDD1", NTFS.resolve(), "Generated NTFS test image", "disk-image")
            )
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
