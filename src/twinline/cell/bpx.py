"""BPX export of the cell's parameter set (Battery Parameter eXchange, schema 1.x).

The exported set is the built-in PyBaMM set of the chemistry with the chain's geometry,
porosities, volume fractions, particle radii and transport efficiencies
(:math:`B = \\varepsilon/\\tau`, measured or Bruggeman) in place. Functions of the base set
(OCPs, diffusivities, electrolyte conductivity) are tabulated (BPX ``InterpolatedTable``:
``{"x": [...], "y": [...]}``); the exchange-current density is converted to the BPX
reaction rate constant :math:`k = j_0/(F\\sqrt{(c_e/c_{e0})(c_s/c_{max})(1-c_s/c_{max})})`
at :math:`c_e = c_{e0}`, :math:`c_s = c_{max}/2`, 25 °C. The stoichiometry limits are those
of the balanced, formed cell. When the ``bpx`` package is installed
(``pip install 'twinline[bpx]'``) the document is validated against its schema.

References
----------
.. [1] The BPX standard, https://github.com/FaradayInstitution/BPX (Faraday Institution,
       About:Energy, 2023).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np

from twinline.spec.errors import CellError

CITATIONS: tuple[str, ...] = ("BPX2023",)
F = 96485.33212
T_REF = 298.15


def _evaluate(pv: Any, symbol: Any) -> float:
    return float(np.asarray(pv.evaluate(symbol)).ravel()[0])


def _table(x: np.ndarray, y: list[float]) -> dict[str, list[float]]:
    return {"x": [float(v) for v in x], "y": [float(v) for v in y]}


def bpx_dict(perf: Any, *, title: str = "twinline cell") -> dict[str, Any]:
    """The BPX document (a dict) of a :class:`~twinline.cell.CellPerformance`."""
    import pybamm

    from twinline.cell.electrochemistry import base_parameter_values

    pv = base_parameter_values(perf.parameter_set)
    p = pybamm.LithiumIonParameters()
    S = pybamm.Scalar
    inp = perf.parameters
    win = perf.formation.get("window") or {}
    sto = np.unique(np.concatenate([np.geomspace(1e-4, 0.02, 12), np.linspace(0.02, 0.98, 49),
                                    1.0 - np.geomspace(1e-4, 0.02, 12)]))
    ce = np.linspace(100.0, 3000.0, 30)

    ce0 = float(pv["Initial concentration in electrolyte [mol.m-3]"])

    def particle(dom: str, pdom: Any) -> dict[str, Any]:
        Dom = dom.capitalize()
        c_max = float(pv[f"Maximum concentration in {dom} electrode [mol.m-3]"])
        eps_am = inp[f"{Dom} electrode active material volume fraction"]
        radius = inp[f"{Dom} particle radius [m]"]
        ocp = [_evaluate(pv, pdom.prim.U(S(s), S(T_REF))) for s in sto]
        diff = [_evaluate(pv, pdom.prim.D(S(s * c_max), S(T_REF))) for s in sto]
        cs = c_max / 2.0
        j0 = _evaluate(pv, pdom.prim.j0(S(ce0), S(cs), S(T_REF)))
        k = j0 / (F * np.sqrt((cs / c_max) * (1.0 - cs / c_max)))   # c_e = c_e0
        try:
            sigma = float(pv[f"{Dom} electrode conductivity [S.m-1]"])
        except (TypeError, ValueError):
            sigma = _evaluate(pv, pdom.sigma(S(0.5), S(T_REF)))
        lo, hi = (("x_0", "x_100") if dom == "negative" else ("y_100", "y_0"))
        return {
            "Thickness [m]": inp[f"{Dom} electrode thickness [m]"],
            "Porosity": inp[f"{Dom} electrode porosity"],
            "Transport efficiency": inp[f"{Dom} electrode porosity"]
            / inp[f"{Dom} electrode tortuosity factor (electrolyte)"],
            "Conductivity [S.m-1]": sigma,
            "Minimum stoichiometry": float(win.get(lo, 0.01)),
            "Maximum stoichiometry": float(win.get(hi, 0.99)),
            "Maximum concentration [mol.m-3]": c_max,
            "Particle radius [m]": radius,
            "Surface area per unit volume [m-1]": 3.0 * eps_am / radius,
            "Diffusivity [m2.s-1]": _table(sto, diff),
            "OCP [V]": _table(sto, ocp),
            "Entropic change coefficient [V.K-1]": 0.0,
            "Reaction rate constant [mol.m-2.s-1]": float(k),
        }

    electrolyte = {
        "Cation transference number": _evaluate(pv, p.t_plus(S(1000.0), S(T_REF))),
        "Diffusivity [m2.s-1]": _table(ce, [_evaluate(pv, p.D_e(S(c), S(T_REF))) for c in ce]),
        "Conductivity [S.m-1]": _table(
            ce, [_evaluate(pv, p.kappa_e(S(c), S(T_REF))) for c in ce]),
    }
    d = perf.design
    area = inp["Electrode height [m]"] * inp["Electrode width [m]"]
    dims = d["dimensions"]
    if "thickness" in dims:
        ext = 2 * (dims["length"] * dims["width"] + dims["length"] * dims["thickness"]
                   + dims["width"] * dims["thickness"])
    else:
        ext = np.pi * dims["diameter"] * dims["height"] + np.pi * dims["diameter"] ** 2 / 2
    doc = {
        "Header": {
            "BPX": "1.0.0",
            "Title": title,
            "Description": (f"twinline {perf.model} parameters on PyBaMM set "
                            f"{perf.parameter_set}; geometry and microstructure from the "
                            f"manufacturing chain (tortuosity: {perf.tortuosity_source})."),
            "References": f"PyBaMM parameter set {perf.parameter_set}; twinline",
            "Model": perf.model if perf.model in ("DFN", "SPMe", "SPM") else "DFN",
        },
        "Parameterisation": {
            "Cell": {
                "Electrode area [m2]": area,
                "External surface area [m2]": float(ext),
                "Volume [m3]": float(perf.volume),
                "Number of electrode pairs connected in parallel to make a cell": 1,
                "Lower voltage cut-off [V]": float(pv["Lower voltage cut-off [V]"]),
                "Upper voltage cut-off [V]": float(pv["Upper voltage cut-off [V]"]),
                "Nominal cell capacity [A.h]": float(perf.nominal_capacity),
                "Reference temperature [K]": T_REF,
                "Density [kg.m-3]": float(perf.mass / perf.volume),
                "Specific heat capacity [J.K-1.kg-1]": 1000.0,
            },
            "Electrolyte": electrolyte,
            "Negative electrode": particle("negative", p.n),
            "Positive electrode": particle("positive", p.p),
            "Separator": {
                "Thickness [m]": inp["Separator thickness [m]"],
                "Porosity": inp["Separator porosity"],
                "Transport efficiency": inp["Separator porosity"]
                / inp["Separator tortuosity factor (electrolyte)"],
            },
        },
        "State": {
            "Initial conditions": {
                "Initial state-of-charge": 1.0,
                "Initial temperature [K]": T_REF,
                "Initial electrolyte concentration [mol.m-3]": float(
                    pv["Initial concentration in electrolyte [mol.m-3]"]),
            },
        },
    }
    return doc


def validate(doc: dict[str, Any]) -> bool:
    """Validate against the ``bpx`` package's schema; False when it is not installed."""
    try:
        import bpx
    except ImportError:
        return False
    try:
        bpx.parse_bpx_obj(copy.deepcopy(doc))  # the parser mutates its argument
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        msg = " ".join(str(err).split())[:600]
        raise CellError(f"the BPX document does not validate: {msg}"
                        ) from None
    return True


def export_bpx(perf: Any, *, title: str = "twinline cell") -> str:
    """BPX JSON text of a :class:`~twinline.cell.CellPerformance` (validated when possible)."""
    doc = bpx_dict(perf, title=title)
    validate(doc)
    return json.dumps(doc, indent=2)
