"""A login flood against ``vigil serve`` on loopback: do logged-in users still get answers?

Builds a small benign case with a real ``vigil scan``, starts ``vigil serve`` on
127.0.0.1, logs a user in, and measures that user's requests (case overview, a tile,
a grade) first on a quiet server, then while ``--clients`` threads each post wrong
passwords as fast as the server answers (known names, and a fresh unknown name for
every attempt so that no per-name wait spares the server its Argon2 work). Every loop
is bounded in count and time; the script stops by itself. Also compares login answer
times for a known and an unknown name, and checks a real login during the flood.

    .venv/bin/python benchmarks/login_flood.py [--clients 8] [--requests 150]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))

from review_harness import PASSWORDS, build_lab, start_server  # noqa: E402

LIMIT_MS = 200.0
FLOOD_SECONDS = 120.0  # hard ceiling for the flooding threads
FLOOD_MAX_ATTEMPTS = 5000  # per client


class Browser:
    """A cookie-keeping client for plain http on loopback (Secure cookies included)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)
        self.cookies: dict[str, str] = {}

    def _keep(self, answer: httpx.Response) -> httpx.Response:
        for line in answer.headers.get_list("set-cookie"):
            name, _, rest = line.partition("=")
            value = rest.split(";")[0]
            if "Max-Age=0" in line:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return answer

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {"cookie": cookie, **(extra or {})}

    def get(self, path: str, **headers: str) -> httpx.Response:
        """GET with the cookies."""
        return self._keep(self.http.get(path, headers=self._headers(headers)))

    def post(self, path: str, **kw: object) -> httpx.Response:
        """POST with the cookies; ``headers`` may add more."""
        headers = self._headers(kw.pop("headers", None))  # type: ignore[arg-type]
        return self._keep(self.http.post(path, headers=headers, **kw))  # type: ignore[arg-type]

    def login(self, name: str, password: str) -> httpx.Response:
        """One login through the form."""
        page = self.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        return self.post("/login", data={"name": name, "password": password, "csrf": token})


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def user_requests(user: Browser, case: str, ids: list[int], csrf: str, n: int) -> list[float]:
    """``n`` requests of a logged-in user (overview, tile, grade in turn), in ms each."""
    times = []
    for i in range(n):
        started = time.perf_counter()
        kind = i % 3
        if kind == 0:
            answer = user.get(f"/cases/{case}")
        elif kind == 1:
            answer = user.get(f"/cases/{case}/tiles/{ids[i % len(ids)]}.jpg")
        else:
            answer = user.post(
                f"/cases/{case}/grades",
                json={"content_ids": [ids[i % len(ids)]], "grade": "ABCN"[i % 4]},
                headers={"x-csrf-token": csrf},
            )
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (answer.status_code, answer.text[:200])
        time.sleep(0.05)
    return times


def flood(url: str, n: int, stop: threading.Event, answers: Counter) -> None:
    """Post wrong passwords until ``stop`` (or the count and time ceilings)."""
    client = Browser(url)
    deadline = time.monotonic() + FLOOD_SECONDS
    for i in range(FLOOD_MAX_ATTEMPTS):
        if stop.is_set() or time.monotonic() > deadline:
            break
        name = ("alice", "carol", f"unknown-{n}-{i}")[i % 3]
        try:
            answers[client.login(name, "wrong-password-here").status_code] += 1
        except httpx.HTTPError:
            answers["error"] += 1


def summary(label: str, times: list[float]) -> str:
    """p50 / p95 / max of ``times``."""
    return (
        f"{label}: n={len(times)} p50 {statistics.median(times):.1f} ms, "
        f"p95 {percentile(times, 0.95):.1f} ms, max {max(times):.1f} ms"
    )


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="web-flood-") as tmp:
        lab = build_lab(Path(tmp), pictures=12)
        server = start_server(lab.env, Path(tmp) / "serve.log")
        try:
            user = Browser(server.url)
            assert user.login("alice", PASSWORDS["alice"]).status_code == 303
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', user.get("/").text).group(1)
            ids = sorted(lab.ids.values())
            quiet = user_requests(user, lab.case, ids, csrf, args.requests)

            probe = Browser(server.url)
            known, unknown = [], []
            for i in range(3):
                for name, out in (("root", known), (f"nobody-{i}", unknown)):
                    started = time.perf_counter()
                    answer = probe.login(name, "wrong-password-here")
                    out.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 401
            probe.login("root", PASSWORDS["root"])  # clears root's count

            stop = threading.Event()
            answers: Counter = Counter()
            threads = [
                threading.Thread(target=flood, args=(server.url, n, stop, answers))
                for n in range(args.clients)
            ]
            for t in threads:
                t.start()
            time.sleep(2)  # let the flood build up
            started = time.perf_counter()
            flooded = user_requests(user, lab.case, ids, csrf, args.requests)
            real = Browser(server.url)
            t0 = time.perf_counter()
            real_login = real.login("bob", PASSWORDS["bob"]).status_code
            real_ms = (time.perf_counter() - t0) * 1000
            flood_seconds = time.perf_counter() - started
            stop.set()
            for t in threads:
                t.join(timeout=FLOOD_SECONDS)
        finally:
            server.stop()
    attempts = sum(answers.values())
    print(summary("logged-in user, quiet server", quiet))
    print(summary(f"logged-in user, {args.clients} clients flooding logins", flooded))
    print(
        f"flood: {attempts} login attempts in {flood_seconds:.1f} s "
        f"({attempts / flood_seconds:.1f}/s); answers {dict(sorted(answers.items(), key=str))}"
    )
    print(f"a real login during the flood: HTTP {real_login} in {real_ms:.0f} ms")
    print(
        f"wrong password, quiet server: known name mean {statistics.mean(known):.0f} ms, "
        f"unknown name mean {statistics.mean(unknown):.0f} ms"
    )
    p95 = percentile(flooded, 0.95)
    print(f"limit {LIMIT_MS:.0f} ms: flooded p95 at {p95 / LIMIT_MS:.2f}x of the limit")
    ok = p95 < LIMIT_MS and real_login == 303
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
