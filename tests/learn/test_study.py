"""The reduced calendering study: real calendering model, generator and analysis."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from twinline.learn.study import INPUTS, OUTPUTS, paper_points, run_study, study_campaigns
from twinline.report.study_report import study_report
from twinline.spec.errors import RecipeError

pytest.importorskip("pyarrow")


def fake_paper_file(path):
    """A file in the paper's column format (made up here: tests never read shared data)."""
    rows = []
    for am in (93.0, 96.0):
        for gap in (11.0, 31.0, 51.0):
            p = np.exp(5.254 - 0.0307 * gap)
            eps = 0.30 + 0.0004 * gap
            rows.append({"Gap": gap, "AM": am, "CBD": 100 - am, "porous": 45.0, "x": 50.0,
                         "y": 50.0, "z": 90.0, "res": 1.0, "tliq": 6.0, "tsol": 2.0,
                         "CC/AM": 33.0, "CC/CBD": 17.0, "Active_Surface": 55.0,
                         "porocal": eps, "pressure": p, "sigma": 1.119 * eps / 6.0})
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.mark.slow
def test_reduced_study_runs_learns_reports_and_resumes(tmp_path):
    paper = tmp_path / "paper.csv"
    fake_paper_file(paper)
    res = run_study(tmp_path / "study", points=6, replicates=1, voxel_size=1e-6, box_xy=25e-6,
                    kinds=("gp",), sobol_n=64, paper_data=paper)
    assert not (tmp_path / "study" / "report.html").exists()  # learn writes no report
    assert study_report(res) == tmp_path / "study" / "report.html"
    tab = res.table
    assert len(tab) == 12 and (tab.replicates == 1).all() and res.n_train == 6
    assert set(tab.split) == {"train", "validation"}
    for out in OUTPUTS:
        assert out in tab.columns and f"{out}_std" in tab.columns
    # the paper's convention: sigma_eff = 1.119 S/m · porosity / tau_pore
    fin = np.isfinite(tab.tortuosity_factor_pore)
    assert (tab.tortuosity_factor_pore[fin] >= 1.0).all()
    assert (tab.sigma_eff <= 1.119 * tab.porosity + 1e-12).all()
    # calendering: porosity falls below its initial value, more with pressure
    assert (tab.porosity < tab.porosity_before).all()
    rho = spearmanr(tab.pressure, tab.porosity_before - tab.porosity).statistic
    assert rho > 0.5
    # solid volume conserved (box height rounded to whole voxels: ±0.5 µm)
    solid = tab.thickness * (1 - tab.porosity)
    np.testing.assert_allclose(solid, 100e-6 * (1 - tab.porosity_before), atol=0.55e-6)
    # learned artefacts
    out = tmp_path / "study"
    assert (out / "surrogates" / "gp.joblib").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_validation"] == 6 and "porosity" in summary["scores"]["gp"]["validation"]
    assert summary["paper_comparison"]["porosity"]["n"] == 6
    assert summary["equations"]["sigma_eff (from structure)"]["equation"].endswith(
        "porosity/tortuosity_factor_pore")
    html = (out / "report.html").read_text()
    for text in ("Maps", "Parity", "Equations", "Sobol", "Correlation map", "the paper at"):
        assert text in html
    # resume: nothing is recomputed, the table is the same
    again = run_study(out, points=6, replicates=1, voxel_size=1e-6, box_xy=25e-6, kinds=("gp",),
                      sobol_n=64)
    assert again.timing["evaluated"] == 0
    pd.testing.assert_frame_equal(again.table, tab)


def test_study_design_and_refusals():
    camp, n_train = study_campaigns(points=440, replicates=1, voxel_size=1e-6, validation=0)
    plan = camp.plan()
    assert n_train == 440 == len(plan)
    assert sorted({round(p["am_mass_fraction"], 4) for p in plan}) == [0.93, 0.94, 0.95, 0.96]
    assert len({p["porosity_before"] for p in plan}) == 11
    pressures = sorted({p["pressure"] for p in plan})
    assert pressures[0] == pytest.approx(20e6) and pressures[-1] == pytest.approx(170e6)
    assert np.allclose(np.diff(np.log(pressures)), np.log(170 / 20) / 9)  # log-spaced
    camp, n_train = study_campaigns(points=10, replicates=1)
    assert n_train == 10 and len(camp.plan()) == 20
    assert [p.name for p in INPUTS] == list(camp.plan()[0])
    with pytest.raises(RecipeError, match="voxel"):
        study_campaigns(points=10, voxel_size=20e-6)
    with pytest.raises(RecipeError, match="at least 4"):
        study_campaigns(points=2)


def test_paper_file_is_mapped_to_si(tmp_path):
    fake_paper_file(tmp_path / "p.csv")
    df = paper_points(tmp_path / "p.csv")
    assert df.pressure.max() == pytest.approx(np.exp(5.254 - 0.0307 * 11) * 1e6)
    assert df.am_mass_fraction.min() == pytest.approx(0.93)
    assert df.cc_coverage_am.iloc[0] == pytest.approx(0.33)
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RecipeError, match="missing columns"):
        paper_points(tmp_path / "bad.csv")


@pytest.mark.parametrize(("porosity_before", "printed"), [(0.40, 0.375), (0.50, 0.304)])
def test_insilico_calender_lands_where_the_paper_does(porosity_before, printed):
    """The paper's calendered porosity at its highest pressure (174 MPa), averaged over
    93-96 wt % AM, as printed in Duquesnoy et al. (2020): 0.375 from 40 %, 0.304 from 50 %."""
    from twinline.learn.study import CalenderingStudy

    study = CalenderingStudy()
    eps = np.mean([float(study.calender(am, porosity_before, 174.2e6).porosity)
                   for am in (0.93, 0.94, 0.95, 0.96)])
    assert eps == pytest.approx(printed, abs=0.015)   # fit: MAE 0.0046 over 440 rows
    # the lab calender of the material library compacts the same coating further
    line = CalenderingStudy(calendering="line")
    assert float(line.calender(0.945, porosity_before, 174.2e6).porosity) < eps - 0.05


def test_unknown_calender_constants_are_refused():
    from twinline.learn.study import CalenderingStudy

    with pytest.raises(RecipeError, match="calendering = 'dem'"):
        study_campaigns(points=10, calendering="dem")
    with pytest.raises(RecipeError, match="insilico"):
        CalenderingStudy(calendering="dem").calender(0.95, 0.45, 50e6)


def test_insilico_floor_never_lies_above_the_initial_porosity():
    """Outside the study's range (initial porosity 0.30) the fitted floor would exceed the
    initial porosity; the model caps it, so pressure never raises the porosity."""
    from twinline.learn.study import CalenderingStudy

    study = CalenderingStudy()
    for p in (1e6, 50e6, 170e6):
        assert float(study.calender(0.96, 0.30, p).porosity) <= 0.30 + 1e-12
