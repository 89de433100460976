"""`twinline cell` verbs."""

from __future__ import annotations

import typer

app = typer.Typer(help="cell commands.", no_args_is_help=True)
