"""The review app: FastAPI routes over the lab database and the case stores.

Pages are server-rendered (Jinja2); ``static/review.js`` drives keyboard grading on
one page without reloads. Every state change needs the session's CSRF token and a
request from the app's own origin; every reveal, grade and refused grade is written to
the case's audit chain. ``create_app`` returns the app inside ``security.Guard``
(Host allow-list, body-size limit, protective headers on every answer).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import FastAPI, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from vigil.errors import EvidenceError, UsageError
from vigil.hashsets.schemes import Scheme, load_scheme
from vigil.intel.bank import BankFeeder
from vigil.store import audit
from vigil.web import accounts, casedata, exposure, imaging, stacks, video
from vigil.web.accounts import Session
from vigil.web.cases import CaseRegistry, OpenCase
from vigil.web.evidence import read_item
from vigil.web.grading import (
    MAX_ID,
    GradeRefused,
    GradeRequest,
    UndoLog,
    check_reviewable,
    json_body,
    log_refusal,
    parse_grade,
)
from vigil.web.lab import open_lab
from vigil.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Guard,
    LoginTokens,
    check_csrf,
    clear_cookie,
    same_origin,
    set_cookie,
)
from vigil.web.tiles import TileCache

HERE = FilePath(__file__).parent
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
log = logging.getLogger("vigil.web")

ContentId = Annotated[int, Path(ge=1, le=MAX_ID)]
CaseName = Annotated[str, Path(min_length=1, max_length=200)]
SeriesId = Annotated[str, Path(pattern=stacks.SERIES_ID.pattern)]


@dataclass(frozen=True)
class AppSettings:
    """Where the app finds its data, which grading scheme it uses, its limits."""

    home: FilePath
    lab_url: str
    db_url: str | None = None
    scheme: str = "uk"
    host_names: tuple[str, ...] = LOOPBACK_NAMES
    idle_minutes: float = accounts.IDLE_MINUTES
    lifetime_hours: float = accounts.LIFETIME_HOURS


class LoginRequired(Exception):
    """Raised by a route when the request has no live session."""


def _keys(scheme: Scheme) -> list[dict[str, str]]:
    # One key per grade: its code when that is a single letter or digit, else 1, 2, 3...
    out = []
    for n, g in enumerate(scheme.grades, start=1):
        key = g.code if len(g.code) == 1 and g.code.isalnum() else str(n)
        out.append({"key": key.lower(), "code": g.code, "label": g.label})
    return out


LOGIN_MESSAGES = {
    "bad": "Wrong name or password.",
    "wait": "Too many wrong passwords for this name. Try again in {s} seconds.",
    "busy": "The server is busy checking other logins. Try again in {s} seconds.",
}
LOGIN_CODES = {"bad": 401, "wait": 429, "busy": 503}


def create_app(settings: AppSettings) -> Guard:
    """Build the review app.

    Args:
        settings: Data locations, grading scheme, accepted host names, session limits.

    Returns:
        The ASGI application (the FastAPI app is its ``app`` attribute).
    """
    lab: Engine = open_lab(settings.lab_url)
    registry = CaseRegistry(settings.home, settings.db_url)
    scheme = load_scheme(settings.scheme)
    keys = _keys(scheme)
    tiles = TileCache()
    undo_log = UndoLog()
    series_cache = stacks.SeriesCache()
    bank = BankFeeder(lab, settings.home, scheme.name)
    login_tokens = LoginTokens()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        # Region signatures of the last grades still queued: kept before the app stops.
        await run_in_threadpool(bank.close)

    app = FastAPI(
        title="vigil review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.lab = lab
    app.state.registry = registry
    app.state.series_cache = series_cache
    app.state.bank = bank

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        # A person (a browser asking for a page) goes to the login form; API clients 401.
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/login", status_code=303)
        return JSONResponse({"detail": "login required"}, status_code=401)

    def need_session(request: Request) -> Session:
        session = accounts.find_session(
            lab, request.cookies.get(SESSION_COOKIE), settings.idle_minutes
        )
        if session is None:
            raise LoginRequired()
        return session

    def open_case(session: Session, case: str) -> OpenCase:
        if not accounts.may_open(lab, session.user, case):
            raise HTTPException(status_code=403, detail="you are not assigned to this case")
        try:
            return registry.open(case)
        except UsageError as exc:
            raise HTTPException(status_code=404, detail="no such case") from exc

    def page(request: Request, name: str, session: Session | None, **context: Any) -> Response:
        return templates.TemplateResponse(
            request,
            name,
            {"session": session, "csrf": session.csrf if session else "", **context},
        )

    def login_page(request: Request, error: str | None, status: int = 200) -> Response:
        cookie, token = login_tokens.issue()
        response = page(request, "login.html", None, login_csrf=token, error=error)
        response.status_code = status
        set_cookie(response, LOGIN_CSRF_COOKIE, cookie)
        return response

    # -- login ---------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return login_page(request, None)

    @app.post("/login")
    def login(
        request: Request,
        name: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=1024)],
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        if not same_origin(request) or not login_tokens.check(
            request.cookies.get(LOGIN_CSRF_COOKIE), csrf
        ):
            raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
        remote = request.client.host if request.client else "unknown"
        result = accounts.authenticate(lab, name, password, remote)
        if result.status != "ok" or result.user is None:
            message = LOGIN_MESSAGES[result.status].format(s=result.retry_after)
            response = login_page(request, message, LOGIN_CODES[result.status])
            if result.retry_after:
                response.headers["Retry-After"] = str(result.retry_after)
            return response
        response = RedirectResponse("/", status_code=303)
        token = accounts.start_session(lab, result.user, remote, settings.lifetime_hours)
        set_cookie(response, SESSION_COOKIE, token, max_age=int(settings.lifetime_hours * 3600))
        clear_cookie(response, LOGIN_CSRF_COOKIE)
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        session = need_session(request)
        check_csrf(request, session.csrf, csrf)
        accounts.end_session(lab, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        clear_cookie(response, SESSION_COOKIE)
        return response

    # -- pages -----------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        session = need_session(request)
        names = registry.names()
        if not session.user.is_admin:
            mine = accounts.assigned_cases(lab, session.user)
            names = [n for n in names if n in mine]
        mine_exposure = exposure.exposure(lab, only=session.user)
        return page(request, "home.html", session, cases=names, exposure=mine_exposure)

    @app.get("/cases/{case}", response_class=HTMLResponse)
    def case_overview(request: Request, case: CaseName) -> Response:
        session = need_session(request)
        oc = open_case(session, case)
        case_id = oc.case_id
        with oc.reader.connect() as conn:
            ov = casedata.overview(conn, case_id)
        return page(request, "overview.html", session, case=case, ov=ov, scheme=scheme)

    @app.get("/cases/{case}/grade", response_class=HTMLResponse)
    def grade_page(request: Request, case: CaseName) -> Response:
        session = need_session(request)
        oc = open_case(session, case)
        case_id = oc.case_id
        with oc.reader.connect() as conn:
            q = casedata.queue(conn, case_id)
        data = {
            "case": case,
            "keys": keys,
            "blur": imaging.DEFAULT_BLUR,
            "blurRange": [imaging.MIN_BLUR, imaging.MAX_BLUR],
            "items": [
                {"id": e.content_id, "media": e.media, "grade": e.grade, "group": list(e.group)}
                for e in q
            ],
        }
        mine = exposure.exposure(lab, only=session.user)
        return page(
            request,
            "grade.html",
            session,
            case=case,
            keys=keys,
            scheme=scheme,
            queue_json=json.dumps(data).replace("<", "\\u003c"),
            exposure=mine,
        )

    @app.get("/cases/{case}/series", response_class=HTMLResponse)
    def series_page(request: Request, case: CaseName) -> Response:
        session = need_session(request)
        oc = open_case(session, case)
        with oc.reader.connect() as conn:
            found = stacks.stacks(conn, oc.case_id, series_cache)
        data = {"case": case, "keys": keys, "blur": imaging.DEFAULT_BLUR}
        return page(
            request,
            "series.html",
            session,
            case=case,
            keys=keys,
            scheme=scheme,
            stacks=found,
            shown=stacks.SHOWN,
            blur=imaging.DEFAULT_BLUR,
            page_json=json.dumps(data).replace("<", "\\u003c"),
        )

    @app.get("/cases/{case}/contents/{content_id}", response_class=HTMLResponse)
    def content_detail(request: Request, case: CaseName, content_id: ContentId) -> Response:
        session = need_session(request)
        oc = open_case(session, case)
        case_id = oc.case_id
        with oc.reader.connect() as conn:
            d = casedata.detail(conn, case_id, content_id)
            src = casedata.source(conn, case_id, content_id)
        if d is None:
            raise HTTPException(status_code=404, detail="no such content in this case")
        exif, exif_error = None, None
        if src is not None and d.content["media"] == "image":
            try:
                exif = imaging.exif_facts(read_item(src))
            except EvidenceError as exc:
                exif_error = str(exc)
        return page(
            request,
            "detail.html",
            session,
            case=case,
            d=d,
            exif=exif,
            exif_error=exif_error,
            scheme=scheme,
        )

    @app.get("/cases/{case}/audit", response_class=HTMLResponse)
    def audit_page(request: Request, case: CaseName) -> Response:
        session = need_session(request)
        oc = open_case(session, case)
        case_id = oc.case_id
        with oc.reader.connect() as conn:
            entries = audit.entries(conn, case_id)
        return page(request, "audit.html", session, case=case, entries=list(reversed(entries)))

    @app.get("/exposure", response_class=HTMLResponse)
    def exposure_page(request: Request) -> Response:
        session = need_session(request)
        only = None if session.user.is_admin else session.user
        return page(request, "exposure.html", session, rows=exposure.exposure(lab, only=only))

    @app.get("/admin", response_class=HTMLResponse)
    def admin_page(request: Request, done: str | None = None) -> Response:
        session = need_session(request)
        if not session.user.is_admin:
            raise HTTPException(status_code=403, detail="administrators only")
        people = [(u, sorted(accounts.assigned_cases(lab, u))) for u in accounts.list_users(lab)]
        return page(
            request, "admin.html", session, people=people, cases=registry.names(), done=done
        )

    @app.post("/admin/assign")
    def admin_assign(
        request: Request,
        name: Annotated[str, Form(max_length=200)],
        case: Annotated[str, Form(max_length=200)],
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        session = need_session(request)
        check_csrf(request, session.csrf, csrf)
        if not session.user.is_admin:
            raise HTTPException(status_code=403, detail="administrators only")
        try:
            store, case_id = registry.store(case)
            accounts.assign(lab, name, case, session.user.name)
        except UsageError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        with store.engine.begin() as conn:
            audit.append(conn, case_id, session.user.name, "assign", {"user": name})
        return RedirectResponse("/admin?done=1", status_code=303)

    # -- pictures and grades ----------------------------------------------------------

    def _check_unknown(conn: Any, case_id: int, content_id: int) -> None:
        # Membership first: another case's content is "not here" (404), whether or not a
        # hash set knows it, so 403-vs-404 tells nothing about other cases.
        found = casedata.standing(conn, case_id, content_id)
        if found == "missing":
            raise HTTPException(status_code=404, detail="no such content in this case")
        if found == "known":
            raise HTTPException(status_code=403, detail="known material is never shown")

    def _unknown_source(conn: Any, case_id: int, content_id: int) -> casedata.Source:
        _check_unknown(conn, case_id, content_id)
        src = casedata.source(conn, case_id, content_id)
        if src is None:
            raise HTTPException(status_code=404, detail="no such content in this case")
        return src

    @app.get("/cases/{case}/tiles/{content_id}.jpg")
    def tile(
        request: Request,
        case: CaseName,
        content_id: ContentId,
        blur: Annotated[int | None, Query(ge=-1000, le=1000)] = None,
    ) -> Response:
        session = need_session(request)
        oc = open_case(session, case)
        radius = imaging.clamp_blur(blur)
        # Checked on every view, cached or not: a content that became known since its
        # tile was cached is refused from then on.
        key = (case, content_id, radius)
        with oc.reader.connect() as conn:
            _check_unknown(conn, oc.case_id, content_id)
            body = tiles.get(key)
            if body is None:
                src = _unknown_source(conn, oc.case_id, content_id)
                frames = casedata.keyframes(conn, content_id) if src.media == "video" else []
        if body is None:
            try:
                if src.media == "video":
                    body = imaging.keyframe_strip(frames, radius)
                else:
                    data = read_item(src)
                    body = imaging.blurred_tile(data, radius)
            except EvidenceError as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from exc
            tiles.put(key, body)
        if radius < imaging.DEFAULT_BLUR:
            exposure.record_reveal(lab, session.user, case, content_id, "tile", radius)
        return Response(body, media_type="image/jpeg")

    def refused(oc: OpenCase, session: Session, exc: UsageError, body: Any) -> HTTPException:
        # Every refused grade or undo is an audit entry before the 400 goes out.
        log_refusal(oc.engine, oc.case_id, session.user.name, str(exc), body)
        log.warning("grade refused for %s: %s", session.user.name, exc)
        return HTTPException(status_code=400, detail=str(exc))

    def grade_json(
        request: Request, case: str, raw: bytes, series_id: str | None = None
    ) -> Response:
        # ``series_id``: grade every member of that series (as the server forms it).
        session = need_session(request)
        check_csrf(request, session.csrf)
        oc = open_case(session, case)
        payload: Any = raw[:1000]
        try:
            payload = json_body(raw)
            if series_id is None:
                wanted = parse_grade(payload, scheme)
            else:
                grade = stacks.parse_stack_grade(payload, scheme)
                with oc.reader.connect() as conn:
                    wanted = GradeRequest(stacks.members_of(conn, oc.case_id, series_id,
                                                                  series_cache), grade)
            check_reviewable(oc, wanted.content_ids)
            key = (session.id, case)
            done = undo_log.grade(oc, key, wanted, scheme, session.user.name, series_id)
        except GradeRefused as exc:
            shown = payload if series_id is None else {"series": series_id, "body": payload}
            raise refused(oc, session, exc, shown) from exc
        bank.feed(oc.reader, case, dict.fromkeys(done, wanted.grade), session.user.name)
        answer: dict[str, Any] = {"graded": done, "grade": wanted.grade}
        if series_id is not None:
            answer["series"] = series_id
        return JSONResponse(answer)

    @app.post("/cases/{case}/grades")
    async def grade(request: Request, case: CaseName) -> Response:
        # The body is read here and decoded by grade_json, so that even a body that is
        # not JSON is a refused grade in the audit chain (not a bare 422).
        raw = await request.body()
        return await run_in_threadpool(grade_json, request, case, raw)

    @app.post("/cases/{case}/series/{series_id}/grades")
    async def series_grade(request: Request, case: CaseName, series_id: SeriesId) -> Response:
        # Every member of the series gets the grade, each with its own audit entry.
        raw = await request.body()
        return await run_in_threadpool(grade_json, request, case, raw, series_id)

    @app.post("/cases/{case}/undo")
    def undo(request: Request, case: CaseName) -> Response:
        session = need_session(request)
        check_csrf(request, session.csrf)
        oc = open_case(session, case)
        try:
            restored = undo_log.undo(oc, (session.id, case), scheme, session.user.name)
        except GradeRefused as exc:
            raise refused(oc, session, exc, {"undo": True}) from exc
        bank.feed(oc.reader, case, restored, session.user.name)
        return JSONResponse({"restored": {str(k): v for k, v in sorted(restored.items())}})

    @app.post("/cases/{case}/reveal/{content_id}")
    def reveal(request: Request, case: CaseName, content_id: ContentId) -> Response:
        session = need_session(request)
        check_csrf(request, session.csrf)
        oc = open_case(session, case)
        case_id = oc.case_id
        with oc.reader.connect() as conn:
            src = _unknown_source(conn, case_id, content_id)
        details: dict[str, Any] = {"content": content_id, "item": src.item_path}
        try:
            data = read_item(src)
            if src.media == "video":
                # A video is revealed as a sheet of frames at reduced resolution.
                body, count = video.contact_sheet(data)
                details.update(media="video", frames=count, side=video.FRAME_SIDE)
            else:
                body = imaging.revealed(data)
        except EvidenceError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        # Logged before a single unblurred byte leaves the server.
        with oc.engine.begin() as conn:
            audit.append(conn, case_id, session.user.name, "reveal", details)
        exposure.record_reveal(lab, session.user, case, content_id)
        return Response(body, media_type="image/jpeg")

    @app.get("/api/exposure")
    def exposure_json(request: Request) -> Response:
        session = need_session(request)
        rows = exposure.exposure(lab, only=session.user)
        return JSONResponse(
            [
                {
                    "user": r.user,
                    "today": r.today,
                    "week": r.week,
                    "tiles_today": r.tiles_today,
                    "tiles_week": r.tiles_week,
                }
                for r in rows
            ]
        )

    return Guard(app, settings.host_names)
