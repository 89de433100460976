"""Figures and the HTML section of the cell: discharge curves, energy/power, wetting.

Every function accepts a :class:`twinline.cell.CellPerformance` or its ``to_dict()`` (what
a stored :class:`twinline.chain.Run` holds in ``run.cell``).
"""

from __future__ import annotations

import html
from typing import Any


def _get(perf: Any, key: str, default: Any = None) -> Any:
    if isinstance(perf, dict):
        return perf.get(key, default)
    return getattr(perf, key, default)


def _layout(fig, title: str, xtitle: str, ytitle: str):
    fig.update_layout(title=title, template="plotly_white", height=380,
                      margin=dict(l=70, r=20, t=50, b=55), legend=dict(x=0.01, y=0.01))
    fig.update_xaxes(title_text=xtitle)
    fig.update_yaxes(title_text=ytitle)
    return fig


def discharge_figure(perf: Any):
    """Voltage [V] vs discharged capacity [A h], one line per C-rate."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for c, curve in zip(_get(perf, "c_rates"), _get(perf, "discharge_curves"), strict=True):
        fig.add_trace(go.Scatter(x=curve["capacity_Ah"], y=curve["voltage_V"], mode="lines",
                                 name=f"{c:g} C"))
    return _layout(fig, f"Discharge curves ({_get(perf, 'model')}, "
                        f"{_get(perf, 'parameter_set')})",
                   "discharge capacity [A h]", "voltage [V]")


def energy_power_figure(perf: Any):
    """Capacity [A h] and energy [W h] against C-rate, with mean power [W] on hover."""
    import plotly.graph_objects as go

    rates = list(_get(perf, "c_rates"))
    cap, en = list(_get(perf, "capacity")), list(_get(perf, "energy"))
    power = []  # mean power [W] = energy / discharge time
    for e, curve in zip(en, _get(perf, "discharge_curves"), strict=True):
        t_end = curve["time_s"][-1] if curve["time_s"] else 0.0
        power.append(e * 3600.0 / t_end if t_end > 0 else 0.0)
    labels = [f"{c:g} C" for c in rates]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=cap, name="capacity [A h]",
                         hovertext=[f"mean power {p:.1f} W" for p in power]))
    fig.add_trace(go.Bar(x=labels, y=en, name="energy [W h]",
                         hovertext=[f"mean power {p:.1f} W" for p in power]))
    fig.update_layout(barmode="group")
    return _layout(fig, "Energy and capacity by C-rate", "C-rate [1/h]",
                   "capacity [A h] / energy [W h]")


def wetting_figure(perf: Any):
    """Liquid saturation [-] vs capillary pressure [kPa] (imbibition), or None."""
    import plotly.graph_objects as go

    curve = (_get(perf, "filling") or {}).get("saturation_curve") or {}
    if not curve.get("pressure_Pa"):
        return None
    fig = go.Figure(go.Scatter(x=[p / 1e3 for p in curve["pressure_Pa"]],
                               y=curve["saturation"], mode="lines+markers",
                               name="cathode image"))
    fig.update_xaxes(autorange="reversed")
    return _layout(fig, "Electrolyte imbibition (pore morphology)",
                   "capillary pressure [kPa]", "liquid saturation [-]")


def summary_table(perf: Any) -> str:
    """HTML table of the energy/power summary (units in the first column)."""
    filling, formation = _get(perf, "filling") or {}, _get(perf, "formation") or {}
    rows = [
        ("specific energy [W h/kg]", _get(perf, "specific_energy")),
        ("energy density [W h/L]", _get(perf, "energy_density")),
        ("rate capability (highest/lowest C-rate) [-]", _get(perf, "rate_capability")),
        ("internal resistance, pulse [mΩ]", _get(perf, "internal_resistance", 0.0) * 1e3),
        ("cell mass [g]", _get(perf, "mass", 0.0) * 1e3),
        ("N/P ratio [-]", _get(perf, "n_p_ratio")),
        ("electrolyte [mL]", filling.get("electrolyte_volume", float("nan")) * 1e6),
        ("wetting time [h]", filling.get("wetting_time", float("nan")) / 3600.0),
        ("first-cycle efficiency [-]", formation.get("first_cycle_efficiency")),
        ("formation time [h]", formation.get("formation_time", float("nan")) / 3600.0),
    ]
    body = "".join(f"<tr><td>{html.escape(k)}</td><td class='num'>{v:.4g}</td></tr>"
                   for k, v in rows if v is not None)
    return f"<table><tr><th>quantity</th><th>value</th></tr>{body}</table>"


def cell_figures(perf: Any) -> list:
    """Every cell figure that has data."""
    figs = [discharge_figure(perf), energy_power_figure(perf)]
    w = wetting_figure(perf)
    if w is not None:
        figs.append(w)
    return figs


def cell_section(perf: Any) -> str:
    """The report's "Cell" section (HTML; plotly.js is expected in the page head)."""
    parts = [f.to_html(full_html=False, include_plotlyjs=False) for f in cell_figures(perf)]
    return ("<h2>Cell</h2>" + summary_table(perf) + "<div class='grid'>"
            + "".join(f"<div>{p}</div>" for p in parts) + "</div>")
