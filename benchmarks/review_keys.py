"""Grade 500 pictures by keyboard in the review app; report per-keypress answer times.

Builds a benign case (procedurally drawn landscapes) with a real ``vigil scan``,
starts ``vigil serve``, logs in with Debian's Chromium (Playwright) and presses one
grade key per picture on one page. The page records, per keypress, the time from the
keydown event until the server confirmed the grade (``window.vigilTimings``); the
script checks the page never reloaded and compares p50/p95/max with the 100 ms limit
(it passes when p95 is under it).

    .venv/bin/python benchmarks/review_keys.py [--pictures 500] [--screenshot PNG]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))

from review_harness import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    NEAR_NAMES,
    PASSWORDS,
    build_lab,
    login,
    start_server,
)

LIMIT_MS = 100.0


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=500)
    parser.add_argument("--screenshot", type=Path, help="Save the grading page as PNG.")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="vigil-review-bench-") as tmp:
        t0 = time.perf_counter()
        # build_lab adds a near-duplicate trio and an EXIF picture: draw 4 fewer.
        lab = build_lab(Path(tmp), pictures=args.pictures - 4)
        print(f"case built and scanned in {time.perf_counter() - t0:.1f}s")
        server = start_server(lab.env, Path(tmp) / "serve.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                login(page, server.url, "alice", PASSWORDS["alice"])
                loads: list[str] = []
                page.goto(f"{server.url}/cases/{lab.case}/grade")
                page.on("load", lambda pg: loads.append(pg.url))
                page.evaluate("window.benchMarker = 'same page'")
                total = len(
                    page.evaluate(
                        "JSON.parse(document.getElementById('queue-data').textContent).items"
                    )
                )
                keys = "abcn"
                started = time.perf_counter()
                for n in range(total):
                    page.keyboard.press(keys[n % len(keys)])
                    page.wait_for_selector(f"body[data-acked='{n + 1}']", state="attached")
                    if n == 5 and args.screenshot:
                        trio = min(lab.ids[name] for name in NEAR_NAMES)
                        shot = browser.new_page(viewport={"width": 1280, "height": 720})
                        login(shot, server.url, "root", PASSWORDS["root"])
                        shot.goto(f"{server.url}/cases/{lab.case}/grade?start={trio}")
                        shot.wait_for_load_state("networkidle")
                        shot.screenshot(path=str(args.screenshot))
                        shot.close()
                elapsed = time.perf_counter() - started
                timings = page.evaluate("window.vigilTimings")
                same = page.evaluate("window.benchMarker") == "same page"
                left = page.inner_text("#position")
                browser.close()
        finally:
            server.stop()
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(0.95 * (len(timings) - 1))]
    worst = timings[-1]
    print(f"pictures graded by keyboard: {len(timings)} of {total} ({left})")
    print(f"page reloads during grading: {len(loads)} (same page kept: {same})")
    print(f"wall time {elapsed:.1f}s, {len(timings) / elapsed:.0f} grades/s including the driver")
    print(
        f"keypress -> grade confirmed: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms; "
        f"limit {LIMIT_MS:.0f} ms: p95 at {p95 / LIMIT_MS:.2f}x, max at {worst / LIMIT_MS:.2f}x "
        f"of the limit"
    )
    # The target (issues 7 and 16): p95 under the limit; the max is printed beside it.
    ok = len(timings) == total and not loads and same and p95 < LIMIT_MS
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
