"""The representative copy: live over deleted over carved, then least nested, then path."""

from __future__ import annotations

from vigil.report.totals import mark_representatives


def _item(path: str, sha: str | None, deleted=False, carved=False, depth=0, exhibit="EX1") -> dict:
    return {
        "exhibit": exhibit,
        "path": path,
        "sha256": sha,
        "depth": depth,
        "flags": {"deleted": deleted, "carved": carved},
    }


def test_live_over_deleted_over_carved_per_exhibit() -> None:
    items = [
        _item("$Unalloc@4096", "a", carved=True),
        _item("z/deleted.jpg", "a", deleted=True),
        _item("z/live.jpg", "a"),
        _item("b/deleted.jpg", "b", deleted=True),
        _item("$Unalloc@8192", "b", carved=True),
        _item("x.zip!a.jpg", "c", depth=1),
        _item("y/a.jpg", "c"),
        _item("other.jpg", "a", exhibit="EX2", carved=True),
        _item("locked.jpg", None),
    ]
    mark_representatives(items)
    reps = [i["path"] for i in items if i["representative"]]
    assert reps == ["z/live.jpg", "b/deleted.jpg", "y/a.jpg", "other.jpg"]
