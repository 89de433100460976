"""The HTML report of a chain run (``DIR/report.html``).

One self-contained file: the Plotly library is embedded once, inline (no network needed to
open it), then per electrode the viscosity curve, the coating window, the drying curve and the
compaction curve with their operating points, the 3D structure when the run has one, the
table of every output with its unit and Monte Carlo statistics, the sensitivity table, the
warnings, and the run's provenance (models, versions, citations, timings).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from twinline.chain import POLARITY, Run
from twinline.spec.errors import TwinlineError

_STYLE = """<style>
body{font-family:system-ui,-apple-system,sans-serif;max-width:1250px;margin:auto;padding:1em;
color:#222}h1{margin-bottom:0.2em}h2{border-bottom:1px solid #ddd;padding-bottom:0.2em;
margin-top:1.6em}table{border-collapse:collapse;margin:0.5em 0;font-size:0.92em}
td,th{border:1px solid #ccc;padding:3px 8px}td.n{text-align:right;font-variant-numeric:
tabular-nums}th{background:#f3f3f3;text-align:left}.grid{display:grid;grid-template-columns:
1fr 1fr;gap:0.5em}.warn{background:#fff4e5;border-left:4px solid #f0a030;padding:0.4em 0.8em;
margin:0.3em 0}.note{color:#555;font-size:0.9em}code{background:#f6f6f6;padding:1px 4px}
</style>"""


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int | float):
        if x != x:
            return "–"
        if x == 0:
            return "0"
        return f"{x:.4g}"
    return str(x)


def _table(header: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for r in rows:
        cells = "".join(
            f"<td class='n'>{html.escape(_fmt(c))}</td>" if i >= numeric_from
            and isinstance(c, int | float) else f"<td>{html.escape(_fmt(c))}</td>"
            for i, c in enumerate(r))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def outputs_table(run: Run) -> str:
    """Every output: id, value, unit, standard deviation (and P5/P95 under Monte Carlo)."""
    mc = run.samples > 0
    header = ["parameter (catalogue id)", "value", "unit", "std"]
    if mc:
        header += ["mean", "P5", "P95"]
    header.append("note")
    rows = []
    for key, o in sorted(run.outputs.items()):
        unit = o.get("unit", "") or "-"
        row = [key, o.get("value"), unit, o.get("std")]
        if mc:
            row += [o.get("mean"), o.get("p5"), o.get("p95")]
        row.append(output_note(o))
        rows.append(row)
    return _table(header, rows)


def output_note(o: dict[str, Any]) -> str:
    """The note of one output: its definition and source (closed form, 3D analysis)."""
    parts = [o[k] for k in ("definition", "source") if o.get(k)]
    if o.get("source") == "estimate":   # a run.json written before the fitted closed forms
        parts = [*parts[:-1], "closed-form estimate (Bruggeman)"]
    z = o.get("zero_voxel_size")
    if isinstance(z, dict) and z.get("value") is not None:
        e = z.get("discretisation_error")
        parts.append(f"extrapolated to zero voxel size: {z['value']:.4g}"
                     + (f" (the value above carries a discretisation error of {100 * e:+.1f} %)"
                        if isinstance(e, float) and e == e else ""))
    if o.get("cell_input"):
        parts.append("the cell model uses the value above (raw), not the extrapolated one")
    return "; ".join(parts)


def porosity_section(run: Run) -> str:
    """One sentence per electrode: total porosity against the 3D image's resolved pores."""
    notes = getattr(run, "porosity_notes", None) or {}
    if not notes:
        return ""
    items = "".join(f"<li><b>{html.escape(e)}</b>: {html.escape(n['sentence'])} "
                    f"<span class='note'>(resolved fraction from the "
                    f"{html.escape(n['source'])})</span></li>" for e, n in notes.items())
    return f"<h2>Porosity and the 3D image</h2><ul>{items}</ul>"


def sensitivity_section(run: Run, *, top: int = 3) -> str:
    """The largest one-at-a-time contributions per output (``top`` inputs each)."""
    from twinline.chain.uncertainty import sensitivity_table

    rows_in = sensitivity_table(run.sensitivity, min_share=0.05)
    rows, seen = [], {}
    for r in rows_in:
        n = seen.get(r["output"], 0)
        if n >= top:
            continue
        seen[r["output"]] = n + 1
        rows.append([r["output"], r["input"], f"{r['sigma']:.4g} {r['sigma_unit'] or '-'}",
                     r["contribution"], r["unit"] or "-", r["normalised"]])
    if not rows:
        return "<p class='note'>No toleranced input changes an output.</p>"
    return (_table(["output", "input", "input σ", "Δoutput per +1σ", "unit", "share"], rows)
            + "<p class='note'>Δoutput per +1σ: central difference over ±1σ of the input; "
              "share: its part of the linearised standard deviation (signed; squares sum "
              "to 1 per output).</p>")


def _electrode_figures(F, name: str, prods: dict[str, Any], electrode, materials) -> list:
    """The four process figures of one electrode (a failing figure becomes a note)."""
    makers = (
        (F.viscosity_figure, (prods,)),
        (F.coating_window_figure, (prods, electrode.coating, materials)),
        (F.drying_figure, (prods, electrode.drying, materials)),
        (F.compaction_figure, (prods, electrode.calendering, materials)),
    )
    figs: list = []
    for make, args in makers:
        try:
            figs.append(make(*args, name=name))
        except TwinlineError as err:  # a model refuses these inputs: say so in the report
            figs.append(f"<p class='note'>figure not available: {html.escape(str(err))}</p>")
    return figs


#: Outputs shown first, per electrode.
KEY_OUTPUTS: tuple[str, ...] = (
    "coating.loading", "coating.areal_capacity", "drying.porosity", "calendering.thickness",
    "calendering.porosity", "calendering.effective_ionic_conductivity",
    "slitting.edge_defect_risk", "post_drying.residual_moisture")


def key_results(run: Run) -> str:
    """A short table of the main outputs of each electrode (value ± std, unit)."""
    names = [e for e in run.products if e in POLARITY]  # the electrodes (not the cell)
    rows = []
    for pid in KEY_OUTPUTS:
        row: list[Any] = [pid]
        unit = ""
        for e in names:
            o = run.outputs.get(f"{e}.{pid}")
            if o is None:
                row.append("–")
                continue
            unit = o.get("unit") or "-"
            std = o.get("std") or 0.0
            row.append(f"{_fmt(o['value'])} ± {_fmt(std)}" if std else _fmt(o["value"]))
        rows.append([*row, unit])
    return _table(["parameter", *names, "unit"], rows)


def build_report(run: Run, recipe=None, materials=None) -> str:
    """The report as an HTML string (figures need ``recipe``; else tables only)."""
    import plotly.offline

    from twinline.report import figures as F

    body = [f"<h1>twinline run: {html.escape(run.recipe_name)}</h1>",
            f"<p class='note'>created {html.escape(run.created)} · seed {run.seed} · "
            f"Monte Carlo samples {run.samples} · chain time "
            f"{run.timings.get('total', float('nan')) * 1e3:.1f} ms</p>"]
    body += ["<h2>Key results</h2>", key_results(run), porosity_section(run)]
    if run.warnings:
        body.append("<h2>Warnings</h2>")
        body += [f"<div class='warn'>{html.escape(w)}</div>" for w in run.warnings]
    else:
        body.append("<h2>Warnings</h2><p>None: every setting is inside its model's validity "
                    "range.</p>")
    figs_html: list[str] = []
    if recipe is not None and materials is not None:
        for name, prods in run.products.items():
            if name not in POLARITY:  # the cell's products have no process figures
                continue
            electrode = getattr(recipe, name)
            if getattr(electrode, "measured", None) is not None:
                continue  # a measured electrode went through no electrode step
            if getattr(electrode, "target", None) is not None and name in run.inputs:
                from twinline.spec.recipe import ElectrodeRecipe

                # the settings the chain solved for the targets (the Run's inputs)
                electrode = ElectrodeRecipe.model_validate(run.inputs[name])
            figs = _electrode_figures(F, name, prods, electrode, materials)
            meso = run.mesostructures.get(name)
            if meso is not None:
                from twinline.report.structure_figures import plot_structure

                try:
                    figs.append(plot_structure(meso))
                except TwinlineError as err:
                    figs.append(f"<p class='note'>structure figure not available: "
                                f"{html.escape(str(err))}</p>")
            parts = [f if isinstance(f, str) else
                     f.to_html(full_html=False, include_plotlyjs=False) for f in figs]
            figs_html.append(f"<h2>{html.escape(name.capitalize())}</h2><div class='grid'>"
                             + "".join(f"<div>{p}</div>" for p in parts) + "</div>")
    body += figs_html
    if run.cell is not None:
        from twinline.report.cell_figures import cell_section

        body.append(cell_section(run.cell))
    body += ["<h2>Outputs</h2>", outputs_table(run)]
    if run.sensitivity:
        body += ["<h2>Sensitivity (one at a time, local)</h2>", sensitivity_section(run)]
    body += ["<h2>Provenance</h2>",
             _table(["step", "model"], [[k, v] for k, v in run.models.items()]),
             _table(["package", "version"], [[k, v] for k, v in run.versions.items()]),
             _table(["stage", "time [ms]"], [[k, v * 1e3] for k, v in run.timings.items()]),
             "<p>Citations (BibTeX keys, <code>twinline cite run.json</code>): "
             + html.escape(", ".join(run.citations)) + "</p>"]
    js = plotly.offline.get_plotlyjs()
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>twinline run: {html.escape(run.recipe_name)}</title>{_STYLE}"
            f"<script type='text/javascript'>{js}</script></head><body>"
            + "\n".join(body) + "</body></html>")


def write_report(path: str | Path, run: Run, recipe=None, materials=None) -> Path:
    """Write :func:`build_report` to ``path`` atomically; returns the path."""
    from twinline.atomic import write_atomic

    p = Path(path)
    write_atomic(p, build_report(run, recipe, materials))
    return p
