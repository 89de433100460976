r"""Target-property electrodes: solve the machine settings that make them.

A recipe may give an electrode by what it should be (``target:`` porosity after calendering
and the coating thickness and/or dry loading per side) instead of the comma-coater gap and
the calender pressure. The chain's own electrode steps are inverted, one setting each:

* **gap → loading.** The dry areal loading depends on the gap only through the coating and
  drying steps (:math:`m = \rho_{slurry}\,h_{wet}(G)\,w_{solid}`, :mod:`twinline.process.
  coating`); it rises monotonically with the gap, so the gap :math:`G` with
  :math:`m(G) = m_{target}` is found by Brent's method on :math:`\ln G` over 1 µm–2 mm.
* **pressure → porosity.** The Heckel-type law of the calendering step
  (:mod:`twinline.process.calendering`) lowers the porosity monotonically with the nip
  pressure :math:`P` from the dried coating's porosity towards its floor; :math:`P` with
  :math:`\varepsilon(P) = \varepsilon_{target}` is found by Brent's method over 0–1 GPa.

Given only the thickness :math:`L`, the loading target is :math:`L(1-\varepsilon)\rho_s`
(:math:`\rho_s` the formulation's solid density); given thickness *and* loading, the
thickness is checked against that identity (validity warning beyond 3 %). A target that no
setting reaches (porosity above the dried coating's or below the compaction floor) is
refused with one line naming it. A solved setting outside the machine's window (comma gap
40–500 µm, calender 0–200 MPa, the steps' validity ranges) is accepted with a warning: the
step's own validity warning and a line of this module's.

The solved settings replace the recipe's (``coating.gap``, ``calendering.pressure``), so the
Run's ``inputs`` report them and the forward run reproduces the targets
(tests/chain/test_targets.py: round trip to 0.1 %).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from twinline.spec.errors import ProcessError, ValidityWarning

GAP_BRACKET = (1e-6, 2e-3)  # m: the recipe schema's range of the comma gap
PRESSURE_BRACKET = (0.0, 1e9)  # Pa: the recipe schema's range of the nip pressure
PRESSURE_WINDOW = (0.0, 200e6)  # Pa: the calendering step's validity range
THICKNESS_TOLERANCE = 0.03  # relative: thickness vs loading/(1-ε)ρ_s
XTOL = 1e-6  # relative tolerance of the solved targets


def _forward(name: str, electrode: Any, composition: Any, materials: Any) -> dict[str, Any]:
    from twinline.chain.steps import evaluate_electrode

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate_electrode(name, electrode, composition, materials)


def _with(electrode: Any, *, gap: float, pressure: float) -> Any:
    from twinline.spec.recipe import CalenderingSection, CoatingSection

    coat = electrode.coating or CoatingSection(method="comma", gap=f"{gap!r} m")
    coat = coat.model_copy(update={"gap": float(gap), "method": "comma"})
    cal = electrode.calendering or CalenderingSection(pressure=f"{pressure!r} Pa")
    cal = cal.model_copy(update={"pressure": float(pressure), "line_load": None})
    return electrode.model_copy(update={"coating": coat, "calendering": cal})


def _brent(f, lo: float, hi: float, what: str) -> float:
    from scipy.optimize import brentq

    flo, fhi = f(lo), f(hi)
    if flo * fhi > 0:
        raise ProcessError(what)
    return float(brentq(f, lo, hi, xtol=1e-15, rtol=1e-10, maxiter=200))


def _solve_gap(error, window: tuple[float, float], what: str) -> float:
    """Gap [m] with ``error(ln gap) = 0``: bracketed from the coater's window outwards
    (factor 1.25 a step, within :data:`GAP_BRACKET`), then Brent's method."""
    lo, hi = math.log(window[0]), math.log(window[1])
    step = math.log(1.25)
    try:
        flo, fhi = error(lo), error(hi)
        while flo > 0 and lo - step >= math.log(GAP_BRACKET[0]):
            hi, fhi = lo, flo
            lo -= step
            flo = error(lo)
        while fhi < 0 and hi + step <= math.log(GAP_BRACKET[1]):
            lo, flo = hi, fhi
            hi += step
            fhi = error(hi)
    except ProcessError:
        raise ProcessError(what) from None
    return math.exp(_brent(error, lo, hi, what))


def solve_electrode(
    name: str, electrode: Any, composition: Any, materials: Any
) -> tuple[Any, dict[str, Any]]:
    """Settings that make ``electrode.target``; returns the electrode with the solved
    ``coating.gap`` and ``calendering.pressure`` and a record (SI, with warnings).

    Raises
    ------
    ProcessError
        When no gap (1 µm–2 mm) or no pressure (0–1 GPa) reaches the target.
    """
    from twinline.process.coating import CommaCoater

    t = electrode.target
    eps = float(t.porosity)
    rho_s = float(composition.solid_density)
    loading = float(t.loading) if t.loading is not None else float(t.thickness) * (1 - eps) * rho_s
    notes: list[str] = []
    if t.loading is not None and t.thickness is not None:
        implied = loading / ((1 - eps) * rho_s)
        if abs(implied / float(t.thickness) - 1) > THICKNESS_TOLERANCE:
            notes.append(
                f"{name}.target: thickness {float(t.thickness) * 1e6:.1f} um does not "
                f"follow from loading {loading * 100:.3g} mg/cm^2 and porosity "
                f"{eps:.3f} (they give {implied * 1e6:.1f} um with the formulation's "
                f"solid density {rho_s:.0f} kg/m^3); loading and porosity are made"
            )

    p0 = PRESSURE_BRACKET[0]

    def loading_error(log_gap: float) -> float:
        prods = _forward(
            name, _with(electrode, gap=math.exp(log_gap), pressure=p0), composition, materials
        )
        return prods["dry"].areal_loading / loading - 1.0

    gap = _solve_gap(
        loading_error,
        CommaCoater().gap_range,
        f"{name}.target.loading = {loading * 100:.4g} mg/cm^2 cannot be coated: "
        f"no comma gap in {GAP_BRACKET[0] * 1e6:g}-{GAP_BRACKET[1] * 1e6:g} um "
        f"that the coating and drying steps accept gives it",
    )
    dried = _forward(name, _with(electrode, gap=gap, pressure=p0), composition, materials)
    eps_dry = float(dried["calendered"].porosity)

    def porosity_error(pressure: float) -> float:
        prods = _forward(name, _with(electrode, gap=gap, pressure=pressure), composition, materials)
        return float(prods["calendered"].porosity) - eps

    pressure = _brent(
        porosity_error,
        *PRESSURE_BRACKET,
        f"{name}.target.porosity = {eps:.4g} cannot be reached by calendering: "
        f"the dried coating's porosity is {eps_dry:.4g} and the calender lowers "
        f"it towards its compaction floor (allowed: floor < porosity <= "
        f"{eps_dry:.4g})",
    )
    solved = _with(electrode, gap=gap, pressure=pressure)
    window = CommaCoater().gap_range
    if not window[0] <= gap <= window[1]:
        notes.append(
            f"{name}.target: solved comma gap {gap * 1e6:.1f} um is outside the "
            f"coater's window {window[0] * 1e6:g}-{window[1] * 1e6:g} um"
        )
    if not PRESSURE_WINDOW[0] <= pressure <= PRESSURE_WINDOW[1]:
        notes.append(
            f"{name}.target: solved nip pressure {pressure / 1e6:.1f} MPa is outside "
            f"the calender's window {PRESSURE_WINDOW[0] / 1e6:g}-"
            f"{PRESSURE_WINDOW[1] / 1e6:g} MPa"
        )
    for msg in notes:
        warnings.warn(msg, ValidityWarning, stacklevel=2)
    record = {
        "scope": name,
        "step": "target",
        "model": "solve gap and pressure",
        "gap": gap,
        "pressure": pressure,
        "target_loading": loading,
        "target_porosity": eps,
        "dried_porosity": eps_dry,
        "warnings": notes,
    }
    return solved, record


def solve_targets(recipe: Any, materials: Any) -> tuple[Any, list[dict[str, Any]]]:
    """The recipe with every ``target`` electrode's gap and pressure solved, and the records."""
    from twinline.chain.steps import POLARITY
    from twinline.process.composition import resolve_composition

    update: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for name, electrode in recipe.electrodes().items():
        if getattr(electrode, "target", None) is None:
            continue
        comp = resolve_composition(electrode, materials, POLARITY[name])
        update[name], rec = solve_electrode(name, electrode, comp, materials)
        records.append(rec)
    if not update:
        return recipe, records
    return recipe.model_copy(update=update), records
