"""``vigil serve`` and ``vigil user ...``: the review app's commands."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console

from vigil.errors import UsageError

out = Console()

LabOption = Annotated[
    str | None, typer.Option("--lab-db", help="Lab database URL (default: VIGIL_HOME/lab.sqlite).")
]


def _lab_url(lab_db: str | None) -> str:
    from vigil.home import vigil_home
    from vigil.web.lab import default_lab_url

    return lab_db or default_lab_url(vigil_home())


def _host_names(host: str, names: list[str] | None) -> tuple[str, ...]:
    from vigil.web.app import LOOPBACK_NAMES

    if names:
        return tuple(names)
    if host in LOOPBACK_NAMES:
        return LOOPBACK_NAMES
    return (host,)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    db: Annotated[
        str | None,
        typer.Option(help="Case-store URL holding every case (default: per-case SQLite)."),
    ] = None,
    lab_db: LabOption = None,
    scheme: Annotated[str, typer.Option(help="Grading scheme: uk or projectvic.")] = "uk",
    host_name: Annotated[
        list[str] | None,
        typer.Option(
            "--host-name",
            help="A host name the app answers to (repeatable; default: the loopback "
            "names when --host is loopback, else --host). Others get 421.",
        ),
    ] = None,
    trusted_proxy: Annotated[
        str | None,
        typer.Option(
            "--trusted-proxy",
            help="Address of a reverse proxy whose X-Forwarded-For is believed "
            "(default: none; the header is ignored).",
        ),
    ] = None,
    idle_minutes: Annotated[
        float, typer.Option(help="A session ends after this long without a request.")
    ] = 30,
    lifetime_hours: Annotated[
        float, typer.Option(help="A session ends this long after its login.")
    ] = 12,
) -> None:
    """Serve the review app (grade unknown pictures, blurred by default)."""
    import uvicorn

    from vigil.home import vigil_home
    from vigil.web.app import AppSettings, create_app

    settings = AppSettings(
        vigil_home(),
        _lab_url(lab_db),
        db,
        scheme,
        host_names=_host_names(host, host_name),
        idle_minutes=idle_minutes,
        lifetime_hours=lifetime_hours,
    )
    app = create_app(settings)
    out.print(f"vigil review on http://{host}:{port}/")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        proxy_headers=trusted_proxy is not None,
        forwarded_allow_ips=trusted_proxy or "",
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise UsageError("the passwords differ")
    return password


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="examiner, reviewer or admin.")],
    password_stdin: PasswordStdin = False,
    lab_db: LabOption = None,
) -> None:
    """Add a user to the lab database (password hashed with Argon2)."""
    from vigil.web.accounts import add_user
    from vigil.web.lab import open_lab

    user = add_user(open_lab(_lab_url(lab_db)), name, role, _read_password(password_stdin))
    out.print(f"added {user.name} ({user.role})")


def user_passwd(
    name: Annotated[str, typer.Argument(help="The user.")],
    password_stdin: PasswordStdin = False,
    lab_db: LabOption = None,
) -> None:
    """Set a new password; every open session of the user ends."""
    from vigil.web.accounts import set_password
    from vigil.web.lab import open_lab

    set_password(open_lab(_lab_url(lab_db)), name, _read_password(password_stdin))
    out.print(f"password of {name} changed; its sessions ended")


def user_disable(
    name: Annotated[str, typer.Argument(help="The user.")], lab_db: LabOption = None
) -> None:
    """Disable a user: logins refused, every open session ends."""
    from vigil.web.accounts import set_disabled
    from vigil.web.lab import open_lab

    set_disabled(open_lab(_lab_url(lab_db)), name, True)
    out.print(f"disabled {name}")


def user_enable(
    name: Annotated[str, typer.Argument(help="The user.")], lab_db: LabOption = None
) -> None:
    """Enable a disabled user again."""
    from vigil.web.accounts import set_disabled
    from vigil.web.lab import open_lab

    set_disabled(open_lab(_lab_url(lab_db)), name, False)
    out.print(f"enabled {name}")


def user_sessions(
    name: Annotated[str, typer.Argument(help="The user.")], lab_db: LabOption = None
) -> None:
    """List a user's open sessions: id, opened, last seen, expires, address."""
    from vigil.web.accounts import list_sessions
    from vigil.web.lab import open_lab

    for s in list_sessions(open_lab(_lab_url(lab_db)), name):
        fields = (s.id, s.created_at, s.last_seen or "-", s.expires_at, s.remote or "-")
        typer.echo("\t".join(fields))


def user_revoke(
    name: Annotated[str, typer.Argument(help="The user.")],
    session: Annotated[
        str | None, typer.Option(help="One session id (from `vigil user sessions`).")
    ] = None,
    lab_db: LabOption = None,
) -> None:
    """End one session of a user, or all of them."""
    from vigil.web.accounts import revoke
    from vigil.web.lab import open_lab

    n = revoke(open_lab(_lab_url(lab_db)), name, session)
    out.print(f"ended {n} session{'s' if n != 1 else ''} of {name}")


UserArg = Annotated[str, typer.Argument(help="The user.")]
CaseArg = Annotated[str, typer.Argument(help="The case.")]
CaseDbOption = Annotated[str | None, typer.Option(help="Case-store URL (for the audit entry).")]


def _change_assignment(
    name: str, case: str, db: str | None, lab_db: str | None, give: bool
) -> bool:
    # Assigning and unassigning are both an admin's act, logged in the case's audit chain.
    from vigil.home import vigil_home
    from vigil.store import audit
    from vigil.store.api import actor
    from vigil.web.accounts import assign, unassign
    from vigil.web.cases import CaseRegistry
    from vigil.web.lab import open_lab

    registry = CaseRegistry(vigil_home(), db)
    store, case_id = registry.store(case)
    lab = open_lab(_lab_url(lab_db))
    changed = assign(lab, name, case, actor()) if give else unassign(lab, name, case)
    if changed:
        with store.engine.begin() as conn:
            audit.append(conn, case_id, actor(), "assign" if give else "unassign", {"user": name})
    registry.close()
    return changed


def user_assign(
    name: UserArg, case: CaseArg, db: CaseDbOption = None, lab_db: LabOption = None
) -> None:
    """Give a user access to a case (logged in the case's audit chain)."""
    new = _change_assignment(name, case, db, lab_db, give=True)
    out.print(f"{name} {'assigned to' if new else 'was already assigned to'} {case}")


def user_unassign(
    name: UserArg, case: CaseArg, db: CaseDbOption = None, lab_db: LabOption = None
) -> None:
    """Take a case away from a user (logged in the case's audit chain)."""
    gone = _change_assignment(name, case, db, lab_db, give=False)
    out.print(f"{name} {'no longer assigned to' if gone else 'was not assigned to'} {case}")


def user_unlock(
    name: Annotated[str, typer.Argument(help="The user.")], lab_db: LabOption = None
) -> None:
    """Clear the wait after repeated wrong passwords (the count starts again)."""
    from vigil.web.accounts import unlock
    from vigil.web.lab import open_lab

    unlock(open_lab(_lab_url(lab_db)), name)
    out.print(f"cleared the login wait of {name}")


def user_list(lab_db: LabOption = None) -> None:
    """List users, roles and assigned cases."""
    from vigil.web.accounts import assigned_cases, list_users
    from vigil.web.lab import open_lab

    lab = open_lab(_lab_url(lab_db))
    for u in list_users(lab):
        state = "\tdisabled" if u.disabled else ""
        typer.echo(f"{u.name}\t{u.role}\t{', '.join(sorted(assigned_cases(lab, u)))}{state}")


def register(app: typer.Typer) -> None:
    """Mount ``serve`` and the ``user`` group on the main ``vigil`` app.

    Args:
        app: The main Typer application.
    """
    app.command()(serve)
    users = typer.Typer(no_args_is_help=True, help="Review-app users and case assignments.")
    users.command("add")(user_add)
    users.command("assign")(user_assign)
    users.command("unassign")(user_unassign)
    users.command("passwd")(user_passwd)
    users.command("disable")(user_disable)
    users.command("enable")(user_enable)
    users.command("sessions")(user_sessions)
    users.command("revoke")(user_revoke)
    users.command("unlock")(user_unlock)
    users.command("list")(user_list)
    app.add_typer(users, name="user")
