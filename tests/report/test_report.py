"""The HTML report and its figures: model curves, operating points, units, one Plotly copy."""

import numpy as np
import pytest

from chain_recipes import recipe
from twinline.chain import resolve_materials, run_chain
from twinline.report.figures import (
    coating_window_figure,
    compaction_figure,
    drying_profile,
    viscosity_figure,
)
from twinline.report.html import build_report, write_report


@pytest.fixture(scope="module")
def setup():
    rec = recipe()
    lib = resolve_materials(rec)
    return rec, lib, run_chain(rec, samples=30, seed=1)


def test_drying_profile_starts_wet_falls_and_ends_at_the_models_exit_value(setup):
    rec, lib, run = setup
    p = run.products["anode"]
    prof = drying_profile(rec.anode.drying, p["wet_film"], lib)
    s = prof["solvent"]
    assert s[0] == pytest.approx(p["wet_film"].solvent_loading, rel=0.01)
    assert np.all(np.diff(s) <= 1e-12)
    assert s[-1] == pytest.approx(p["dry"].residual_solvent, rel=1e-6, abs=1e-9)
    assert prof["zone_edges"][-1] == pytest.approx(2.0)
    assert prof["time"][-1] == pytest.approx(2.0 / 5e-3)


def test_figures_have_axis_titles_with_units_and_an_operating_point(setup):
    rec, lib, run = setup
    p = run.products["cathode"]
    figs = [viscosity_figure(p), coating_window_figure(p, rec.cathode.coating, lib),
            compaction_figure(p, rec.cathode.calendering, lib)]
    for fig in figs:
        assert "[" in fig.layout.xaxis.title.text and "[" in fig.layout.yaxis.title.text
        names = [t.name for t in fig.data]
        assert any("operating point" in (n or "") for n in names)
    # the compaction curve passes through the calendered operating point
    comp = figs[2]
    x_op = comp.data[1].x[0]
    y_curve = np.interp(x_op, comp.data[0].x, comp.data[0].y)
    assert y_curve == pytest.approx(comp.data[1].y[0], abs=2e-3)
    # viscosity falls with shear rate (shear thinning)
    assert np.all(np.diff(figs[0].data[0].y) <= 0)


def test_slot_die_window_figure(setup):
    _, lib, _ = setup
    rec = recipe(anode__coating={"method": "slot_die", "flow_rate": "20 mL/min",
                                 "speed": "5 mm/s", "width": "0.25 m"})
    run = run_chain(rec)
    fig = coating_window_figure(run.products["anode"], rec.anode.coating, lib)
    assert "capillary number" in fig.layout.xaxis.title.text
    assert fig.data[-1].y[0] == pytest.approx(
        run.products["anode"]["wet_film"].wet_thickness * 1e6)


def test_report_holds_figures_tables_warnings_and_one_plotly(setup, tmp_path):
    rec, lib, run = setup
    page = build_report(run, rec, lib)
    assert page.count("plotly.js v") <= 2 and "<script src=" not in page  # no network
    assert page.count("class=\"plotly-graph-div\"") == 8  # 4 figures × 2 electrodes
    assert "figure not available" not in page
    assert "cathode.calendering.porosity" in page and "mg/cm^2" in page
    assert "anode.post_drying: residual moisture" in page  # a warning is shown
    assert "Sensitivity" in page and "P95" in page
    path = write_report(tmp_path / "r" / "report.html", run, rec, lib)
    assert path.read_text("utf-8") == page or path.stat().st_size > 1e6
    assert not list(tmp_path.glob("r/.*tmp"))


def test_cell_figures_accept_a_loaded_cell_dict():
    from twinline.report.cell_figures import discharge_figure

    cell = {"model": "DFN", "parameter_set": "Chen2020", "c_rates": [0.5, 1.0],
            "discharge_curves": [{"capacity_Ah": [0.0, 1.0], "voltage_V": [4.1, 3.0]},
                                 {"capacity_Ah": [0.0, 0.9], "voltage_V": [4.0, 2.9]}],
            "n_p_ratio": 1.12}
    fig = discharge_figure(cell)
    assert [t.name for t in fig.data] == ["0.5 C", "1 C"]
    assert "[V]" in fig.layout.yaxis.title.text and "[A h]" in fig.layout.xaxis.title.text


def test_a_refused_figure_is_a_visible_note_and_a_bug_is_not_hidden():
    from types import SimpleNamespace

    from twinline.report.html import _electrode_figures
    from twinline.spec.errors import ProcessError

    electrode = SimpleNamespace(coating=None, drying=None, calendering=None)

    def refused(*args, name):
        raise ProcessError("coating: gap < 0 <b>")

    def fine(*args, name):
        return "<div>fig</div>"

    figs = _electrode_figures(SimpleNamespace(viscosity_figure=fine,
                                              coating_window_figure=refused,
                                              drying_figure=fine, compaction_figure=fine),
                              "cathode", {}, electrode, None)
    assert figs[0] == "<div>fig</div>" and "figure not available" in figs[1]
    assert "&lt;b&gt;" in figs[1]  # the message is escaped

    def bug(*args, name):
        raise ZeroDivisionError("a bug in a figure")

    with pytest.raises(ZeroDivisionError):
        _electrode_figures(SimpleNamespace(viscosity_figure=bug, coating_window_figure=fine,
                                           drying_figure=fine, compaction_figure=fine),
                           "cathode", {}, electrode, None)
