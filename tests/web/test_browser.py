"""The review app in a real browser: Chromium via Playwright against ``vigil serve``."""

from __future__ import annotations

import io
import json
import sqlite3
import time

from PIL import Image
from review_harness import EXIF_NAME, NEAR_NAMES, PASSWORDS, Lab, Server, login

from vigil.web import imaging


def _newest_grades(lab: Lab) -> dict[int, tuple[str | None, str]]:
    with sqlite3.connect(lab.case_db) as conn:
        rows = conn.execute(
            "SELECT content_id, grade, user FROM grades WHERE id IN "
            "(SELECT MAX(id) FROM grades GROUP BY content_id)"
        ).fetchall()
    return {cid: (grade, user) for cid, grade, user in rows}


def _audit(lab: Lab, action: str) -> list[tuple[str, dict]]:
    with sqlite3.connect(lab.case_db) as conn:
        rows = conn.execute(
            "SELECT actor, details FROM audit_log WHERE action = ? ORDER BY seq", (action,)
        ).fetchall()
    return [(actor, json.loads(details)) for actor, details in rows]


def _wait_acked(page: object, n: int) -> None:
    page.wait_for_selector(f"body[data-acked='{n}']", state="attached", timeout=10_000)  # type: ignore[attr-defined]


def _tile_loaded(page: object, content_id: int) -> None:
    page.wait_for_selector(f"#tile[data-content-id='{content_id}']", timeout=10_000)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    shown = (
        "(() => { const t = document.getElementById('tile');"
        " return t.complete && !!t.dataset.tileUrl && t.dataset.shown === t.dataset.tileUrl; })()"
    )
    while not page.evaluate(shown):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "tile did not load"
        time.sleep(0.05)


def test_grade_five_pictures_by_keyboard(alice: object, server: Server, lab: Lab) -> None:
    start = lab.ids["pictures/00/land_0000.jpg"]
    alice.goto(f"{server.url}/cases/{lab.case}/grade?start={start}")  # type: ignore[attr-defined]
    pressed: dict[int, str] = {}
    for n, key in enumerate("abcna", start=1):
        cid = int(alice.get_attribute("#tile", "data-content-id"))  # type: ignore[attr-defined]
        alice.keyboard.press(key)  # type: ignore[attr-defined]
        pressed[cid] = key.upper()
        _wait_acked(alice, n)
    assert len(pressed) == 5
    newest = _newest_grades(lab)
    for cid, grade in pressed.items():
        assert newest[cid] == (grade, "alice")
    logged = [d for actor, d in _audit(lab, "grade") if actor == "alice"]
    assert [(d["contents"], d["grade"], d["scheme"]) for d in logged[-5:]] == [
        ([cid], grade, "uk") for cid, grade in pressed.items()
    ]


def test_bulk_grade_near_duplicate_group_and_undo(alice: object, server: Server, lab: Lab) -> None:
    trio = sorted(lab.ids[n] for n in NEAR_NAMES)
    alice.goto(f"{server.url}/cases/{lab.case}/grade?start={trio[0]}")  # type: ignore[attr-defined]
    assert "group of 3" in alice.inner_text("#group-info")  # type: ignore[attr-defined]
    alice.keyboard.press("Shift+KeyC")  # type: ignore[attr-defined]
    _wait_acked(alice, 1)
    newest = _newest_grades(lab)
    assert [newest[c] for c in trio] == [("C", "alice")] * 3
    assert lab.ids[EXIF_NAME] not in newest or newest[lab.ids[EXIF_NAME]][0] != "C"
    assert _audit(lab, "grade-bulk")[-1] == (
        "alice",
        {"contents": trio, "grade": "C", "scheme": "uk"},
    )
    alice.keyboard.press("u")  # type: ignore[attr-defined]
    _wait_acked(alice, 2)
    newest = _newest_grades(lab)
    assert [newest[c] for c in trio] == [(None, "alice")] * 3
    assert alice.get_attribute("#tile", "data-content-id") == str(trio[0])  # type: ignore[attr-defined]


def test_only_blurred_bytes_before_reveal_then_reveal_is_logged(
    alice: object, server: Server, lab: Lab
) -> None:
    cid = lab.ids[EXIF_NAME]
    original = (lab.evidence / EXIF_NAME).read_bytes()
    unblurred = imaging.revealed(original)
    bodies: list[tuple[str, bytes]] = []

    def keep(route: object) -> None:
        # Every answer passes through here, so the test sees the exact bytes received.
        fetched = route.fetch()  # type: ignore[attr-defined]
        bodies.append((route.request.url, fetched.body()))  # type: ignore[attr-defined]
        route.fulfill(response=fetched)  # type: ignore[attr-defined]

    alice.route("**/*", keep)  # type: ignore[attr-defined]
    alice.goto(f"{server.url}/cases/{lab.case}/grade?start={cid}")  # type: ignore[attr-defined]
    _tile_loaded(alice, cid)
    alice.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    before = list(bodies)
    tiles = [
        b for url, b in before if url.endswith(f"/tiles/{cid}.jpg?blur={imaging.DEFAULT_BLUR}")
    ]
    assert tiles and tiles[0] == imaging.blurred_tile(original, imaging.DEFAULT_BLUR)
    images = [b for url, b in before if "/tiles/" in url]
    assert len(images) >= 3
    for body in images:
        assert Image.open(io.BytesIO(body)).mode == "L"
    assert all(original not in b and b != unblurred for _url, b in before)
    alice.unroute("**/*", keep)  # type: ignore[attr-defined]

    # Pass the reveal through a route so the test sees the exact bytes the page received.
    revealed_bodies: list[tuple[int, bytes]] = []

    def through(route: object) -> None:
        fetched = route.fetch()  # type: ignore[attr-defined]
        revealed_bodies.append((fetched.status, fetched.body()))
        route.fulfill(response=fetched)  # type: ignore[attr-defined]

    alice.route("**/reveal/*", through)  # type: ignore[attr-defined]
    alice.keyboard.press("r")  # type: ignore[attr-defined]
    alice.wait_for_selector("#tile.revealed")  # type: ignore[attr-defined]
    assert revealed_bodies == [(200, unblurred)]

    alice.goto(f"{server.url}/cases/{lab.case}/audit")  # type: ignore[attr-defined]
    row = alice.locator("#audit tr.action-reveal").first  # type: ignore[attr-defined]
    assert row.locator(".actor").inner_text() == "alice"
    assert json.loads(row.locator(".details").inner_text()) == {"content": cid, "item": EXIF_NAME}
    assert _audit(lab, "reveal")[-1] == ("alice", {"content": cid, "item": EXIF_NAME})
    alice.goto(f"{server.url}/exposure")  # type: ignore[attr-defined]
    assert int(alice.inner_text("#exposure-table tr[data-user='alice'] .today")) >= 1  # type: ignore[attr-defined]


def test_another_users_case_is_refused(alice: object, server: Server, lab: Lab) -> None:
    assert alice.locator("ul.cases a").all_inner_texts()[0] == lab.case  # type: ignore[attr-defined]
    assert "OTHER-1" not in alice.inner_text("main")  # type: ignore[attr-defined]
    for path in ("/cases/OTHER-1", "/cases/OTHER-1/grade", "/cases/OTHER-1/tiles/1.jpg"):
        response = alice.goto(server.url + path)  # type: ignore[attr-defined]
        assert response.status == 403, path


def test_state_change_without_csrf_token_is_refused(
    alice: object, server: Server, lab: Lab
) -> None:
    cid = lab.ids["pictures/00/land_0011.jpg"]
    alice.goto(f"{server.url}/cases/{lab.case}")  # type: ignore[attr-defined]
    script = """async ([url, headers, cid]) => {
        const r = await fetch(url, {method: "POST", headers: headers,
            body: JSON.stringify({content_ids: [cid], grade: "A"})});
        return r.status; }"""
    grades_url = f"/cases/{lab.case}/grades"
    assert alice.evaluate(script, [grades_url, {"Content-Type": "application/json"}, cid]) == 403  # type: ignore[attr-defined]
    wrong = {"Content-Type": "application/json", "X-CSRF-Token": "forged"}
    assert alice.evaluate(script, [grades_url, wrong, cid]) == 403  # type: ignore[attr-defined]
    assert alice.evaluate(script, [f"/cases/{lab.case}/reveal/{cid}", {}, cid]) == 403  # type: ignore[attr-defined]
    assert cid not in _newest_grades(lab)
    assert all(d["content"] != cid for _a, d in _audit(lab, "reveal"))


def test_wrong_passwords_earn_a_wait_not_a_lock(page: object, server: Server) -> None:
    for name in ("carol", "nobody-at-all"):  # a known and an unknown name: the same answers
        for _ in range(3):
            login(page, server.url, name, "not-the-password-1")
            assert page.inner_text("#login-error") == "Wrong name or password."  # type: ignore[attr-defined]
        login(page, server.url, name, PASSWORDS.get(name, "x"))
        assert page.inner_text("#login-error") == (  # type: ignore[attr-defined]
            "Too many wrong passwords for this name. Try again in 1 seconds."
        )
    assert page.url == server.url + "/login"  # type: ignore[attr-defined]
    assert not [c for c in page.context.cookies() if "session" in c["name"]]  # type: ignore[attr-defined]
    time.sleep(1.1)
    login(page, server.url, "carol", PASSWORDS["carol"])
    assert page.url == server.url + "/"  # type: ignore[attr-defined]


def test_session_cookie_is_a_host_cookie_secure_http_only_strict(alice: object) -> None:
    # __Host- needs Secure; Chromium keeps Secure cookies from http://127.0.0.1 (a secure
    # context), so the prefix holds without TLS on loopback.
    (cookie,) = [c for c in alice.context.cookies() if "session" in c["name"]]  # type: ignore[attr-defined]
    assert cookie["name"] == "__Host-vigil_session"
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Strict")
    assert (cookie["path"], cookie["domain"]) == ("/", "127.0.0.1")


def test_overview_counts(alice: object, server: Server, lab: Lab) -> None:
    alice.goto(f"{server.url}/cases/{lab.case}")  # type: ignore[attr-defined]
    with sqlite3.connect(lab.case_db) as conn:
        total = conn.execute("SELECT COUNT(*) FROM contents WHERE media = 'image'").fetchone()[0]
    graded = {c for c, (g, _u) in _newest_grades(lab).items() if g is not None}
    assert total == 16
    text = alice.inner_text("#unknown-left")  # type: ignore[attr-defined]
    assert text == f"{total - len(graded)} of {total} left to grade."
    assert alice.locator("#exhibits td").all_inner_texts()[0] == "EX1"  # type: ignore[attr-defined]


def test_item_detail_shows_exif_provenance_and_near_content(
    alice: object, server: Server, lab: Lab
) -> None:
    cid = lab.ids[EXIF_NAME]
    alice.goto(f"{server.url}/cases/{lab.case}/contents/{cid}")  # type: ignore[attr-defined]
    facts = {k: alice.inner_text(f"#exif-{k}") for k in ("make", "model", "serial", "date", "gps")}  # type: ignore[attr-defined]
    assert facts == {
        "make": "DemoCam",
        "model": "Model 7",
        "serial": "SN-000123",
        "date": "2023:06:01 12:34:56",
        "gps": "51.5, -0.125",
    }
    assert alice.locator("#items td.path").all_inner_texts() == [EXIF_NAME]  # type: ignore[attr-defined]
    trio = sorted(lab.ids[n] for n in NEAR_NAMES)
    alice.goto(f"{server.url}/cases/{lab.case}/contents/{trio[0]}")  # type: ignore[attr-defined]
    links = alice.locator("#near a").all_inner_texts()  # type: ignore[attr-defined]
    assert sorted(links) == sorted(f"content {c}" for c in trio[1:])


def test_known_material_is_metadata_only(page: object, server: Server, lab: Lab) -> None:
    login(page, server.url, "root", PASSWORDS["root"])
    with sqlite3.connect(lab.home / "cases" / "OTHER-1.sqlite") as conn:
        known = conn.execute("SELECT content_id FROM matches").fetchone()[0]
    response = page.goto(f"{server.url}/cases/OTHER-1/tiles/{known}.jpg")  # type: ignore[attr-defined]
    assert response.status == 403
    page.goto(f"{server.url}/cases/OTHER-1/contents/{known}")  # type: ignore[attr-defined]
    assert "metadata only" in page.inner_text("#known-note")  # type: ignore[attr-defined]
    assert page.locator("img").count() == 0  # type: ignore[attr-defined]
    page.goto(f"{server.url}/cases/OTHER-1/grade")  # type: ignore[attr-defined]
    queue = json.loads(page.inner_text("#queue-data"))  # type: ignore[attr-defined]
    assert known not in [i["id"] for i in queue["items"]]


def test_a_person_without_a_session_lands_on_the_login_page(page: object, server: Server) -> None:
    response = page.goto(server.url + "/")  # type: ignore[attr-defined]
    assert (response.status, page.url) == (200, server.url + "/login")  # type: ignore[attr-defined]
    assert page.locator("#login-button").count() == 1  # type: ignore[attr-defined]


def test_less_blur_is_counted_and_never_below_the_floor(
    alice: object, server: Server, lab: Lab
) -> None:
    cid = lab.ids["pictures/00/land_0010.jpg"]
    alice.goto(f"{server.url}/exposure")  # type: ignore[attr-defined]
    before = int(alice.inner_text("#exposure-table tr[data-user='alice'] .tiles-today"))  # type: ignore[attr-defined]
    alice.goto(f"{server.url}/cases/{lab.case}/grade?start={cid}")  # type: ignore[attr-defined]
    _tile_loaded(alice, cid)
    asked: list[str] = []
    alice.on("request", lambda r: asked.append(r.url) if "/tiles/" in r.url else None)  # type: ignore[attr-defined]
    for _ in range(5):  # 12 -> 8 -> 4 -> 4 ...: the page stops at the floor
        alice.keyboard.press("[")  # type: ignore[attr-defined]
    _tile_loaded(alice, cid)
    assert "blur 4" in alice.inner_text("#state")  # type: ignore[attr-defined]
    assert all(not u.endswith(("blur=0", "blur=-4")) for u in asked)
    original = (lab.evidence / "pictures/00/land_0010.jpg").read_bytes()
    shown = alice.evaluate(  # type: ignore[attr-defined]
        "fetch(document.getElementById('tile').dataset.tileUrl).then(r => r.arrayBuffer())"
        ".then(b => Array.from(new Uint8Array(b)))"
    )
    assert bytes(shown) == imaging.blurred_tile(original, imaging.MIN_BLUR)
    sharper = [u for u in asked if u.endswith(("blur=8", "blur=4"))]
    alice.goto(f"{server.url}/exposure")  # type: ignore[attr-defined]
    after = int(alice.inner_text("#exposure-table tr[data-user='alice'] .tiles-today"))  # type: ignore[attr-defined]
    assert after - before == len(sharper) > 1  # every sharper tile fetched, the one above too


def test_a_page_on_another_port_cannot_log_the_browser_in_as_someone_else(
    page: object, server: Server
) -> None:
    # Another local server (another port, same host: cookies are shared) fetches a valid
    # login cookie and token from vigil, plants the cookie in the browser and posts the
    # form with its own account's credentials. The origin check refuses the post.
    import http.server
    import re
    import threading
    import urllib.request

    from review_harness import free_port

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            with urllib.request.urlopen(server.url + "/login") as r:
                cookie = r.headers["set-cookie"].split(";")[0]
                token = re.search(r'name="csrf" value="([^"]+)"', r.read().decode()).group(1)
            body = (
                f'<form id="f" method="post" action="{server.url}/login">'
                f'<input name="name" value="bob"><input name="password" value="{PASSWORDS["bob"]}">'
                f'<input name="csrf" value="{token}"></form>'
                "<script>document.getElementById('f').submit()</script>"
            ).encode()
            self.send_response(200)
            self.send_header("Set-Cookie", cookie + "; Secure; HttpOnly; Path=/; SameSite=Strict")
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    port = free_port()
    httpd = http.server.HTTPServer(("127.0.0.1", port), Attacker)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        answers: list[tuple[str, int]] = []
        page.on("response", lambda r: answers.append((r.url, r.status)))  # type: ignore[attr-defined]
        page.goto(f"http://127.0.0.1:{port}/")  # type: ignore[attr-defined]
        page.wait_for_url(lambda u: u.startswith(server.url))  # type: ignore[attr-defined]
        page.wait_for_load_state()  # type: ignore[attr-defined]
        planted = [c["name"] for c in page.context.cookies()]  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "__Host-vigil_login" in planted  # the plant itself worked...
    assert (server.url + "/login", 403) in answers  # ...the post did not
    assert "__Host-vigil_session" not in planted
