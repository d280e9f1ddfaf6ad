"""User names and passwords the lab accepts.

Names are stored in Unicode NFC; a name with control or invisible characters, or with
spaces at its edges, is refused, and so is one that differs from an existing name only
in case or compatibility form ("Alice" next to "alice", a full-width "ａlice").
Passwords have at least ``MIN_PASSWORD`` characters, do not contain the name, and are
neither in the bundled list of common passwords (``common-passwords.txt``) nor one of
its words with digits or punctuation around it.
"""

from __future__ import annotations

import string
import unicodedata
from functools import cache
from pathlib import Path

from vigil.errors import UsageError

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_NAME = 100
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt")
# Unicode categories no name may hold: controls, format characters (zero-width space,
# joiners, direction marks), separators other than the plain space, unassigned, private.
_FORBIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_EDGES = string.digits + string.punctuation + " "


def login_key(name: str) -> str:
    """The form a name given at login is looked up in (NFC, bounded length).

    Args:
        name: What the person typed.

    Returns:
        The NFC text, cut to ``MAX_NAME`` characters plus one so it never matches.
    """
    return unicodedata.normalize("NFC", name[: MAX_NAME + 1])


def fold(name: str) -> str:
    """The look-alike key of a name: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def normalise_name(name: str) -> str:
    """Check a new user name and return it in NFC.

    Args:
        name: The proposed name.

    Returns:
        The name in NFC.

    Raises:
        UsageError: If it is empty, too long, has spaces at its edges or two in a row,
            or holds a control, invisible or separator character.
    """
    text = unicodedata.normalize("NFC", name)
    if not text or len(text) > MAX_NAME:
        raise UsageError(f"a user name must be 1-{MAX_NAME} characters")
    if text != text.strip() or text != " ".join(text.split()):
        raise UsageError("a user name may not start or end with spaces or hold two in a row")
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in _FORBIDDEN or (cat == "Zs" and ch != " "):
            raise UsageError(f"a user name may not hold the character U+{ord(ch):04X}")
    return text


@cache
def common_passwords() -> frozenset[str]:
    """The bundled common passwords and base words, case-folded."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(ln.strip().casefold() for ln in lines if ln.strip() and ln[0] != "#")


def check_password(password: str, name: str) -> None:
    """Refuse a password the policy does not allow.

    Args:
        password: The proposed password.
        name: The user's name.

    Raises:
        UsageError: With the reason, when the password is refused.
    """
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"a password may have at most {MAX_PASSWORD} characters")
    folded = fold(password)
    if len(fold(name)) >= 3 and fold(name) in folded:
        raise UsageError("a password may not contain the user name")
    if len(set(folded)) < 5:
        raise UsageError("a password needs at least 5 different characters")
    common = common_passwords()
    core = folded.strip(_EDGES)
    if folded in common or core in common:
        raise UsageError("this password is in the list of common passwords")
