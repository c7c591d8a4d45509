"""`skillsbot interview ...`: check interview definitions and try them in the terminal."""

from __future__ import annotations

import typer

from bot.commands.interview_try import try_interview

app = typer.Typer(help="Check interview definitions and try them in the terminal.", no_args_is_help=True)
app.command("try")(try_interview)
