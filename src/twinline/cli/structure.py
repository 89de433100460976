"""`twinline structure` verbs."""

from __future__ import annotations

import typer

app = typer.Typer(help="structure commands.", no_args_is_help=True)
