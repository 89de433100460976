"""Helpers shared by the CLI verbs: error exit and consoles."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import typer
from rich.console import Console

from twinline.spec.errors import one_line

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr (one line: :func:`twinline.spec.errors.one_line`);
    return the Exit to raise."""
    from rich.markup import escape

    message = one_line(message)
    # escape: messages contain "[length] / [time]", "[0, 1]", which Rich would eat as markup
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=code)


def warning_line(message: str) -> str:
    """The text printed for a warning: ``warning: <message>`` on one line (see one_line)."""
    return f"warning: {one_line(message)}"


def _from_twinline(category: type[Warning], filename: str) -> bool:
    """A warning twinline means for the user: a validity/convergence warning, or a
    UserWarning raised from twinline's own code."""
    import os

    from twinline.spec.errors import ConvergenceWarning, ValidityWarning

    if issubclass(category, ValidityWarning | ConvergenceWarning):
        return True
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return issubclass(category, UserWarning) and os.path.abspath(filename).startswith(package)


def install_warning_printer() -> Callable[[], None]:
    """Print twinline's warnings as ``warning: <message>`` lines; return the undo function.

    Python prints a warning as ``/path/cell/__init__.py:239: ValidityWarning: ...`` plus the
    source line; a person needs the message only. Other warnings (from libraries) keep
    Python's format. Called once per CLI invocation (the Typer callback of
    :mod:`twinline.cli`), the only place twinline touches warning display.
    """
    import warnings

    from rich.markup import escape

    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not _from_twinline(category, filename):
            previous(message, category, filename, lineno, file, line)
            return
        err_console.print(f"[yellow]warning:[/yellow] {escape(one_line(str(message)))}",
                          highlight=False, soft_wrap=True)

    warnings.showwarning = show

    def restore() -> None:
        if warnings.showwarning is show:
            warnings.showwarning = previous

    return restore


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
