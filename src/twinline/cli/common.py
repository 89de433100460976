"""Helpers shared by the CLI verbs: error exit and consoles."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr (one line) and return the Exit to raise."""
    from rich.markup import escape

    # escape: messages contain "[length] / [time]", "[0, 1]", which Rich would eat as markup
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=code)


@contextlib.contextmanager
def handle_errors() -> Iterator[None]:
    """Turn a :class:`TwinlineError` into a one-line message and exit code 2."""
    from twinline.spec.errors import TwinlineError

    try:
        yield
    except TwinlineError as err:
        raise fail(str(err)) from None


