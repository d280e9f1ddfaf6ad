"""Attacks on the review app over HTTP that must fail (in-process app over a real case).

The case is the one ``conftest.lab`` scanned; these tests use a lab database of their
own, so their logins, waits and sessions never touch the browser tests' server.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from http_client import client, csrf_of, login, login_token
from PIL import Image
from review_harness import PASSWORDS, Lab

from vigil.errors import UsageError
from vigil.web import accounts, imaging, policy
from vigil.web.app import AppSettings, create_app
from vigil.web.lab import open_lab
from vigil.web.security import HEADERS, Guard


@dataclass
class Web:
    """The app, its lab database and the case it serves."""

    app: Any
    lab_url: str
    case: Lab

    def engine(self) -> Any:
        return open_lab(self.lab_url)


@pytest.fixture(scope="module")
def web(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Web:
    url = f"sqlite:///{tmp_path_factory.mktemp('attacks') / 'lab.sqlite'}"
    engine = open_lab(url)
    for name, role, case in (
        ("alice", "examiner", lab.case),
        ("bob", "examiner", "OTHER-1"),
        ("root", "admin", None),
    ):
        accounts.add_user(engine, name, role, PASSWORDS[name])
        if case:
            accounts.assign(engine, name, case, "test")
    return Web(create_app(AppSettings(lab.home, url)), url, lab)


def _logged_in(web: Web, name: str = "alice") -> Any:
    c = client(web.app)
    assert login(c, name, PASSWORDS[name]).status_code == 303
    return c


def _audit(lab: Lab, action: str) -> list[tuple[str, dict]]:
    with sqlite3.connect(lab.case_db) as conn:
        rows = conn.execute(
            "SELECT actor, details FROM audit_log WHERE action = ? ORDER BY seq", (action,)
        ).fetchall()
    return [(a, json.loads(d)) for a, d in rows]


def _has_headers(response: Any) -> None:
    for k, v in HEADERS.items():
        assert response.headers.get(k) == v, (response.status_code, k)


# -- tiles -----------------------------------------------------------------------------


def test_no_query_parameter_goes_below_the_floor(web: Web) -> None:
    c = _logged_in(web)
    cid = web.case.ids["pictures/00/land_0003.jpg"]
    url = f"/cases/{web.case.case}/tiles/{cid}.jpg"
    original = (web.case.evidence / "pictures/00/land_0003.jpg").read_bytes()
    floor = imaging.blurred_tile(original, imaging.MIN_BLUR)
    for blur in ("0", "-5", "1", "4"):
        answer = c.get(url, params={"blur": blur})
        assert (answer.status_code, answer.content) == (200, floor)
    for bad in ("999999", "1e9", "nan", "4.5"):
        assert c.get(url, params={"blur": bad}).status_code == 422
    assert Image.open(io.BytesIO(floor)).mode == "L"


def test_each_tile_sharper_than_the_default_is_counted(web: Web) -> None:
    c = _logged_in(web)
    cid = web.case.ids["pictures/00/land_0004.jpg"]
    url = f"/cases/{web.case.case}/tiles/{cid}.jpg"

    def tiles_today() -> int:
        return c.get("/api/exposure").json()[0]["tiles_today"]

    before = tiles_today()
    c.get(url)
    c.get(url, params={"blur": imaging.DEFAULT_BLUR})
    c.get(url, params={"blur": imaging.MAX_BLUR})
    assert tiles_today() == before
    for blur in (imaging.MIN_BLUR, 8, 8):  # a cached tile is a view too
        assert c.get(url, params={"blur": blur}).status_code == 200
    assert tiles_today() == before + 3
    assert c.get("/api/exposure").json()[0]["today"] == 0  # reveals are counted apart


def test_a_tile_cached_before_its_content_became_known_is_refused(web: Web) -> None:
    c = _logged_in(web, "root")
    cid = web.case.ids["pictures/00/land_0009.jpg"]
    url = f"/cases/{web.case.case}/tiles/{cid}.jpg"
    assert c.get(url).status_code == 200
    with sqlite3.connect(web.case.case_db) as conn:
        conn.execute(
            "INSERT INTO matches (content_id, hashset, entry_id, grade, basis, algorithm, "
            "known_good) VALUES (?, 'late-known', 1, 'B', 'exact', 'md5', 0)",
            (cid,),
        )
    try:
        assert c.get(url).status_code == 403
        assert c.post(
            f"/cases/{web.case.case}/reveal/{cid}", headers={"x-csrf-token": csrf_of(c)}
        ).status_code == 403
    finally:
        with sqlite3.connect(web.case.case_db) as conn:
            conn.execute("DELETE FROM matches WHERE hashset = 'late-known'")


def test_content_outside_the_case_is_404_known_or_not(web: Web) -> None:
    c = _logged_in(web, "root")
    for cid in (999_999, 2**62):
        assert c.get(f"/cases/{web.case.case}/tiles/{cid}.jpg").status_code == 404


# -- oversized and malformed input -------------------------------------------------------


def test_oversized_ids_and_names_are_refused_not_500(web: Web) -> None:
    c = _logged_in(web)
    case = web.case.case
    token = csrf_of(c)
    for method, path in (
        ("GET", f"/cases/{case}/tiles/{10**30}.jpg"),
        ("GET", f"/cases/{case}/tiles/-1.jpg"),
        ("GET", f"/cases/{case}/contents/{2**63}"),
        ("POST", f"/cases/{case}/reveal/{10**30}"),
        ("GET", "/cases/" + "x" * 300),
    ):
        answer = c.request(method, path, headers={"x-csrf-token": token})
        assert answer.status_code == 422, path
        _has_headers(answer)
    answer = c.get("/cases/no..such-case")
    assert answer.status_code in (403, 404)
    _has_headers(answer)


def test_bodies_over_the_limit_are_refused_before_parsing(web: Web) -> None:
    c = _logged_in(web)
    token = csrf_of(c)
    big = b"{" + b" " * (300 * 1024) + b"}"
    url = f"/cases/{web.case.case}/grades"
    answer = c.post(url, content=big, headers={"x-csrf-token": token})
    assert answer.status_code == 413
    _has_headers(answer)

    def chunks() -> Any:
        for _ in range(40):
            yield b" " * 10_000

    answer = c.post(url, content=chunks(), headers={"x-csrf-token": token})
    assert answer.status_code == 413
    assert c.post("/login", content=b"name=" + b"a" * 400_000).status_code == 413


def test_unknown_host_names_are_refused_with_headers(web: Web) -> None:
    for host in ("attacker.example", "127.0.0.1.attacker.example", "vigil.internal:8765"):
        answer = client(web.app).get("/login", headers={"host": host})
        assert answer.status_code == 421, host
        _has_headers(answer)
    assert client(web.app).get("/login", headers={"host": "localhost:8765"}).status_code == 200
    named = create_app(AppSettings(web.case.home, web.lab_url, host_names=("review.lab",)))
    assert client(named).get("/login", headers={"host": "review.lab"}).status_code == 200
    assert client(named).get("/login").status_code == 421


def test_a_crash_answer_carries_the_headers_too() -> None:
    from fastapi import FastAPI

    inner = FastAPI()

    @inner.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    answer = client(Guard(inner, ["127.0.0.1"]), raise_server_exceptions=False).get("/boom")
    assert answer.status_code == 500
    assert "a bug" not in answer.text and "Traceback" not in answer.text
    _has_headers(answer)


def test_login_page_shows_no_text_from_the_address(web: Web) -> None:
    page = client(web.app).get("/login", params={"error": "<b>call 0800 FAKE</b>"})
    assert "0800 FAKE" not in page.text


# -- login -----------------------------------------------------------------------------


def test_known_and_unknown_names_get_the_same_answers_and_the_same_work(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real = accounts._hasher

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            verified.append(stored[:9])
            return real.verify(stored, password)

        def hash(self, password: str) -> str:
            return real.hash(password)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    engine = web.engine()
    accounts.add_user(engine, "ursula", "reviewer", "velvet-compass-tide-8")
    answers = {}
    for name in ("ursula", "nobody-by-this-name"):
        c = client(web.app)
        seen = []
        for _ in range(4):
            r = login(c, name, "wrong-password-here")
            seen.append((r.status_code, r.headers.get("retry-after")))
        answers[name] = seen
    assert answers["ursula"] == answers["nobody-by-this-name"] == [
        (401, None),
        (401, None),
        (401, None),
        (429, "1"),
    ]
    # Every checked attempt ran one Argon2 verification, against the same kind of hash.
    assert verified == ["$argon2id"] * 6


def test_wrong_passwords_back_off_and_a_success_resets(web: Web) -> None:
    engine = web.engine()
    accounts.add_user(engine, "victor", "reviewer", "copper-harbour-gate-9")
    bad = [accounts.authenticate(engine, "victor", "nope", "10.0.0.1").status for _ in range(3)]
    assert bad == ["bad", "bad", "bad"]
    refused = accounts.authenticate(engine, "victor", "copper-harbour-gate-9", "10.0.0.1")
    assert (refused.status, refused.retry_after) == ("wait", 1)
    # Another address is not held back by this pair's failures...
    other = accounts.authenticate(engine, "victor", "copper-harbour-gate-9", "10.0.0.2")
    assert other.status == "ok"
    # ...and the success cleared the count: the first address may try at once.
    assert accounts.wait_seconds(engine, "victor", "10.0.0.1") == 0
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT remote, ok FROM login_attempts WHERE name = 'victor' ORDER BY id"
        ).all()
    # The refused attempt was not recorded: waiting attempts cannot extend the wait.
    assert [tuple(r) for r in rows] == [("10.0.0.1", 0)] * 3 + [("10.0.0.2", 1)]


def test_the_wait_doubles_and_has_a_ceiling(web: Web) -> None:
    engine = web.engine()
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for n in range(12):
            conn.exec_driver_sql(
                "INSERT INTO login_attempts (name, remote, at, ok) VALUES ('walt', 'a', ?, 0)",
                ((start + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),),
            )
    last = start + timedelta(seconds=11)
    # 12 failures from one address: pair wait 2**9 capped at 300 s; account wait 4 s.
    assert accounts.wait_seconds(engine, "walt", "a", now=last) == 300
    assert accounts.wait_seconds(engine, "walt", "b", now=last) == 4
    assert accounts.wait_seconds(engine, "walt", "b", now=last + timedelta(seconds=4)) == 0
    later = last + timedelta(hours=accounts.FAILURE_MEMORY_HOURS, seconds=20)
    assert accounts.wait_seconds(engine, "walt", "a", now=later) == 0


def test_login_csrf_is_bound_to_this_server_and_this_cookie(web: Web) -> None:
    other = create_app(AppSettings(web.case.home, web.lab_url))
    planted = client(other)
    foreign = login_token(planted)  # a token minted by another server process
    c = client(web.app)
    login_token(c)
    form = {"name": "alice", "password": PASSWORDS["alice"]}
    assert c.post("/login", data={**form, "csrf": foreign}).status_code == 403
    c.cookies.set("__Host-vigil_login", planted.cookies.get("__Host-vigil_login"))
    assert c.post("/login", data={**form, "csrf": foreign}).status_code == 403
    # A valid pair of this server, posted from another origin (another port): refused.
    c = client(web.app)
    token = login_token(c)
    for headers in (
        {"origin": "https://127.0.0.1:9999"},
        {"origin": "null"},
        {"sec-fetch-site": "same-site"},
        {"sec-fetch-site": "cross-site"},
    ):
        answer = c.post("/login", data={**form, "csrf": token}, headers=headers)
        assert answer.status_code == 403, headers
    ok = c.post(
        "/login",
        data={**form, "csrf": token},
        headers={"origin": "https://127.0.0.1", "sec-fetch-site": "same-origin"},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_state_changes_from_another_origin_are_refused(web: Web) -> None:
    c = _logged_in(web)
    token = csrf_of(c)
    cid = web.case.ids["pictures/00/land_0006.jpg"]
    body = {"content_ids": [cid], "grade": "A"}
    url = f"/cases/{web.case.case}/grades"
    for headers in ({"origin": "https://127.0.0.1:9999"}, {"sec-fetch-site": "same-site"}):
        assert c.post(url, json=body, headers={"x-csrf-token": token, **headers}).status_code == 403
        reveal = c.post(
            f"/cases/{web.case.case}/reveal/{cid}", headers={"x-csrf-token": token, **headers}
        )
        assert reveal.status_code == 403


def test_cookies_are_host_cookies(web: Web) -> None:
    c = client(web.app)
    token = login_token(c)
    answer = c.post(
        "/login",
        data={"name": "alice", "password": PASSWORDS["alice"], "csrf": token},
        follow_redirects=False,
    )
    cookies = answer.headers.get_list("set-cookie")
    session = next(x for x in cookies if x.startswith("__Host-vigil_session="))
    parts = {p.strip().split("=")[0].lower() for p in session.split(";")}
    assert {"secure", "httponly", "path", "samesite"} <= parts and "domain" not in parts
    assert "Path=/" in session and "SameSite=strict" in session


# -- grading -------------------------------------------------------------------------------


def _grade(c: Any, web: Web, body: Any, token: str) -> Any:
    return c.post(
        f"/cases/{web.case.case}/grades",
        content=json.dumps(body) if not isinstance(body, bytes) else body,
        headers={"x-csrf-token": token, "content-type": "application/json"},
    )


def test_only_contents_shown_for_review_can_be_graded_and_refusals_are_logged(
    web: Web,
) -> None:
    c = _logged_in(web)
    token = csrf_of(c)
    lab = web.case
    good = lab.ids["pictures/00/land_0007.jpg"]
    with sqlite3.connect(lab.case_db) as conn:
        case_id = conn.execute("SELECT case_id FROM contents WHERE id = ?", (good,)).fetchone()[0]
        other = conn.execute(
            "INSERT INTO contents (case_id, sha256, sha1, md5, size, mime, media, partial) "
            "VALUES (?, ?, ?, ?, 10, 'application/zip', 'other', 0)",
            (case_id, "ab" * 32, "cd" * 20, "ef" * 16),
        ).lastrowid
        known = lab.ids["pictures/00/land_0008.jpg"]
        conn.execute(
            "INSERT INTO matches (content_id, hashset, entry_id, grade, basis, algorithm, "
            "known_good) VALUES (?, 'grading-known', 1, 'C', 'exact', 'md5', 0)",
            (known,),
        )
    refused_before = len(_audit(lab, "grade-refused"))
    attacks = [
        {"content_ids": [known], "grade": "N"},  # known material: its tile is 403
        {"content_ids": [other], "grade": "A"},  # not a picture
        {"content_ids": [True], "grade": "A"},  # JSON true is not id 1
        {"content_ids": [good], "grade": "A", "undo": True},  # undo is its own action
        {"content_ids": [good], "grade": None},  # clearing is undo's job
        {"content_ids": [good], "grade": "Z"},  # not in the scheme
        {"content_ids": [999_999], "grade": "A"},
        {"content_ids": [good, known], "grade": "A"},  # one bad id refuses the whole
        {"content_ids": [], "grade": "A"},
        [good],
        b"not json",
    ]
    for body in attacks:
        assert _grade(c, web, body, token).status_code == 400, body
    refused = _audit(lab, "grade-refused")[refused_before:]
    assert len(refused) == len(attacks)
    assert all(actor == "alice" for actor, _ in refused)
    assert "not shown for review" in refused[0][1]["reason"]
    with sqlite3.connect(lab.case_db) as conn:
        graded = {r[0] for r in conn.execute("SELECT content_id FROM grades")}
        conn.execute("DELETE FROM matches WHERE hashset = 'grading-known'")
    assert not graded & {known, other, good, 1}
    assert _grade(c, web, {"content_ids": [good], "grade": "A"}, token).status_code == 200


def test_undo_restores_what_this_session_replaced_and_nothing_else(web: Web) -> None:
    alice, root = _logged_in(web), _logged_in(web, "root")
    a_token, r_token = csrf_of(alice), csrf_of(root)
    # Pictures no browser test grades (the case store is shared with those tests).
    pair = sorted(web.case.ids[f"pictures/00/land_000{n}.jpg"] for n in (5, 6))
    one = web.case.ids["pictures/00/land_0003.jpg"]
    undo_url = f"/cases/{web.case.case}/undo"
    assert _grade(alice, web, {"content_ids": [one], "grade": "B"}, a_token).status_code == 200
    assert _grade(alice, web, {"content_ids": pair, "grade": "C"}, a_token).status_code == 200
    assert _grade(alice, web, {"content_ids": [one], "grade": "A"}, a_token).status_code == 200
    # Undo ignores anything the client sends: it restores what the grading replaced.
    answer = alice.post(undo_url, json={"grade": "A"}, headers={"x-csrf-token": a_token})
    assert answer.json() == {"restored": {str(one): "B"}}
    # Another user's session has its own history.
    assert root.post(undo_url, headers={"x-csrf-token": r_token}).status_code == 400
    # A grading that someone else graded over is not undone.
    assert _grade(root, web, {"content_ids": [pair[0]], "grade": "A"}, r_token).status_code == 200
    assert alice.post(undo_url, headers={"x-csrf-token": a_token}).status_code == 400
    assert _audit(web.case, "grade-undo")[-1] == (
        "alice",
        {"contents": [one], "grade": "B", "scheme": "uk"},
    )
    reasons = [d["reason"] for _a, d in _audit(web.case, "grade-refused")[-2:]]
    assert reasons == [
        "nothing to undo",
        f"contents [{pair[0]}] were graded again since; not undone",
    ]


# -- sessions and users --------------------------------------------------------------------


def test_a_person_without_a_session_is_sent_to_login_an_api_client_gets_401(web: Web) -> None:
    c = client(web.app)
    page = c.get("/", headers={"accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/login")
    api = c.get("/api/exposure", headers={"accept": "application/json"})
    assert (api.status_code, api.json()) == (401, {"detail": "login required"})
    tile = c.get(f"/cases/{web.case.case}/tiles/1.jpg", headers={"accept": "image/*"})
    assert tile.status_code == 401
    _has_headers(tile)


def test_idle_timeout_absolute_lifetime_and_credential_version(web: Web) -> None:
    engine = web.engine()
    user = accounts.add_user(engine, "yara", "reviewer", "lilac-ferry-stone-10")
    token = accounts.start_session(engine, user, "127.0.0.1", lifetime_hours=12)
    now = datetime.now(UTC)
    assert accounts.find_session(engine, token, now=now) is not None
    assert accounts.find_session(engine, token, now=now + timedelta(minutes=31)) is None
    # Kept busy, it still ends 12 hours after the login.
    t = now
    while t + timedelta(minutes=20) < now + timedelta(hours=12):
        t += timedelta(minutes=20)
        assert accounts.find_session(engine, token, now=t) is not None
    assert accounts.find_session(engine, token, now=now + timedelta(hours=12, minutes=1)) is None
    fresh = accounts.start_session(engine, user)
    with engine.begin() as conn:  # a password changed behind the session's back
        conn.exec_driver_sql(
            "UPDATE users SET credential_version = credential_version + 1 WHERE name = 'yara'"
        )
    assert accounts.find_session(engine, fresh) is None


def test_user_commands_take_access_away(web: Web) -> None:
    from review_harness import run_vigil

    env = {**web.case.env}
    lab_db = ["--lab-db", web.lab_url]
    engine = web.engine()
    accounts.add_user(engine, "zoe", "examiner", "cobalt-orchard-bell-11")
    accounts.assign(engine, "zoe", web.case.case, "test")

    def zoe() -> Any:
        c = client(web.app)
        assert login(c, "zoe", "cobalt-orchard-bell-11").status_code == 303
        return c

    c = zoe()
    assert c.get(f"/cases/{web.case.case}").status_code == 200
    run_vigil(env, "user", "unassign", "zoe", web.case.case, *lab_db)
    assert c.get(f"/cases/{web.case.case}").status_code == 403
    assert _audit(web.case, "unassign")[-1][1] == {"user": "zoe"}
    run_vigil(env, "user", "assign", "zoe", web.case.case, *lab_db)

    listed = run_vigil(env, "user", "sessions", "zoe", *lab_db).splitlines()
    assert len(listed) == 1 and listed[0].endswith("\ttestclient")
    run_vigil(env, "user", "revoke", "zoe", "--session", listed[0].split("\t")[0], *lab_db)
    assert c.get("/api/exposure").status_code == 401

    c = zoe()
    run_vigil(env, "user", "disable", "zoe", *lab_db)
    assert c.get("/api/exposure").status_code == 401
    again = client(web.app)
    refused = login(again, "zoe", "cobalt-orchard-bell-11")
    assert (refused.status_code, "Wrong name or password." in refused.text) == (401, True)
    assert "disabled" in run_vigil(env, "user", "list", *lab_db)
    run_vigil(env, "user", "enable", "zoe", *lab_db)

    c = zoe()
    run_vigil(
        env, "user", "passwd", "zoe", "--password-stdin", *lab_db, stdin="maple-signal-dune-12\n"
    )
    assert c.get("/api/exposure").status_code == 401
    assert login(client(web.app), "zoe", "cobalt-orchard-bell-11").status_code == 401
    assert login(client(web.app), "zoe", "maple-signal-dune-12").status_code == 303


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pass1", "at least 12"),
        ("quentin-is-my-name", "user name"),
        ("QUENTIN2024!!", "user name"),
        ("password1234", "common"),
        ("Password2024!!", "common"),
        ("  Qwertyuiop123  ", "common"),
        ("aaaaaaaaaaaaaaa", "5 different"),
        ("correcthorsebatterystaple", "common"),
    ],
)
def test_weak_passwords_are_refused(password: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        policy.check_password(password, "Quentin")


@pytest.mark.parametrize(
    "name",
    ["alice ", " alice", "al\u200bice", "ali\u0007ce", "al  ice", "al\u00a0ice", "", "x" * 101],
)
def test_look_alike_and_malformed_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError):
        policy.normalise_name(name)


def test_names_are_stored_nfc_and_case_variants_collide(tmp_path: Path) -> None:
    engine = open_lab(f"sqlite:///{tmp_path / 'lab.sqlite'}")
    decomposed = "Jose\u0301"
    user = accounts.add_user(engine, decomposed, "reviewer", "harbor-violet-crane-13")
    assert user.name == "Jos\u00e9"
    for twin in ("jos\u00e9", "JOS\u00c9", "\uff2aos\u00e9"):  # case and full-width forms
        with pytest.raises(UsageError, match="already exists"):
            accounts.add_user(engine, twin, "reviewer", "harbor-violet-crane-13")
    ok = accounts.authenticate(engine, decomposed, "harbor-violet-crane-13", "127.0.0.1")
    assert ok.status == "ok"


def test_lab_and_case_files_are_private(tmp_path: Path) -> None:
    from vigil.store.api import CaseStore, default_store_url

    home = tmp_path / "home"
    lab = open_lab(f"sqlite:///{home / 'lab' / 'lab.sqlite'}")
    accounts.add_user(lab, "mode", "reviewer", "pewter-lagoon-arch-14")
    store = CaseStore(default_store_url(home, "MODES-1"))
    store.close()
    modes = {
        p.relative_to(home).as_posix(): stat.S_IMODE(os.stat(p).st_mode)
        for p in sorted(home.rglob("*"))
    }
    assert modes["lab"] == modes["cases"] == 0o700
    for name in ("lab/lab.sqlite", "lab/lab.sqlite-wal", "cases/MODES-1.sqlite"):
        assert modes[name] == 0o600, (name, oct(modes[name]))
    assert all(m in (0o700, 0o600) for m in modes.values()), modes
