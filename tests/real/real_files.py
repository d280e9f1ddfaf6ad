"""Real files made by other projects, fetched by ``make testdata`` (never kept in the repo).

``pst-extractor`` (npm, MIT, by Ed Pfromer) ships two Outlook OST files that its author
made with an outlook.com test account: ``pstextractortest@outlook.com.ost`` (mail,
meetings and calendar items with PDF, JPEG, text, ``.ics`` and ``.url`` attachments and
the welcome mail's eleven PNGs) and ``pstextractortestpdf@outlook.com.ost`` (the PDF and
the PNGs). They are read from the package's tarball in place. The pictures in them are
other people's (a news photograph, Microsoft's welcome-mail images), so the project does
not redistribute them: ``make testdata`` fetches the package with npm by exact version
and checks its SHA-256, and a test that needs it fails (never skips) when it is absent.
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PST_EXTRACTOR = ROOT / ".cache" / "testdata" / "pst-extractor-1.12.0.tgz"
PST_EXTRACTOR_SHA256 = "c4c9eb9e75d09171452a4706df7d0e0e49606c1ca04aa81f30417dd385ad0e30"
OST_FULL = "pstextractortest@outlook.com.ost"
OST_PDF = "pstextractortestpdf@outlook.com.ost"


def pst_extractor_file(name: str) -> bytes:
    """The bytes of ``example/testdata/<name>`` in the pst-extractor 1.12.0 tarball."""
    if not PST_EXTRACTOR.exists():
        raise FileNotFoundError(f"{PST_EXTRACTOR} is missing: run `make testdata`")
    data = PST_EXTRACTOR.read_bytes()
    if hashlib.sha256(data).hexdigest() != PST_EXTRACTOR_SHA256:
        raise ValueError(f"{PST_EXTRACTOR} is not the pinned package (SHA-256 differs)")
    with tarfile.open(PST_EXTRACTOR) as tar:
        member = tar.extractfile(f"package/example/testdata/{name}")
        assert member is not None
        return member.read()
