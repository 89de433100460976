"""The factory report: Sankey of energy, yield cascade, cost breakdown, tornado, OEE hook.

Every function takes the plain data of :meth:`twinline.factory.view.FactoryView.to_dict`
(what ``factory.json`` holds), so a stored factory.json can be drawn again.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

#: Published anchors of manufacturing energy [kWh per kWh of cell] (Degen et al. 2023).
ANCHORS = ((20.3, 37.5, "Degen et al. 2023 (Nature Energy), today's large plants"),
           (41.0, 41.0, "older plant-level estimate, 52 % drying + dry rooms"))

_STEP_LABEL = {"post_drying": "post-drying", "dry_room": "dry room", "clean_room": "clean room"}


def _label(step: str) -> str:
    return _STEP_LABEL.get(step, step)


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _layout(fig: Any, title: str, xtitle: str, ytitle: str, height: int = 420) -> Any:
    fig.update_layout(title=title, template="plotly_white", height=height,
                      margin=dict(l=80, r=30, t=60, b=70))
    fig.update_xaxes(title_text=xtitle)
    fig.update_yaxes(title_text=ytitle)
    return fig


def energy_sankey(view: dict[str, Any]) -> Any:
    """Electricity and heat [kWh per kWh of cell] flowing into every step and room."""
    import plotly.graph_objects as go

    by = view["energy_kWh_per_kWh"]["by_step"]
    steps = [s for s, d in by.items() if d["electricity"] + d["heat"] > 1e-9]
    nodes = ["electricity", "heat"] + [_label(s) for s in steps]
    src, dst, val = [], [], []
    for i, s in enumerate(steps):
        for j, carrier in enumerate(("electricity", "heat")):
            v = by[s][carrier]
            if v > 1e-9:
                src.append(j)
                dst.append(2 + i)
                val.append(v)
    total = view["energy_kWh_per_kWh"]["total"]
    fig = go.Figure(go.Sankey(
        valueformat=".2f", valuesuffix=" kWh/kWh",
        node=dict(label=nodes, pad=12, thickness=16,
                  color=["#f2b701", "#e73f74"] + ["#7f8c9a"] * len(steps)),
        link=dict(source=src, target=dst, value=val)))
    fig.update_layout(title=f"Energy per kWh of cell: {total:.1f} kWh/kWh "
                            "(flows in kWh per kWh of cell)", height=520,
                      margin=dict(l=30, r=30, t=60, b=30))
    return fig


def energy_by_step(view: dict[str, Any]) -> Any:
    """Stacked bars: electricity and heat per step [kWh per kWh of cell]."""
    import plotly.graph_objects as go

    by = view["energy_kWh_per_kWh"]["by_step"]
    steps = list(by)
    fig = go.Figure()
    for carrier, colour in (("electricity", "#f2b701"), ("heat", "#e73f74")):
        fig.add_trace(go.Bar(x=[_label(s) for s in steps], y=[by[s][carrier] for s in steps],
                             name=carrier, marker_color=colour))
    fig.update_layout(barmode="stack", legend=dict(x=0.01, y=0.99))
    return _layout(fig, "Energy by step and utility", "step",
                   "energy [kWh per kWh of cell]")


def yield_figure(view: dict[str, Any]) -> Any:
    """Cumulative yield [%] after each step, per path (cathode, anode, then the cell)."""
    import plotly.graph_objects as go

    rows = view["yield_cascade"]
    cell = [r for r in rows if r["path"] == "cell"]
    fig = go.Figure()
    for path, colour, dash in (("cathode", "#3366cc", "solid"), ("anode", "#109618", "dot")):
        own = [r for r in rows if r["path"] == path]
        x = [_label(r["step"]) for r in own + cell]
        y = [r["cumulative"] * 100 for r in own]
        acc = own[-1]["cumulative"] if own else 1.0
        for r in cell:
            acc *= 1 - r["scrap"]
            y.append(acc * 100)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=f"{path} path",
                                 line=dict(color=colour, dash=dash)))
    fig.update_layout(legend=dict(x=0.8, y=0.99))
    return _layout(fig, "Yield cascade", "step", "cumulative yield [%]")


def cost_figure(view: dict[str, Any]) -> Any:
    """Cost per kWh by BatPaC part [currency per kWh of cell]."""
    import plotly.graph_objects as go

    c = view["cost_per_kWh"]
    parts = c["parts"]
    labels = [p.replace("_", " ") for p in parts]
    fig = go.Figure(go.Bar(x=labels, y=list(parts.values()), marker_color="#3366cc",
                           text=[f"{v:.1f}" for v in parts.values()], textposition="outside"))
    return _layout(fig, f"Cost per kWh: {c['total']:.1f} {c['currency']}/kWh", "cost part",
                   f"cost [{c['currency']} per kWh of cell]")


def tornado_figure(view: dict[str, Any]) -> Any:
    """Tornado: cost per kWh at the low and high setting of each lever."""
    import plotly.graph_objects as go

    bars = list(reversed(view["tornado"]))
    cur = view["cost_per_kWh"]["currency"]
    base = bars[0]["cost_base"] if bars else 0.0
    names = [f"{b['lever']} ({_num(b['low'])}–{_num(b['high'])} {b['unit']})" for b in bars]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=[b["cost_low"] - base for b in bars], base=base,
                         orientation="h", name="lever at −20 %", marker_color="#109618"))
    fig.add_trace(go.Bar(y=names, x=[b["cost_high"] - base for b in bars], base=base,
                         orientation="h", name="lever at +20 %", marker_color="#dc3912"))
    fig.update_layout(barmode="overlay", legend=dict(x=0.01, y=-0.25, orientation="h"))
    fig = _layout(fig, f"Cost sensitivity, ±20 % (base {base:.1f} {cur}/kWh)",
                  f"cost [{cur} per kWh of cell]", "", height=440)
    fig.update_layout(margin=dict(l=330, r=30, t=60, b=110))
    return fig


def oee_section(view: dict[str, Any]) -> str:
    """OEE per machine from the discrete-event model (``view["throughput"]``, filled by
    :func:`twinline.factory.view.line_throughput`), or a note where it has not run."""
    tp = view.get("throughput") or {}
    oee = tp.get("oee") if isinstance(tp, dict) else None
    if not oee:
        return ("<p class='note'>OEE per machine: not computed — the discrete-event "
                "throughput model (<code>twinline.factory.throughput</code>) has not run for "
                "this report.</p>")
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=list(oee), y=[100 * v for v in oee.values()]))
    fig = _layout(fig, "OEE per machine (discrete-event simulation)", "machine", "OEE [%]")
    static = (view.get("output") or {}).get("cells_per_year")
    text = (f"<p>Simulated line ({tp.get('replications')} replication(s) of one year, lots of "
            f"{tp.get('lot_cells')} cells): {tp['good_cells_per_year'] / 1e6:,.3g} M good "
            f"cells per year, bottleneck {html.escape(str(tp.get('bottleneck')))}"
            + (f"; the static capacity model gives {static / 1e6:,.3g} M cells per year "
               "(availability only, no blocking or starving)" if static else "") + ".</p>")
    return text + fig.to_html(full_html=False, include_plotlyjs=False)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(x: Any) -> str:
        if isinstance(x, float):
            text = f"{x:,.3g}" if abs(x) < 1e4 else f"{x:,.0f}"
            return f"<td class='n'>{text}</td>"
        return f"<td>{html.escape(str(x))}</td>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(x) for x in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def key_table(view: dict[str, Any]) -> str:
    """Headline numbers with units, and the energy anchors."""
    o, e, c = view["output"], view["energy_kWh_per_kWh"], view["cost_per_kWh"]
    co2 = view["co2_kg_per_kWh"]
    total = e["total"]
    rows = [["cells a year (good)", o["cells_per_year"], "1/a"],
            ["output", o["GWh_per_year"], "GWh/a"],
            ["bottleneck", o["bottleneck"], ""],
            ["cell energy", view["cell"]["energy_Wh"], "Wh"],
            ["energy per kWh of cell", total, "kWh/kWh"],
            ["  of which electricity", e["by_utility"]["electricity"], "kWh/kWh"],
            ["  of which heat", e["by_utility"]["heat"], "kWh/kWh"],
            ["cost per kWh", c["total"], f"{c['currency']}/kWh"],
            ["CO2 per kWh (production footprint)", co2["total_per_kWh"], "kg CO2e/kWh"],
            ["material input per kWh", view["materials"]["per_kWh_kg"]["input"], "kg/kWh"],
            ["scrap per kWh", view["materials"]["per_kWh_kg"]["scrap"], "kg/kWh"]]
    by = e["by_step"]
    share = (sum(by["drying"].values()) + sum(by["dry_room"].values())) / total if total else 0
    anchors = [[label, f"{lo:g}–{hi:g}" if lo != hi else f"about {lo:g}",
                "inside" if lo <= total <= hi else ("below" if total < lo else "above")]
               for lo, hi, label in ANCHORS]
    return (_table(["quantity", "value", "unit"], rows)
            + f"<p>Drying and dry rooms: {share * 100:.0f} % of the energy.</p>"
            + _table(["anchor", "kWh/kWh", f"twinline ({total:.1f})"], anchors))


def build_factory_report(view: dict[str, Any]) -> str:
    """The factory report as one HTML page (plotly.js inlined, no CDN)."""
    import plotly.offline

    from twinline.report.html import _STYLE

    figs = [energy_sankey(view), energy_by_step(view), yield_figure(view), cost_figure(view),
            tornado_figure(view)]
    config = {"displaylogo": False, "displayModeBar": "hover"}   # no toolbar over titles
    parts = [f.to_html(full_html=False, include_plotlyjs=False, config=config) for f in figs]
    name = html.escape(f"{view['recipe']} in {view['plant']['name']}")
    body = [f"<h1>twinline factory: {name}</h1>", "<h2>Key results</h2>", key_table(view),
            "<h2>Energy</h2>", parts[0], parts[1], "<h2>Yield</h2>", parts[2],
            "<h2>Cost</h2>", "<div class='grid'>" + f"<div>{parts[3]}</div><div>{parts[4]}</div>"
            + "</div>", "<h2>Throughput</h2>", oee_section(view)]
    js = plotly.offline.get_plotlyjs()
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>twinline factory: {name}</title>{_STYLE}"
            f"<script type='text/javascript'>{js}</script></head><body>"
            + "\n".join(body) + "</body></html>")


def write_factory_report(path: str | Path, view: dict[str, Any]) -> Path:
    """Write :func:`build_factory_report` to ``path`` atomically; returns the path."""
    from twinline.atomic import write_atomic

    p = Path(path)
    write_atomic(p, build_factory_report(view))
    return p
