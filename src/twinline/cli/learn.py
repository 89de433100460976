"""Top-level `twinline` verbs of the learn layer."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the main app."""
