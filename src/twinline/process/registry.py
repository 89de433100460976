"""Step-model registry and the range checks shared by the step models.

The steps themselves are listed once, in :data:`twinline.spec.steps.STEP_TABLE`; each names
the module that defines its ``MODELS`` (model name → step function), its ``OUTPUTS``
(catalogue id → :class:`Output`) and its ``CITATIONS``. :func:`get_model` maps
``(step, model name)`` to the step function, with the closest match in the error when a
name is unknown. :func:`check_validity` and :func:`check_physical` are
the two checks every step model makes on its (possibly array-valued) inputs and results:
a setting outside the model's validity range is a warning (:class:`ValidityWarning`,
collected by the chain), a physically impossible result is a :class:`ProcessError`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from twinline.spec.errors import ProcessError, RecipeError, SpecError, warn_validity
from twinline.spec.steps import get_step

#: getter(products, sections) → SI value (float or Monte Carlo array): ``products`` maps the
#: product keys of the step table to the products of one electrode (or of the cell),
#: ``sections`` the step names to the recipe sections as evaluated.
Getter = Callable[[dict[str, Any], dict[str, Any]], Any]


class Output(NamedTuple):
    """How a step reports one catalogue parameter: SI unit, value and (optional) std getter."""

    si_unit: str
    value: Getter
    std: Getter | None = None


#: Models added at run time (e.g. learned surrogates, ``twinline.learn.surrogate``):
#: step → {name: function}. Process-local: a Dask worker must register them itself.
_REGISTERED: dict[str, dict[str, Callable[..., Any]]] = {}


def step_module(step: str) -> ModuleType:
    """The module of a step of the step table (``MODELS``, ``OUTPUTS``, ``CITATIONS``)."""
    try:
        return importlib.import_module(get_step(step).module)
    except SpecError as err:
        raise RecipeError(str(err)) from None


def available_models(step: str) -> dict[str, Callable[..., Any]]:
    """The ``MODELS`` mapping of a step (``{name: function}``), plus registered models."""
    return dict(step_module(step).MODELS) | _REGISTERED.get(step, {})


def default_model(step: str) -> str:
    """The model a step uses when its section names none: the first of ``MODELS``."""
    return next(iter(step_module(step).MODELS))


def step_outputs(step: str) -> dict[str, Output]:
    """The catalogue outputs a step reports (``OUTPUTS`` of its module; may be empty)."""
    return dict(getattr(step_module(step), "OUTPUTS", {}))


def register_model(step: str, name: str, fn: Callable[..., Any], *,
                   replace: bool = False) -> None:
    """Make ``fn`` selectable as ``<step>.model: name`` in recipes (this process only).

    ``fn`` has the step signature ``(section, product, materials) -> product``. A built-in
    name cannot be shadowed; an already registered one only with ``replace=True``.
    """
    builtin = dict(step_module(step).MODELS)  # an unknown step raises with the choices
    if name in builtin or (name in _REGISTERED.get(step, {}) and not replace):
        raise RecipeError(f"{step}.model = {name!r} is already taken; choose another name")
    _REGISTERED.setdefault(step, {})[name] = fn


def unregister_model(step: str, name: str) -> None:
    """Remove a model added by :func:`register_model` (no error if absent)."""
    _REGISTERED.get(step, {}).pop(name, None)


def get_model(step: str, name: str) -> Callable[..., Any]:
    """The step function registered as ``name`` for ``step``.

    Raises
    ------
    RecipeError
        If the step or the model name is unknown; the message lists the choices and the
        closest match (``did you mean ...``).

    Examples
    --------
    >>> get_model("calendering", "heckel").__name__
    'calender'
    """
    models = available_models(step)
    if name not in models:
        near = difflib.get_close_matches(str(name).strip(), list(models), n=1, cutoff=0.5)
        raise RecipeError(f"{step}.model = {name!r} is unknown; choose from {sorted(models)}"
                          + (f"; did you mean {near[0]!r}?" if near else ""))
    return models[name]


def model_citations(step: str) -> tuple[str, ...]:
    """BibTeX keys (``references.bib``) of the models of ``step``."""
    return tuple(getattr(step_module(step), "CITATIONS", ()))


def check_validity(step: str, parameter: str, value: Any, unit: str, low: float,
                   high: float) -> list[str]:
    """Warn when any element of ``value`` lies outside ``[low, high]`` (in ``unit``).

    Works on scalars and arrays (Monte Carlo samples): the smallest and the largest
    element are checked. Returns the warning messages (empty when inside).
    """
    arr = np.asarray(value, dtype=float)
    if arr.size == 0:
        return []
    msgs = []
    lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    for v in {lo, hi}:
        msg = warn_validity(step, parameter, v, unit, low, high, stacklevel=4)
        if msg:
            msgs.append(msg)
            break
    return msgs


def check_physical(step: str, name: str, value: Any, unit: str, *, low: float = 0.0,
                   high: float = np.inf, low_open: bool = True, high_open: bool = True,
                   hint: str = "") -> None:
    """Raise :class:`ProcessError` when a result is physically impossible.

    ``value`` must lie in the interval between ``low`` and ``high`` (open ends by default);
    NaN is refused too. The message names the step, the quantity, the value and the range.
    """
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) & ~np.isinf(arr)  # NaN
    bad |= (arr <= low) if low_open else (arr < low)
    bad |= (arr >= high) if high_open else (arr > high)
    if np.any(bad):
        worst = arr[bad].flat[0]
        lo_b, hi_b = ("(" if low_open else "["), (")" if high_open else "]")
        raise ProcessError(
            f"{step}: {name} = {worst:.4g} {unit} is physically impossible; it must lie in "
            f"{lo_b}{low:g}, {high:g}{hi_b} {unit}" + (f" ({hint})" if hint else ""))
