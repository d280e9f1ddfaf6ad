"""``vigil serve`` and ``vigil user add|assign|unlock|list``: the review app's commands."""

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


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    db: Annotated[
        str | None,
        typer.Option(help="Case-store URL holding every case (default: per-case SQLite)."),
    ] = None,
    lab_db: LabOption = None,
    scheme: Annotated[str, typer.Option(help="Grading scheme: uk or projectvic.")] = "uk",
) -> None:
    """Serve the review app (grade unknown pictures, blurred by default)."""
    import uvicorn

    from vigil.home import vigil_home
    from vigil.web.app import AppSettings, create_app

    app = create_app(AppSettings(vigil_home(), _lab_url(lab_db), db, scheme))
    out.print(f"vigil review on http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="examiner, reviewer or admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    lab_db: LabOption = None,
) -> None:
    """Add a user to the lab database (password hashed with Argon2)."""
    from vigil.web.accounts import add_user
    from vigil.web.lab import open_lab

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the passwords differ")
    user = add_user(open_lab(_lab_url(lab_db)), name, role, password)
    out.print(f"added {user.name} ({user.role})")


def user_assign(
    name: Annotated[str, typer.Argument(help="The user.")],
    case: Annotated[str, typer.Argument(help="The case.")],
    db: Annotated[str | None, typer.Option(help="Case-store URL (for the audit entry).")] = None,
    lab_db: LabOption = None,
) -> None:
    """Give a user access to a case (logged in the case's audit chain)."""
    from vigil.home import vigil_home
    from vigil.store import audit
    from vigil.store.api import actor
    from vigil.web.accounts import assign
    from vigil.web.cases import CaseRegistry
    from vigil.web.lab import open_lab

    registry = CaseRegistry(vigil_home(), db)
    store, case_id = registry.store(case)
    new = assign(open_lab(_lab_url(lab_db)), name, case, actor())
    if new:
        with store.engine.begin() as conn:
            audit.append(conn, case_id, actor(), "assign", {"user": name})
    registry.close()
    out.print(f"{name} {'assigned to' if new else 'was already assigned to'} {case}")


def user_unlock(
    name: Annotated[str, typer.Argument(help="The user.")], lab_db: LabOption = None
) -> None:
    """Lift a lock-out after repeated wrong passwords."""
    from vigil.web.accounts import unlock
    from vigil.web.lab import open_lab

    unlock(open_lab(_lab_url(lab_db)), name)
    out.print(f"unlocked {name}")


def user_list(lab_db: LabOption = None) -> None:
    """List users, roles and assigned cases."""
    from vigil.web.accounts import assigned_cases, list_users
    from vigil.web.lab import open_lab

    lab = open_lab(_lab_url(lab_db))
    for u in list_users(lab):
        out.print(f"{u.name}\t{u.role}\t{', '.join(sorted(assigned_cases(lab, u)))}")


def register(app: typer.Typer) -> None:
    """Mount ``serve`` and the ``user`` group on the main ``vigil`` app.

    Args:
        app: The main Typer application.
    """
    app.command()(serve)
    users = typer.Typer(no_args_is_help=True, help="Review-app users and case assignments.")
    users.command("add")(user_add)
    users.command("assign")(user_assign)
    users.command("unlock")(user_unlock)
    users.command("list")(user_list)
    app.add_typer(users, name="user")
