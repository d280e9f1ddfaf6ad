"""Where vigil keeps its hash-set library and default case stores."""

from __future__ import annotations

import os
from pathlib import Path


def vigil_home() -> Path:
    """``$VIGIL_HOME`` if set, else ``~/.local/share/vigil``; created if missing."""
    env = os.environ.get("VIGIL_HOME")
    home = Path(env) if env else Path.home() / ".local" / "share" / "vigil"
    home.mkdir(parents=True, exist_ok=True)
    return home
