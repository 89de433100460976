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




#: Help text of the ``--quiet`` option of the long-running verbs.
QUIET_HELP = "no progress bar (it is also off when stderr is not a terminal)"


class _Bar:
    """What :func:`progress_bar` yields: ``bar(completed, total=None, description=None)``."""

    def __init__(self, progress, task) -> None:
        self.progress, self.task = progress, task

    def __call__(self, completed: float | None = None, total: float | None = None,
                 description: str | None = None) -> None:
        kw = {k: v for k, v in (("completed", completed), ("total", total),
                                ("description", description)) if v is not None}
        self.progress.update(self.task, **kw)


@contextlib.contextmanager
def progress_bar(description: str, *, quiet: bool = False,
                 total: float | None = None) -> Iterator[_Bar]:
    """A Rich progress bar on stderr for a verb that can take more than ~2 s.

    ``total=None`` shows a running bar with the elapsed time (for work that cannot report how
    far it is). Off with ``quiet`` and when stderr is not a terminal (piped, redirected, in
    tests), so that nothing but the results reaches a log.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True,
                  disable=quiet or not err_console.is_terminal) as prog:
        yield _Bar(prog, prog.add_task(description, total=total))


def show_progress(quiet: bool) -> bool:
    """Whether a verb should draw a progress bar (not ``--quiet``, stderr a terminal)."""
    return not quiet and err_console.is_terminal
