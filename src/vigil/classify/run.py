"""Score a case's unknown pictures with a classifier and record the run.

Each run is a ``classifier_runs`` row (model name, file SHA-256, settings, who, when)
with one ``scores`` row per picture scored and an audit entry (``classify``). A picture
that cannot be re-opened or decoded is not scored: it is counted and named (location
and reason) in the run's audit entry and in the result. Scores never touch grades.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from vigil.classify.config import ClassifierConfig
from vigil.classify.model import Classifier
from vigil.names import unescape_name
from vigil.series.pictures import unknown_clause
from vigil.sources.reopen import open_item
from vigil.store import audit
from vigil.store.api import CaseStore, actor
from vigil.store.clock import now_text
from vigil.store.schema import classifier_runs, contents, exhibits, items, scores

BATCH = 32
# Failures named in the audit entry (all are counted).
NAMED_FAILURES = 100
MAX_BYTES = 256 * 1024 * 1024


@dataclass
class ClassifyResult:
    """What one run did."""

    run_id: int
    model_name: str
    model_sha256: str
    label: str
    scored: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)


def _sources(conn: Connection, case_id: int) -> list[tuple[int, str, str]]:
    """(content id, evidence path, item path) of one item per unknown picture, the
    allocated uncarved copy first (as the review app re-opens it)."""
    rows = conn.execute(
        select(contents.c.id, exhibits.c.evidence_path, items.c.path)
        .join(items, items.c.content_id == contents.c.id)
        .join(exhibits, exhibits.c.id == items.c.exhibit_id)
        .where(unknown_clause(case_id))
        .order_by(contents.c.id, items.c.carved, items.c.deleted, items.c.depth, items.c.id)
    )
    found: dict[int, tuple[int, str, str]] = {}
    for cid, evidence, path in rows:
        found.setdefault(int(cid), (int(cid), unescape_name(evidence), unescape_name(path)))
    return list(found.values())


def _read(evidence: str, path: str) -> bytes:
    with open_item(Path(evidence), path) as stream:
        data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    return data


def classify_case(
    store: CaseStore,
    case: str,
    config: ClassifierConfig,
    progress: Callable[[int, int], None] | None = None,
) -> ClassifyResult:
    """Score every unknown picture of a case with the configured model.

    Args:
        store: The case store.
        case: The case name.
        config: The classifier configuration.
        progress: Called with (done, total) after each batch.

    Returns:
        The run's result.

    Raises:
        UsageError: no such case, or the model cannot be loaded or does not fit the config.
    """
    classifier = Classifier(config)
    case_id = store.case_id(case)
    with store.engine.connect() as conn:
        todo = _sources(conn, case_id)
    found: list[tuple[int, float]] = []
    failures: list[dict[str, str]] = []
    for start in range(0, len(todo), BATCH):
        ids, rows = [], []
        for cid, evidence, path in todo[start : start + BATCH]:
            try:
                rows.append(classifier.prepare(_read(evidence, path)))
                ids.append(cid)
            except Exception as exc:  # noqa: BLE001 - a bad picture is recorded, not fatal
                failures.append({"location": path, "reason": f"{type(exc).__name__}: {exc}"})
        found.extend(zip(ids, classifier.score(rows), strict=True))
        if progress is not None:
            progress(min(start + BATCH, len(todo)), len(todo))
    user = actor()
    with store.engine.begin() as conn:
        run_id = int(
            conn.execute(
                insert(classifier_runs).values(
                    case_id=case_id,
                    model_name=config.name,
                    model_sha256=classifier.sha256,
                    label=config.priority,
                    config=json.dumps(config.as_dict(), sort_keys=True),
                    user=user,
                    at=now_text(),
                    scored=len(found),
                    failed=len(failures),
                )
            ).inserted_primary_key[0]
        )
        if found:
            conn.execute(
                insert(scores),
                [{"run_id": run_id, "content_id": c, "score": s} for c, s in found],
            )
        details = {
            "run": run_id,
            "model": config.name,
            "model_sha256": classifier.sha256,
            "label": config.priority,
            "scored": len(found),
            "failed": len(failures),
            "failures": failures[:NAMED_FAILURES],
        }
        audit.append(conn, case_id, user, "classify", details)
    return ClassifyResult(run_id, config.name, classifier.sha256, config.priority, len(found),
                          failures)
