"""Grading schemes (data in ``schemes/*.json``) and source-category mapping policy."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

from vigil.errors import UsageError

UNCATEGORISED = "none"


@dataclass(frozen=True)
class Grade:
    """One grade of a scheme; ``indecent`` says whether it counts as indecent."""

    code: str
    label: str
    indecent: bool


@dataclass(frozen=True)
class Scheme:
    """A named grading scheme, e.g. ``uk`` (A, B, C, N) or ``projectvic`` (0-4).

    ``grades`` are listed most severe first; reports rank matches by that order.
    """

    name: str
    grades: list[Grade] = field(default_factory=list)
    title: str = ""

    def codes(self) -> list[str]:
        """Return the grade codes in scheme order."""
        return [grade.code for grade in self.grades]

    def grade(self, code: str) -> Grade:
        """Look up a grade by code.

        Args:
            code: A grade code of this scheme.

        Returns:
            The grade.

        Raises:
            UsageError: If the scheme has no such grade.
        """
        for grade in self.grades:
            if grade.code == code:
                return grade
        raise UsageError(
            f"grade {code!r} is not in scheme {self.name!r} (grades: {', '.join(self.codes())})"
        )


def available_schemes() -> list[str]:
    """Return the names of the schemes shipped with vigil."""
    folder = resources.files("vigil.hashsets").joinpath("schemes")
    names = (p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))
    return sorted(names)


def load_scheme(name: str) -> Scheme:
    """Load a grading scheme by name.

    Args:
        name: ``uk`` or ``projectvic`` (any ``schemes/<name>.json``).

    Returns:
        The scheme.

    Raises:
        UsageError: If there is no scheme of that name.
    """
    if name not in available_schemes():
        known = ", ".join(available_schemes())
        raise UsageError(f"unknown grading scheme {name!r} (known: {known})")
    source = resources.files("vigil.hashsets").joinpath("schemes", f"{name}.json")
    data = json.loads(source.read_text(encoding="utf-8"))
    grades = [Grade(str(g["code"]), str(g["label"]), bool(g["indecent"])) for g in data["grades"]]
    return Scheme(name=data["name"], grades=grades, title=data.get("title", ""))


def parse_category_map(spec: str, scheme: Scheme) -> dict[str, str | None]:
    """Parse a ``--category-map`` value such as ``"1=A,2=B,3=C,0=none"``.

    Args:
        spec: Comma-separated ``source=grade`` pairs; ``none`` means uncategorised.
        scheme: The scheme the grades must belong to.

    Returns:
        Source category (as text) to grade code, or None for uncategorised.

    Raises:
        UsageError: If a pair is malformed, a category repeats or a grade is unknown.
    """
    mapping: dict[str, str | None] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        source, sep, target = part.partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target:
            raise UsageError(f"--category-map item {part.strip()!r} is not 'category=grade'")
        if source in mapping:
            raise UsageError(f"--category-map names category {source!r} twice")
        if target.lower() == UNCATEGORISED:
            mapping[source] = None
        else:
            mapping[source] = scheme.grade(target).code
    if not mapping:
        raise UsageError("--category-map is empty; example: 1=A,2=B,3=C,0=none")
    return mapping


def format_category_map(mapping: dict[str, str | None]) -> str:
    """Render a mapping back in ``--category-map`` syntax.

    Args:
        mapping: Source category to grade code (None = uncategorised).

    Returns:
        Text such as ``0=none,1=A``.
    """
    return ",".join(f"{k}={UNCATEGORISED if v is None else v}" for k, v in mapping.items())


@dataclass(frozen=True)
class CategoryPolicy:
    """How source categories of one import become grades, and the note that says so."""

    mapping: dict[str, str | None]
    fixed_grade: str | None
    note: str

    def grade_for(self, category: str | None) -> tuple[str | None, bool]:
        """Grade one entry.

        Args:
            category: The entry's raw source category, or None.

        Returns:
            ``(grade, unmapped)``: unmapped is True when the entry has a category that
            the mapping does not cover (its grade is then None).
        """
        if self.fixed_grade is not None:
            return self.fixed_grade, False
        if category is None:
            return None, False
        if category in self.mapping:
            return self.mapping[category], False
        return None, True


def _by_code(grade: Grade) -> str:
    return grade.code


def category_policy(
    scheme: Scheme,
    has_categories: bool,
    format_name: str,
    category_map: str | None = None,
    grade: str | None = None,
) -> CategoryPolicy:
    """Decide how an import grades its entries, refusing to guess where it is unsafe.

    VICS under ``projectvic`` defaults to the identity 0..4 (Autopsy's meaning) with a
    note that Category 0 is ambiguous; VICS under any other scheme needs an explicit
    map. Formats without categories get ``grade`` for every entry, or no grade.

    Args:
        scheme: The grading scheme of the import.
        has_categories: Whether the format carries a category per entry.
        format_name: The format, for messages.
        category_map: A ``--category-map`` spec, if given.
        grade: One grade code for every entry, if given.

    Returns:
        The policy, with a human-readable note stating the mapping used.

    Raises:
        UsageError: If both ``category_map`` and ``grade`` are given, a grade is not in
            the scheme, or a category format has no safe default for this scheme.
    """
    if category_map is not None and grade is not None:
        raise UsageError("give either --category-map or --grade, not both")
    if grade is not None:
        code = scheme.grade(grade).code
        note = f"every entry graded {code} ({scheme.grade(code).label}) under {scheme.name}"
        if has_categories:
            note += "; source categories are kept but not used"
        return CategoryPolicy({}, code, note)
    if not has_categories:
        if category_map is not None:
            raise UsageError(
                f"format {format_name!r} carries no categories; use --grade to grade the set"
            )
        return CategoryPolicy(
            {},
            None,
            f"format {format_name!r} carries no categories; entries are uncategorised (no grade)",
        )
    if category_map is not None:
        mapping = parse_category_map(category_map, scheme)
        return CategoryPolicy(
            mapping,
            None,
            f"source categories mapped to {scheme.name} grades by --category-map "
            f"{format_category_map(mapping)}; categories not listed are uncategorised",
        )
    if scheme.name == "projectvic":
        mapping = {code: code for code in sorted(scheme.codes())}
        labels = ", ".join(f"{g.code} {g.label}" for g in sorted(scheme.grades, key=_by_code))
        return CategoryPolicy(
            mapping,
            None,
            f"Category mapped to projectvic by identity ({labels}); other values are "
            "uncategorised. Category 0 is ambiguous between exporters (non-pertinent for "
            "some, uncategorised for others): override with --category-map, e.g. "
            "--category-map 0=none,1=1,2=2,3=3,4=4",
        )
    example = "1=A,2=B,3=C,0=none" if scheme.name == "uk" else "1=<grade>,0=none"
    raise UsageError(
        f"{format_name} categories have no safe default mapping to the {scheme.name!r} scheme "
        f"(grades: {', '.join(scheme.codes())}); give --category-map, e.g. "
        f"--category-map {example}"
    )
