"""The review app: FastAPI routes over the lab database and the case stores.

Pages are server-rendered (Jinja2); ``static/review.js`` drives keyboard grading on
one page without reloads. Every state change needs the session's CSRF token; every
reveal and grade is written to the case's audit chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from vigil.errors import EvidenceError, UsageError
from vigil.hashsets.schemes import Scheme, load_scheme
from vigil.store import audit
from vigil.web import accounts, casedata, exposure, imaging
from vigil.web.accounts import Session
from vigil.web.cases import CaseRegistry
from vigil.web.evidence import read_item
from vigil.web.grading import record_grades
from vigil.web.lab import open_lab
from vigil.web.security import (
    HEADERS,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    new_token,
    session_of,
    set_cookie,
    tokens_equal,
)
from vigil.web.tiles import TileCache

HERE = Path(__file__).parent


@dataclass(frozen=True)
class AppSettings:
    """Where the app finds its data and which grading scheme it uses."""

    home: Path
    lab_url: str
    db_url: str | None = None
    scheme: str = "uk"


class LoginRequired(Exception):
    """Raised by a route when the request has no live session."""


def _keys(scheme: Scheme) -> list[dict[str, str]]:
    # One key per grade: its code when that is a single letter or digit, else 1, 2, 3...
    out = []
    for n, g in enumerate(scheme.grades, start=1):
        key = g.code if len(g.code) == 1 and g.code.isalnum() else str(n)
        out.append({"key": key.lower(), "code": g.code, "label": g.label})
    return out


def create_app(settings: AppSettings) -> FastAPI:
    """Build the review app.

    Args:
        settings: Data locations and grading scheme.

    Returns:
        The FastAPI application.
    """
    lab: Engine = open_lab(settings.lab_url)
    registry = CaseRegistry(settings.home, settings.db_url)
    scheme = load_scheme(settings.scheme)
    keys = _keys(scheme)
    tiles = TileCache()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app = FastAPI(title="vigil review", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.lab = lab
    app.state.registry = registry

    @app.middleware("http")
    async def protective_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/login", status_code=303)
        return JSONResponse({"detail": "login required"}, status_code=401)

    def need_session(request: Request) -> Session:
        session = session_of(request, lab)
        if session is None:
            raise LoginRequired()
        return session

    def open_case(session: Session, case: str) -> tuple[Engine, int]:
        if not accounts.may_open(lab, session.user, case):
            raise HTTPException(status_code=403, detail="you are not assigned to this case")
        try:
            store, case_id = registry.store(case)
        except UsageError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        return store.engine, case_id

    def page(request: Request, name: str, session: Session | None, **context: Any) -> Response:
        return templates.TemplateResponse(
            request,
            name,
            {"session": session, "csrf": session.csrf if session else "", **context},
        )

    # -- login ---------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, error: str | None = None) -> Response:
        token = new_token()
        response = page(request, "login.html", None, login_csrf=token, error=error)
        set_cookie(response, LOGIN_CSRF_COOKIE, token)
        return response

    @app.post("/login")
    def login(
        request: Request,
        name: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        if not tokens_equal(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
            raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
        remote = request.client.host if request.client else "unknown"
        result = accounts.authenticate(lab, name, password, remote)
        if result.status != "ok" or result.user is None:
            messages = {
                "bad": "Wrong name or password.",
                "locked": "This account is locked after repeated wrong passwords. "
                "Try again later or ask an administrator.",
                "rate-limited": "Too many failed logins from this address. Try again later.",
            }
            token = new_token()
            code = 429 if result.status == "rate-limited" else 401
            response = page(
                request, "login.html", None, login_csrf=token, error=messages[result.status]
            )
            response.status_code = code
            set_cookie(response, LOGIN_CSRF_COOKIE, token)
            return response
        response = RedirectResponse("/", status_code=303)
        set_cookie(
            response,
            SESSION_COOKIE,
            accounts.start_session(lab, result.user),
            max_age=accounts.SESSION_HOURS * 3600,
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        session = need_session(request)
        check_csrf(request, session, csrf)
        accounts.end_session(lab, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
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
    def case_overview(request: Request, case: str) -> Response:
        session = need_session(request)
        engine, case_id = open_case(session, case)
        with engine.connect() as conn:
            ov = casedata.overview(conn, case_id)
        return page(request, "overview.html", session, case=case, ov=ov, scheme=scheme)

    @app.get("/cases/{case}/grade", response_class=HTMLResponse)
    def grade_page(request: Request, case: str) -> Response:
        session = need_session(request)
        engine, case_id = open_case(session, case)
        with engine.connect() as conn:
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

    @app.get("/cases/{case}/contents/{content_id}", response_class=HTMLResponse)
    def content_detail(request: Request, case: str, content_id: int) -> Response:
        session = need_session(request)
        engine, case_id = open_case(session, case)
        with engine.connect() as conn:
            d = casedata.detail(conn, case_id, content_id)
            src = casedata.source(conn, case_id, content_id)
        if d is None:
            raise HTTPException(status_code=404, detail="no such content in this case")
        exif, exif_error = None, None
        if src is not None and d.content["media"] == "image":
            try:
                exif = imaging.exif_facts(
                    read_item(src.evidence_path, src.item_path)
                )
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
    def audit_page(request: Request, case: str) -> Response:
        session = need_session(request)
        engine, case_id = open_case(session, case)
        with engine.connect() as conn:
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
        name: Annotated[str, Form()],
        case: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        session = need_session(request)
        check_csrf(request, session, csrf)
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

    def _unknown_source(conn: Any, case_id: int, content_id: int) -> casedata.Source:
        if casedata.is_known(conn, content_id):
            raise HTTPException(status_code=403, detail="known material is never shown")
        src = casedata.source(conn, case_id, content_id)
        if src is None:
            raise HTTPException(status_code=404, detail="no such content in this case")
        return src

    @app.get("/cases/{case}/tiles/{content_id}.jpg")
    def tile(
        request: Request,
        case: str,
        content_id: int,
        blur: Annotated[int | None, Query()] = None,
    ) -> Response:
        session = need_session(request)
        engine, case_id = open_case(session, case)
        radius = imaging.clamp_blur(blur)
        key = (case, content_id, radius)
        body = tiles.get(key)
        if body is None:
            with engine.connect() as conn:
                src = _unknown_source(conn, case_id, content_id)
                thumb = casedata.thumbnail(conn, content_id)
            try:
                if thumb is not None:
                    body = imaging.blur_jpeg(thumb, radius)
                else:
                    data = read_item(src.evidence_path, src.item_path)
                    body = imaging.blurred_tile(data, radius)
            except EvidenceError as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from exc
            tiles.put(key, body)
        return Response(body, media_type="image/jpeg")

    @app.post("/cases/{case}/grades")
    def grade(
        request: Request,
        case: str,
        payload: Annotated[dict[str, Any], Body()],
    ) -> Response:
        session = need_session(request)
        check_csrf(request, session)
        engine, case_id = open_case(session, case)
        ids = payload.get("content_ids")
        value = payload.get("grade")
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise HTTPException(status_code=400, detail="content_ids must be a list of ids")
        if value is not None and not isinstance(value, str):
            raise HTTPException(status_code=400, detail="grade must be a code or null")
        action = (
            "grade-undo" if payload.get("undo") else ("grade-bulk" if len(ids) > 1 else "grade")
        )
        try:
            done = record_grades(
                engine, case_id, ids, scheme, value, session.user.name, action=action
            )
        except UsageError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        return JSONResponse({"graded": done, "grade": value})

    @app.post("/cases/{case}/reveal/{content_id}")
    def reveal(request: Request, case: str, content_id: int) -> Response:
        session = need_session(request)
        check_csrf(request, session)
        engine, case_id = open_case(session, case)
        with engine.connect() as conn:
            src = _unknown_source(conn, case_id, content_id)
        try:
            body = imaging.revealed(read_item(src.evidence_path, src.item_path))
        except EvidenceError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        # Logged before a single unblurred byte leaves the server.
        with engine.begin() as conn:
            audit.append(
                conn,
                case_id,
                session.user.name,
                "reveal",
                {"content": content_id, "item": src.item_path},
            )
        exposure.record_reveal(lab, session.user, case, content_id)
        return Response(body, media_type="image/jpeg")

    @app.get("/api/exposure")
    def exposure_json(request: Request) -> Response:
        session = need_session(request)
        rows = exposure.exposure(lab, only=session.user)
        return JSONResponse([{"user": r.user, "today": r.today, "week": r.week} for r in rows])

    return app
