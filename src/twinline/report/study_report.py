"""HTML reports of the learn layer: the calendering study and inverse design."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

_STYLE = """<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:auto;
padding:1em}table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;
padding:3px 8px;text-align:right}th{background:#f3f3f3}code{background:#f6f6f6;
padding:1px 4px}.note{color:#555;font-size:0.92em}</style>"""


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title>{_STYLE}</head><body>"
            + "\n".join(body) + "</body></html>")


def _fig_html(fig: Any, first: list[bool]) -> str:
    include = first[0]
    first[0] = False
    return fig.to_html(full_html=False, include_plotlyjs=True if include else False)


def _table(rows: list[list[Any]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(path)
    return path


def study_report(result: Any, path: str | Path | None = None) -> Path:
    """Write the HTML report of a :class:`twinline.learn.study.StudyResult` (default:
    ``<result.folder>/report.html``) and return its path."""
    target = Path(path) if path is not None else Path(result.folder) / "report.html"
    return write_study_report(target, table=result.table, summary=result.summary,
                              surrogate=result.surrogate, paper=result.paper)


def write_study_report(path: str | Path, *, table: Any, summary: dict[str, Any],
                       surrogate: Any, paper: Any = None) -> Path:
    """Write the calendering study report (maps, parity, equations, sensitivity, map)."""
    from twinline.learn.sensitivity import CorrelationMap, SobolResult
    from twinline.learn.study import OUTPUTS
    from twinline.report import learn_figures as lf

    path = Path(path)
    labels = {k: v[1] for k, v in OUTPUTS.items()}
    labels |= {"am_mass_fraction": "AM mass fraction [-]",
               "porosity_before": "porosity before [-]", "pressure": "pressure [Pa]"}
    first = [True]
    t = summary["timing"]
    body = ["<h1>twinline study: calendering of an NMC111 cathode</h1>",
            "<p class=note>Design of Duquesnoy et al., J. Power Sources 480 (2020) 229103: "
            "AM 93–96 wt % (CB:PVDF 1:1), porosity before calendering 0.40–0.50, pressure "
            "20–170 MPa; box 50×50×100 µm³ before calendering, thickness from conserved "
            "solid volume.</p>",
            _table([[summary["points"], summary["n_validation"], summary["replicates"],
                     f"{summary['voxel_size_m'] * 1e6:g}", t.get("structures", ""),
                     f"{t['campaign_s']:.1f}", t.get("executor", ""),
                     f"{t.get('mean_generate_s', float('nan')):.3f}",
                     f"{t.get('mean_analyse_s', float('nan')):.3f}"]],
                   ["training points", "validation points", "replicates", "voxel [µm]",
                    "structures this run", "campaign wall [s]", "executor",
                    "generate+calender / structure [s]", "analyse / structure [s]"])]
    # maps
    body.append("<h2>Maps (Figs 4–9 of the paper)</h2>")
    if paper is not None:
        body.append("<p class=note>Open diamonds: the paper's 440 points (its generator + "
                    "TauFactor, 1 µm voxels; ARTISTIC data CC BY-NC-SA 4.0, read from the "
                    "file given, not copied). The paper's undocumented <code>porous</code> "
                    "column is taken as the porosity before calendering.</p>")
    scale = {"thickness": 1e6}
    for out in OUTPUTS:
        if out not in table.columns:
            continue
        fig = lf.study_map(table, out, label=labels[out], scale=scale.get(out, 1.0),
                           paper=paper)
        body.append(f"<h3>{html.escape(labels[out])}</h3>" + _fig_html(fig, first))
    comp = summary.get("paper_comparison") or {}
    if comp:
        body.append("<h3>Twinline against the paper at the paper's design points</h3>"
                    "<p class=note>The best surrogate evaluated at the paper's inputs inside "
                    "the study bounds; ρ: Spearman correlation of the two (same trend when "
                    "close to 1).</p>" + _table(
                        [[labels.get(o, o), v["n"], f"{100 * v['mean_relative_error']:.1f}",
                          f"{v['mean_bias']:.4g}", f"{v['spearman']:.2f}"]
                         for o, v in comp.items()],
                        ["output", "points", "mean relative error [%]",
                         "mean bias [output unit]", "ρ [-]"]))
    # parity
    valid = table[table.split == "validation"]
    kind = summary["best_surrogate"]
    body.append(f"<h2>Surrogates</h2><p>Best on validation: <b>{kind}</b>.</p>")
    rows = []
    for k, sc in summary["scores"].items():
        for o, m in sc["test"].items():
            v = sc["validation"].get(o, {}) if sc["validation"] else {}
            rows.append([k, labels.get(o, o), f"{m.get('r2', np.nan):.4f}",
                         f"{m.get('mape', np.nan):.2f}", f"{m.get('cv_r2', np.nan):.4f}",
                         f"{v.get('r2', np.nan):.4f}", f"{v.get('mape', np.nan):.2f}"])
    body.append(_table(rows, ["kind", "output", "test R²", "test MAPE [%]", "CV R²",
                              "validation R²", "validation MAPE [%]"]))
    if len(valid) >= 2:
        mean, std = surrogate.predict(valid, return_std=True)
        outs = surrogate.outputs
        fig = lf.parity_figure({o: valid[o].to_numpy() for o in outs},
                               {o: mean[:, j] for j, o in enumerate(outs)}, labels,
                               summary["scores"][kind]["validation"],
                               std={o: std[:, j] for j, o in enumerate(outs)}
                               if surrogate.has_std else None)
        body.append("<h3>Parity on the validation set</h3>" + _fig_html(fig, first))
    # equations
    body.append("<h2>Equations (SISSO-style symbolic regression; SI units, pressure_MPa in "
                "MPa)</h2>")
    body.append(_table([[html.escape(e["equation"]), f"{e['r2']:.4f}", f"{e['rmse']:.4g}"]
                        for e in summary["equations"].values()],
                       ["equation", "R² (training)", "RMSE [output unit]"]))
    # sensitivity
    s = summary["sobol"]
    outs = [o for o in s if o != "evaluations"]
    inputs = list(next(iter(s.values()))["S1"]) if outs else []
    sob = SobolResult(inputs, outs,
                      {o: np.array(list(s[o]["S1"].values())) for o in outs},
                      {o: np.array(list(s[o]["S1_conf"].values())) for o in outs},
                      {o: np.array(list(s[o]["ST"].values())) for o in outs},
                      {o: np.array(list(s[o]["ST_conf"].values())) for o in outs},
                      int(s.get("evaluations", 0)))
    body.append(f"<h2>Sobol indices (through the {kind} surrogate, "
                f"{sob.evaluations} evaluations)</h2>" + _fig_html(lf.sobol_figure(
                    sob, labels), first))
    c = summary["correlation"]
    cm = CorrelationMap(c["inputs"], c["outputs"], np.array(c["rho"], dtype=float), c["goals"])
    body.append("<h2>Correlation map (Fig. 10)</h2>"
                + _fig_html(lf.correlation_figure(cm, labels), first))
    body.append("<h2>Run record</h2><pre>" + html.escape(json.dumps(
        {k: summary[k] for k in ("timing", "machine")}, indent=2, default=float)) + "</pre>")
    return _write(path, _page("twinline calendering study", body))


def write_design_report(path: str | Path, result: Any, *, title: str = "inverse design",
                        model: str = "") -> Path:
    """Write the inverse-design report: best settings, the Pareto front table and plot."""
    from twinline.report import learn_figures as lf

    path = Path(path)
    units = result.problem.units
    names = list(result.problem.bounds)
    outs = result.problem.outputs
    first = [True]
    body = [f"<h1>twinline {html.escape(title)}</h1>",
            f"<p>Model: {html.escape(model)}; {len(result.trials)} trials, "
            f"{int(result.trials.feasible.sum())} feasible, {len(result.front)} on the front, "
            f"{result.wall_s:.1f} s.</p>"]
    from twinline.learn.inverse import display

    shown = result.problem.shown_units
    if result.best:
        body.append("<h2>Best compromise</h2>" + _table(
            [[k, display(result.best[k], units.get(k, ""), shown.get(k, ""))]
             for k in names + outs], ["quantity", "value"]))
    else:
        body.append("<p><b>No feasible setting found</b>: widen the bounds or the "
                    "tolerances.</p>")
    body.append(_fig_html(lf.pareto_figure(result), first))
    cols = names + outs
    body.append("<h2>Pareto front</h2>" + _table(
        [[f"{r[c]:.6g}" for c in cols] for _, r in result.front.iterrows()],
        [f"{c} [{units.get(c) or '-'}]" for c in cols]))
    return _write(path, _page(f"twinline {title}", body))
