"""`twinline materials` verbs."""

from __future__ import annotations

import typer

app = typer.Typer(help="materials commands.", no_args_is_help=True)
