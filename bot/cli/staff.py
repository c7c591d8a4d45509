"""`skillsbot staff ...`: who holds the admin, staff and analyst roles; the audit log.

Also home to what every staff command line shares: the audit actor (`cli_actor`) and
times in the configured zone (`local_time`); plain text tables come from `bot.core.tables`
(re-exported as `text_table`).
The database is opened by `bot.cli.database`.
"""

from __future__ import annotations

import getpass
import re
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from bot.cli.database import command_database, command_settings
from bot.core.limits import MAX_TELEGRAM_USER_ID
from bot.core.tables import text_table

__all__ = ["app", "cli_actor", "local_time", "text_table"]

# The command line does not call Telegram: the running bot brings menus up to date from
# the roster (bot.runtime.menus), at start-up and every half minute.
MENU_FOLLOWS = "Their command menu in Telegram follows within a minute (or when the bot starts)."

app = typer.Typer(help="Give and take away staff roles; read the audit log.", no_args_is_help=True)


@app.callback()
def staff() -> None:
    """Staff roles (admin, staff, analyst) in the database named by DATABASE_URL."""


def cli_actor() -> str:
    """The audit log's actor for the command line: `cli:<os user>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli:unknown"


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """A stored UTC time as people read it in `zone` (the settings' SKILLSBOT_TIMEZONE),
    e.g. `2026-03-02 09:30`."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


_USER_ID = re.compile(r"[0-9]{1,16}", re.ASCII)


def telegram_user_id(value: str) -> int:
    """A Telegram user id written in ASCII digits only, within Telegram's range.

    Typer's own integers go through `int()`, which also reads "1_000" as 1000 and "+78" or
    " 77" as numbers: a mistyped id must be refused, not turned into someone else's (and an
    id out of range once reached the database, which could not store it)."""
    text = str(value)
    if _USER_ID.fullmatch(text) and 1 <= int(text) <= MAX_TELEGRAM_USER_ID:
        return int(text)
    raise typer.BadParameter(
        f"{text[:40]!r} is not a Telegram user id (digits 0-9 only, 1 to {MAX_TELEGRAM_USER_ID})"
    )


USER_ID = typer.Argument(help="The Telegram user id.", parser=telegram_user_id)


@app.command("add")
def add(
    user_id: Annotated[int, USER_ID],
    role: Annotated[str, typer.Argument(help="admin, staff or analyst.")],
) -> None:
    """Give a Telegram user a role (replacing the role they had)."""
    from storage import Session, utcnow
    from storage.staff import UnknownRole, parse_role, record_audit, set_role

    try:
        chosen = parse_role(role)
    except UnknownRole as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    settings = command_settings()
    with (
        command_database(settings.database_url) as engine,
        Session(engine) as session,
        session.begin(),
    ):
        now = utcnow()
        set_role(session, telegram_user_id=user_id, role=chosen, added_by=cli_actor(), now=now)
        record_audit(session, actor=cli_actor(), action="role.add", count=1, detail=chosen, now=now)
    typer.echo(f"{user_id} is now {chosen}. {MENU_FOLLOWS}")


@app.command("remove")
def remove(user_id: Annotated[int, USER_ID]) -> None:
    """Take a Telegram user's role away."""
    from storage import Session, utcnow
    from storage.staff import record_audit, remove_role

    settings = command_settings()
    with (
        command_database(settings.database_url) as engine,
        Session(engine) as session,
        session.begin(),
    ):
        removed = remove_role(session, telegram_user_id=user_id)
        if removed:
            record_audit(
                session, actor=cli_actor(), action="role.remove", count=1, detail="", now=utcnow()
            )
    typer.echo(
        f"{user_id} no longer has a role. {MENU_FOLLOWS}" if removed else f"{user_id} had no role."
    )


@app.command("list")
def list_staff() -> None:
    """Everyone with a role."""
    from storage import Session
    from storage.staff import staff_members

    settings = command_settings()
    with command_database(settings.database_url) as engine, Session(engine) as session:
        members = staff_members(session)
        rows = [
            [str(m.telegram_user_id), m.role, m.added_by, local_time(m.added_at, settings.zone)]
            for m in members
        ]
    if not rows:
        typer.echo("Nobody has a role yet (admins come from SKILLSBOT_ADMINS when the bot starts).")
        return
    typer.echo(text_table(["user id", "role", "added by", "added"], rows))


@app.command("audit")
def audit(
    limit: Annotated[int, typer.Option(help="How many entries, newest first.", min=1)] = 50,
) -> None:
    """The newest entries of the audit log of staff actions."""
    from storage import Session
    from storage.staff import audit_entries

    settings = command_settings()
    with command_database(settings.database_url) as engine, Session(engine) as session:
        rows = [
            [local_time(e.at, settings.zone), e.actor, e.action, str(e.count), e.detail]
            for e in audit_entries(session, limit=limit)
        ]
    if not rows:
        typer.echo("The audit log is empty.")
        return
    typer.echo(text_table(["when", "who", "action", "count", "detail"], rows))
