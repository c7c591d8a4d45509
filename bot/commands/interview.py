"""`skillsbot interview ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="interview commands", no_args_is_help=True)
