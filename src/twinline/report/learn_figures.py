"""Plotly figures of the learn layer: study maps, parity plots, correlation map, Sobol
indices, Pareto fronts. Every axis carries its unit; Plotly is imported inside."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _go():
    from twinline.spec.errors import require

    return require("plotly.graph_objects", "learn")


def _nearest(values: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    lv = np.asarray(levels, dtype=float)
    return lv[np.argmin(np.abs(np.asarray(values, float)[:, None] - lv[None, :]), axis=1)]


def study_map(table: Any, output: str, *, label: str, scale: float = 1.0,
              paper: Any = None, am_levels: Sequence[float] = (0.93, 0.94, 0.95, 0.96)) -> Any:
    """One output versus calender pressure, one panel per AM fraction, coloured by the
    porosity before calendering (the maps of Figs 4–9 of Duquesnoy et al. 2020).

    ``paper`` (study columns, SI) is overlaid as open diamonds on the same colour scale.
    """
    from plotly.subplots import make_subplots

    go = _go()
    fig = make_subplots(rows=1, cols=len(am_levels), shared_yaxes=True,
                        subplot_titles=[f"AM {a * 100:.0f} wt %" for a in am_levels])
    am = _nearest(table["am_mass_fraction"].to_numpy(), am_levels)
    pam = _nearest(paper["am_mass_fraction"].to_numpy(), am_levels) if paper is not None \
        else None
    cmin, cmax = 0.40, 0.50
    for j, a in enumerate(am_levels, start=1):
        sel = table[am == a]
        err = sel.get(f"{output}_std")
        fig.add_trace(go.Scatter(
            x=sel["pressure"] / 1e6, y=sel[output] * scale, mode="markers",
            name="twinline", legendgroup="twinline", showlegend=j == 1,
            error_y=None if err is None else {"type": "data", "array": err * scale,
                                              "thickness": 1},
            marker={"color": sel["porosity_before"], "colorscale": "Viridis", "cmin": cmin,
                    "cmax": cmax, "size": 7, "showscale": j == len(am_levels),
                    "colorbar": {"title": "ε before [-]"}},
            hovertemplate="p=%{x:.1f} MPa<br>%{y:.4g}<extra>twinline</extra>"), row=1, col=j)
        if paper is not None:
            ps = paper[pam == a]
            fig.add_trace(go.Scatter(
                x=ps["pressure"] / 1e6, y=ps[output] * scale, mode="markers",
                name="paper (ARTISTIC)", legendgroup="paper", showlegend=j == 1,
                marker={"symbol": "diamond-open", "color": ps["porosity_before"],
                        "colorscale": "Viridis", "cmin": cmin, "cmax": cmax, "size": 7},
                hovertemplate="p=%{x:.1f} MPa<br>%{y:.4g}<extra>paper</extra>"),
                row=1, col=j)
        fig.update_xaxes(title_text="calender pressure [MPa]", type="log", row=1, col=j)
    fig.update_yaxes(title_text=label, row=1, col=1)
    fig.update_layout(height=360, margin={"t": 40, "b": 40}, title=None)
    return fig


def parity_figure(truth: Mapping[str, np.ndarray], pred: Mapping[str, np.ndarray],
                  labels: Mapping[str, str], scores: Mapping[str, Mapping[str, float]],
                  std: Mapping[str, np.ndarray] | None = None) -> Any:
    """Predicted versus simulated, one panel per output, with R² and MAPE in the title."""
    from plotly.subplots import make_subplots

    go = _go()
    names = list(truth)
    ncol = min(4, len(names))
    nrow = int(np.ceil(len(names) / ncol))
    titles = [f"{labels.get(n, n)}<br>R² {scores.get(n, {}).get('r2', np.nan):.3f}, "
              f"MAPE {scores.get(n, {}).get('mape', np.nan):.1f} %" for n in names]
    fig = make_subplots(rows=nrow, cols=ncol, subplot_titles=titles,
                        horizontal_spacing=0.07, vertical_spacing=0.16)
    for i, n in enumerate(names):
        r, c = divmod(i, ncol)
        y, yh = np.asarray(truth[n], float), np.asarray(pred[n], float)
        lo, hi = float(np.nanmin([y.min(), yh.min()])), float(np.nanmax([y.max(), yh.max()]))
        err = None if std is None or n not in std else {"type": "data", "array": std[n],
                                                         "thickness": 1}
        fig.add_trace(go.Scatter(x=y, y=yh, mode="markers", error_y=err, showlegend=False,
                                 marker={"size": 5}), row=r + 1, col=c + 1)
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", showlegend=False,
                                 line={"color": "gray", "dash": "dash"}), row=r + 1, col=c + 1)
        unit = labels.get(n, "").rsplit("[", 1)[-1].rstrip("]") if "[" in labels.get(n, "") \
            else "-"
        fig.update_xaxes(title_text=f"simulated [{unit}]", row=r + 1, col=c + 1)
        fig.update_yaxes(title_text=f"surrogate [{unit}]", row=r + 1, col=c + 1)
    fig.update_layout(height=330 * nrow, margin={"t": 60})
    for ann in fig.layout.annotations:
        ann.font.size = 11
    return fig


def correlation_figure(corr: Any, labels: Mapping[str, str] | None = None) -> Any:
    """Heatmap of Spearman ρ (inputs × outputs) with the push direction in each cell
    (Fig. 10 of Duquesnoy et al. 2020)."""
    go = _go()
    labels = labels or {}
    push = corr.push()
    text = []
    for i, p in enumerate(corr.inputs):
        row = []
        for j, o in enumerate(corr.outputs):
            arrow = {"increase": " ↑", "decrease": " ↓", "none": ""}.get(
                push.get(o, {}).get(p, ""), "")
            row.append(f"{corr.rho[i, j]:+.2f}{arrow}")
        text.append(row)
    fig = go.Figure(go.Heatmap(
        z=corr.rho, x=[labels.get(o, o) for o in corr.outputs],
        y=[labels.get(p, p) for p in corr.inputs], zmin=-1, zmax=1, colorscale="RdBu",
        text=text, texttemplate="%{text}", colorbar={"title": "Spearman ρ [-]"}))
    fig.update_layout(height=120 + 70 * len(corr.inputs),
                      xaxis_title="output", yaxis_title="input",
                      title="correlation map (↑/↓: move the input this way to push the "
                            "output towards its goal)")
    return fig


def sobol_figure(sobol: Any, labels: Mapping[str, str] | None = None) -> Any:
    """First-order and total Sobol indices [-] per output, with 95 % confidence bars."""
    from plotly.subplots import make_subplots

    go = _go()
    labels = labels or {}
    n = len(sobol.outputs)
    ncol = min(4, n)
    nrow = int(np.ceil(n / ncol))
    fig = make_subplots(rows=nrow, cols=ncol,
                        subplot_titles=[labels.get(o, o) for o in sobol.outputs])
    for k, o in enumerate(sobol.outputs):
        r, c = divmod(k, ncol)
        for key, color in (("S1", "#1f77b4"), ("ST", "#ff7f0e")):
            fig.add_trace(go.Bar(x=sobol.inputs, y=getattr(sobol, key)[o], name=key,
                                 marker_color=color, showlegend=k == 0, legendgroup=key,
                                 error_y={"type": "data",
                                          "array": getattr(sobol, f"{key}_conf")[o]}),
                          row=r + 1, col=c + 1)
        fig.update_yaxes(title_text="Sobol index [-]", range=[0, 1.05], row=r + 1, col=c + 1)
    fig.update_layout(barmode="group", height=300 * nrow)
    return fig


def pareto_figure(result: Any) -> Any:
    """Objectives of all trials (grey: infeasible) and the Pareto front (coloured)."""
    go = _go()
    objs = [o.name for o in result.problem.objectives]
    t, f = result.trials, result.front
    if len(objs) == 1:
        x, y = objs[0], next(iter(result.problem.bounds))
    else:
        x, y = objs[0], objs[1]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t[x], y=t[y], mode="markers", name="trials",
                             marker={"color": np.where(t.feasible, "#9ecae1", "#dddddd"),
                                     "size": 4}))
    color = f[objs[2]] if len(objs) > 2 and len(f) else None
    fig.add_trace(go.Scatter(
        x=f[x], y=f[y], mode="markers", name="Pareto front",
        marker={"size": 9, "color": color if color is not None else "#d62728",
                "colorscale": "Plasma", "showscale": color is not None,
                "colorbar": {"title": objs[2]} if len(objs) > 2 else None}))
    units = result.problem.units

    def lab(n: str) -> str:
        return f"{n} [{units.get(n) or '-'}]" if n in units else f"{n} [SI unit]"

    fig.update_layout(xaxis_title=lab(x), yaxis_title=lab(y), height=480,
                      title="inverse design: trials and Pareto front")
    return fig
