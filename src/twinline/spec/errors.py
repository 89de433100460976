"""Exception types, one per layer.

Every message is written for a person: it names the parameter, the value, its unit and
the allowed range. The CLI prints ``str(err)`` on one line and exits with code 2.
"""

from __future__ import annotations

import warnings


class TwinlineError(Exception):
    """Base class of every error twinline raises on purpose (bad input, impossible result)."""


class RecipeError(TwinlineError, ValueError):
    """A recipe (or an argument standing for one) is malformed, out of range or inconsistent."""


class SpecError(TwinlineError, KeyError):
    """An unknown catalogue parameter, or a catalogue that is inconsistent."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MaterialError(TwinlineError, KeyError):
    """An unknown material, a missing property, or a malformed material file."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ProcessError(TwinlineError, RuntimeError):
    """A step model produced a physically impossible product (names the step)."""


class StructureError(TwinlineError, ValueError):
    """A 3D image or structure argument is invalid (not a label image, empty phase, ...)."""


class CellError(TwinlineError, ValueError):
    """A cell design or electrochemical simulation cannot be built or solved."""


class MissingExtraError(TwinlineError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class ValidityWarning(UserWarning):
    """A setting lies outside the range a model was built and validated for."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before reaching its tolerance."""


QUOTE_LIMIT = 200
"""Most characters of a user's value that a message quotes (see :func:`quote`)."""


def elide(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters, the middle replaced by a count.

    Keeps the start and the end, which is where a person recognises a value:
    ``'aaaa…[49,999,800 characters]…aaaa'``. Text within the limit comes back unchanged.

    Examples
    --------
    >>> elide("x" * 1000, 20)
    'xxxxxxxxxx…[980 characters]…xxxxxxxxxx'
    """
    if len(text) <= limit:
        return text
    head = max(1, limit // 2)
    tail = max(1, limit - head)
    return f"{text[:head]}…[{len(text) - head - tail:,} characters]…{text[-tail:]}"


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for an error message, at most about ``limit`` characters.

    Every message that echoes a user's value (a recipe value, a material name, a unit)
    goes through this function, so a 50 MB string gives a short line. Long strings are cut
    *before* ``repr`` (a huge value is never copied whole); the middle is elided, see
    :func:`elide`.

    Examples
    --------
    >>> quote("NMC111")
    "'NMC111'"
    >>> quote("a" * 10_000, 20)
    "'aaaaaaaaaa…[9,980 characters]…aaaaaaaaaa'"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        head, tail = limit // 2, limit - limit // 2
        # escapes (\n, \x00) lengthen the kept ends; cut them back to their share
        inner = (repr(value[:head])[1:-1][:head] + f"…[{len(value) - head - tail:,} characters]…"
                 + repr(value[-tail:])[1:-1][-tail:])
        return f"'{inner}'"
    if isinstance(value, list | tuple | dict | set) and len(value) > limit:
        # repr of a huge container would be built whole before it is cut
        return f"<{type(value).__name__} of {len(value):,} items>"
    try:
        text = reprlib_repr(value)
    except RecursionError:
        return f"<{type(value).__name__}>"
    return elide(text, limit)


def reprlib_repr(value: object) -> str:
    """A ``repr`` that bounds the work on nested containers (3 levels, 20 items each)."""
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxset = 3, 20, 20, 20, 20
    r.maxstring, r.maxother = 10_000, 10_000
    r.maxlong = 1_000
    return r.repr(value)


def require(module: str, extra: str):
    """Import ``module`` or raise :class:`MissingExtraError` naming the ``twinline[extra]``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"this feature needs the optional package {module!r}: "
            f"pip install 'twinline[{extra}]'"
        ) from None


def warn_validity(step: str, parameter: str, value: float, unit: str, low: float, high: float,
                  *, stacklevel: int = 3) -> str | None:
    """Warn (and return the message) when ``value`` lies outside ``[low, high]``.

    Used by step models for settings that are possible but outside the validity range of
    the model; returns ``None`` when the value is inside.
    """
    if low <= value <= high:
        return None
    u = f" {unit}" if unit else ""
    msg = (f"{step}: {parameter} = {value:.4g}{u} is outside the model's validity range "
           f"[{low:.4g}, {high:.4g}]{u}")
    warnings.warn(msg, ValidityWarning, stacklevel=stacklevel)
    return msg


MAX_LINE = 2000
"""Longest error or warning line printed or answered [characters]; longer ones are elided."""


def one_line(message: str, limit: int = MAX_LINE) -> str:
    """``message`` on one line (newlines shown as ``\\n``), at most about ``limit`` characters.

    The last guard before a message reaches the terminal: messages quote values through
    :func:`twinline.spec.errors.quote`, but whatever slips through (a library's message, a
    file name) still cannot print a 50 MB line.
    """
    text = message if len(message) <= 4 * limit else elide(message, 4 * limit)
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return elide(text, limit)
