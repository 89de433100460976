"""`twinline recipe` verbs."""

from __future__ import annotations

import typer

app = typer.Typer(help="recipe commands.", no_args_is_help=True)
