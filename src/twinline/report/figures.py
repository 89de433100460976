"""Plotly figures of a chain run: viscosity curve, coating window, drying curve, compaction.

Each function takes the products of one electrode (``run.products["cathode"]``) and the
recipe section it came from, evaluates the *package's step models* over a range of the
setting (so the curve is what the model predicts, not a sketch), marks the operating point
and returns a :class:`plotly.graph_objects.Figure` with labelled axes and units. Plotly is
imported inside the functions (``import twinline`` stays light).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

#: Colours of the operating point and the model curve.
POINT = dict(color="#d62728", size=11, symbol="x")
LINE = dict(color="#1f77b4", width=2)


def _go():
    import plotly.graph_objects as go

    return go


def _layout(fig, title: str, xtitle: str, ytitle: str, *, xlog=False, ylog=False):
    fig.update_layout(title=title, template="plotly_white", height=380,
                      margin=dict(l=70, r=20, t=50, b=55), legend=dict(x=0.01, y=0.99))
    fig.update_xaxes(title_text=xtitle, type="log" if xlog else "linear")
    fig.update_yaxes(title_text=ytitle, type="log" if ylog else "linear")
    return fig


def _log_range(values: Any, *also: float) -> list[float]:
    """A log axis' range (log10 units, as Plotly wants) spanning ``values`` and ``also``
    with a margin: the coatable band drawn as a shape would otherwise let the autorange run
    over tens of decades."""
    v = np.asarray([*np.ravel(values), *also], dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return [float(np.log10(v.min())) - 0.3, float(np.log10(v.max())) + 0.3]


def viscosity_figure(products: dict[str, Any], *, name: str = ""):
    """Slurry viscosity [Pa s] versus shear rate 0.1–1000 s⁻¹, coatable band, operating point."""
    from twinline.process.mixing import COATABLE_VISCOSITY, SHEAR_RANGE, slurry_viscosity

    go = _go()
    wet = products["wet_film"]
    slurry = wet.slurry
    gamma = np.logspace(np.log10(SHEAR_RANGE[0]), np.log10(SHEAR_RANGE[1]), 121)
    eta = np.asarray(slurry_viscosity(slurry, gamma), dtype=float)
    fig = go.Figure()
    fig.add_hrect(y0=COATABLE_VISCOSITY[0], y1=COATABLE_VISCOSITY[1], fillcolor="green",
                  opacity=0.08, line_width=0, annotation_text="coatable",
                  annotation_position="top left")
    fig.add_trace(go.Scatter(x=gamma, y=eta, mode="lines", line=LINE,
                             name="model (Krieger–Dougherty × Cross)"))
    fig.add_trace(go.Scatter(x=[float(np.mean(slurry.coating_shear_rate))],
                             y=[float(np.mean(slurry.viscosity_at_coating))],
                             mode="markers", marker=POINT, name="coater operating point"))
    fig = _layout(fig, f"{name} slurry viscosity".strip(), "shear rate [1/s]",
                  "viscosity [Pa·s]", xlog=True, ylog=True)
    return fig.update_yaxes(range=_log_range(eta, *COATABLE_VISCOSITY))


def coating_window_figure(products: dict[str, Any], section, materials, *, name: str = ""):
    """Coating window with the operating point.

    Comma coater: viscosity at the coater's shear rate (speed/gap) versus gap, with the
    coatable band; slot die: minimum wet thickness (viscocapillary low-flow limit) versus
    capillary number, with the operating wet thickness.
    """
    from twinline.process import coating as C
    from twinline.process.mixing import COATABLE_VISCOSITY, slurry_viscosity

    go = _go()
    wet = products["wet_film"]
    slurry = wet.slurry
    fig = go.Figure()
    if section.method == "comma":
        lo, hi = C.CommaCoater().gap_range
        gaps = np.linspace(lo, hi, 120)
        eta = np.asarray(slurry_viscosity(slurry, float(np.mean(section.speed)) / gaps))
        h = np.asarray(C.comma_wet_thickness(gaps, slurry.solid_volume_fraction))
        fig.add_hrect(y0=COATABLE_VISCOSITY[0], y1=COATABLE_VISCOSITY[1], fillcolor="green",
                      opacity=0.08, line_width=0, annotation_text="coatable viscosity",
                      annotation_position="top left")
        fig.add_trace(go.Scatter(x=gaps * 1e6, y=eta, mode="lines", line=LINE,
                                 name="viscosity at speed/gap",
                                 customdata=h * 1e6,
                                 hovertemplate="gap %{x:.0f} µm<br>η %{y:.3g} Pa·s<br>"
                                               "wet film %{customdata:.0f} µm"))
        fig.add_trace(go.Scatter(x=[float(np.mean(section.gap)) * 1e6],
                                 y=[float(np.mean(slurry.viscosity_at_coating))],
                                 mode="markers", marker=POINT, name="operating point"))
        fig = _layout(fig, f"{name} coating window (comma coater)".strip(), "gap [µm]",
                      "viscosity at the coating shear rate [Pa·s]", ylog=True)
        return fig.update_yaxes(range=_log_range(eta, *COATABLE_VISCOSITY))
    sigma = materials[slurry.composition.solvent].get("surface_tension")
    u = float(np.mean(section.speed))
    h_op = float(np.mean(wet.wet_thickness))
    kappa = C.SlotDie().gap_ratio
    ca_op = float(np.mean(slurry.viscosity_at_coating)) * u / sigma
    ca = np.logspace(np.log10(max(ca_op / 100, 1e-4)), np.log10(ca_op * 100 + 1e-12), 120)
    h_min = np.asarray(C.slot_die_min_wet_thickness(kappa * h_op, ca))
    fig.add_trace(go.Scatter(x=ca, y=h_min * 1e6, mode="lines", line=LINE,
                             name="minimum wet thickness (low-flow limit)"))
    fig.add_trace(go.Scatter(x=np.r_[ca, ca[::-1]], y=np.r_[h_min * 1e6,
                                                            np.full_like(ca, h_min.max() * 2e6)],
                             fill="toself", fillcolor="rgba(0,128,0,0.08)", line_width=0,
                             name="coatable", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[ca_op], y=[h_op * 1e6], mode="markers", marker=POINT,
                             name="operating point"))
    return _layout(fig, f"{name} coating window (slot die, die gap {kappa:g} × wet film)"
                   .strip(), "capillary number Ca = ηU/σ [-]", "wet film thickness [µm]",
                   xlog=True)


def drying_profile(section, film, materials, *, points: int = 80) -> dict[str, np.ndarray]:
    """Solvent left on the web versus position in the dryer, from the drying model itself.

    The dryer is cut after each position x (zone lengths clipped to x) and the model's
    :func:`twinline.process.drying.dry` evaluated on all cuts at once (it broadcasts).

    Returns
    -------
    dict
        ``position`` [m], ``time`` [s], ``solvent`` [kg m⁻²], ``zone_edges`` [m].
    """
    from twinline.process.drying import dry

    zones = list(section.zones)
    lengths = np.array([float(np.mean(z.length)) for z in zones])
    edges = np.r_[0.0, np.cumsum(lengths)]
    x = np.linspace(0.0, edges[-1], points)
    x[0] = edges[-1] * 1e-4
    cut = []
    for i, z in enumerate(zones):
        li = np.clip(x - edges[i], 1e-9, lengths[i])
        cut.append(z.model_copy(update={"length": li}))
    sec = section.model_copy(update={"zones": cut})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = dry(sec, film, materials)
    speed = section.web_speed if section.web_speed is not None else film.web_speed
    solvent = np.asarray(film.solvent_loading, float) - np.asarray(out.solvent_evaporated,
                                                                    float)
    return {"position": x, "time": x / float(np.mean(speed)),
            "solvent": np.maximum(solvent, 0.0), "zone_edges": edges}


def drying_figure(products: dict[str, Any], section, materials, *, name: str = ""):
    """Solvent on the web [g m⁻²] along the dryer (position [m], time on hover)."""
    go = _go()
    wet = products["wet_film"]
    prof = drying_profile(section, wet, materials)
    fig = go.Figure()
    for i, edge in enumerate(prof["zone_edges"][1:-1]):
        fig.add_vline(x=edge, line_dash="dot", line_color="grey",
                      annotation_text=f"zone {i + 2}", annotation_position="top right")
    fig.add_trace(go.Scatter(x=prof["position"], y=prof["solvent"] * 1e3, mode="lines",
                             line=LINE, name="solvent on the web", customdata=prof["time"],
                             hovertemplate="x %{x:.2f} m, t %{customdata:.1f} s<br>"
                                           "%{y:.1f} g/m²"))
    dry = products["dry"]
    fig.add_trace(go.Scatter(x=[prof["zone_edges"][-1]],
                             y=[float(np.mean(dry.residual_solvent)) * 1e3],
                             mode="markers", marker=POINT, name="dryer exit"))
    return _layout(fig, f"{name} drying curve".strip(), "position in the dryer [m]",
                   "solvent per area [g/m²]")


def compaction_figure(products: dict[str, Any], section, materials, *, name: str = ""):
    """Calendered porosity [-] versus nip pressure [MPa] (Heckel-type law), operating point."""
    from twinline.process.calendering import predict_porosity

    go = _go()
    dry, cal = products["dry"], products["calendered"]
    p_op = float(np.mean(cal.pressure))
    p = np.linspace(0.0, max(2.0 * p_op, 50e6), 120)
    eps = np.asarray(predict_porosity(dry.composition, float(np.mean(dry.porosity)), p,
                                      materials,
                                      roll_temperature=float(np.mean(section.roll_temperature))))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=p / 1e6, y=eps, mode="lines", line=LINE,
                             name="porosity after calendering (model)"))
    fig.add_trace(go.Scatter(x=[p_op / 1e6], y=[float(np.mean(cal.porosity))],
                             mode="markers", marker=POINT,
                             name="operating point"))
    return _layout(fig, f"{name} compaction curve".strip(), "nip pressure [MPa]",
                   "porosity [-]")
