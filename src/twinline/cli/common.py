"""Helpers shared by the CLI verbs: error exit and consoles."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


MAX_LINE = 2000
"""Longest error or warning line the CLI prints [characters]; longer ones are elided."""


def one_line(message: str, limit: int = MAX_LINE) -> str:
    """``message`` on one line (newlines shown as ``\\n``), at most about ``limit`` characters.

    The last guard before a message reaches the terminal: messages quote values through
    :func:`twinline.spec.errors.quote`, but whatever slips through (a library's message, a
    file name) still cannot print a 50 MB line.
    """
    from twinline.spec.errors import elide

    text = message if len(message) <= 4 * limit else elide(message, 4 * limit)
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return elide(text, limit)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr (one line, see :func:`one_line`); return the Exit."""
    from rich.markup import escape

    message = one_line(message)
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


