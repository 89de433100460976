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
    msg = (f"{step}: {parameter} = {value:.4g} {unit} is outside the model's validity range "
           f"[{low:.4g}, {high:.4g}] {unit}")
    warnings.warn(msg, ValidityWarning, stacklevel=stacklevel)
    return msg
