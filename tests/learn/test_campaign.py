"""Campaigns: designs, seeds, Parquet parts, resume and executor independence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinline.learn.campaign import Campaign, Parameter, design_points, point_seed
from twinline.learn.dataset import DatasetError, part_files, read_dataset
from twinline.spec.errors import RecipeError, TwinlineError

pytest.importorskip("pyarrow")

PARAMS = [Parameter("pressure", 20e6, 170e6, "Pa"), Parameter("eps0", 0.40, 0.50)]


def noisy_model(point: dict[str, float], seed: int) -> dict[str, float]:
    """Heckel-like porosity with seeded noise (a stand-in for a stochastic structure)."""
    rng = np.random.default_rng(seed)
    eps = 0.2 + (point["eps0"] - 0.2) * np.exp(-point["pressure"] / 80e6)
    return {"porosity": eps + 0.01 * rng.standard_normal(), "clean": eps}


class Interrupt:
    """Evaluation that raises KeyboardInterrupt on the n-th call (a user pressing Ctrl-C)."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __call__(self, point: dict[str, float], seed: int) -> dict[str, float]:
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return noisy_model(point, seed)


def failing_model(point: dict[str, float], seed: int) -> dict[str, float]:
    if point["pressure"] > 150e6:
        raise RecipeError("pressure too high for this model")
    return noisy_model(point, seed)


def test_full_factorial_has_every_combination_with_the_ends():
    pts = design_points([Parameter("a", 0, 1, levels=3), Parameter("b", 10, 20, levels=2)],
                        design="factorial")
    assert len(pts) == 6
    assert {(p["a"], p["b"]) for p in pts} == {(a, b) for a in (0, 0.5, 1) for b in (10, 20)}


@pytest.mark.parametrize("design", ["lhs", "sobol"])
def test_space_filling_designs_stay_in_bounds_and_are_seeded(design):
    pts = design_points(PARAMS, design=design, points=32, seed=3)
    p = np.array([[q["pressure"], q["eps0"]] for q in pts])
    assert p[:, 0].min() >= 20e6 and p[:, 0].max() <= 170e6
    assert p[:, 1].min() >= 0.4 and p[:, 1].max() <= 0.5
    again = design_points(PARAMS, design=design, points=32, seed=3)
    assert pts == again
    assert pts != design_points(PARAMS, design=design, points=32, seed=4)


def test_latin_hypercube_puts_one_point_in_each_stratum():
    pts = design_points(PARAMS, design="lhs", points=20, seed=0)
    u = np.array([(q["eps0"] - 0.4) / 0.1 for q in pts])
    assert sorted(np.floor(u * 20).astype(int)) == list(range(20))


def test_point_seeds_are_distinct_and_stable():
    seeds = {point_seed(7, i, r) for i in range(200) for r in range(3)}
    assert len(seeds) == 600
    assert point_seed(7, 5, 1) == point_seed(7, 5, 1) != point_seed(8, 5, 1)


def test_parameter_parse_refuses_bounds_outside_the_recipe_fields_range():
    with pytest.raises(RecipeError, match=r"cathode\.coating\.gap: bound 0.003 m is outside "
                                          r"the allowed range \(0, 0\.002\] m"):
        Parameter.parse("cathode.coating.gap=100um:3mm")
    with pytest.raises(RecipeError, match=r"outside the allowed range \(273\.15, 523\.15\) K"):
        Parameter.parse("anode.drying.zones.0.temperature=-10degC:80degC")
    assert Parameter.parse("cathode.coating.gap=100um:2mm").high == pytest.approx(2e-3)
    assert Parameter.parse("not_a_path=-5:5").low == -5.0  # not a recipe field: no range


def test_parameter_parse_converts_bounds_to_si():
    p = Parameter.parse("cathode.calendering.pressure=20MPa:170MPa:5")
    assert Parameter.parse("stress=1kPa:2kPa").unit == "Pa"
    assert Parameter.parse("cathode.coating.gap=100um:300um").high == pytest.approx(3e-4)
    assert (p.low, p.high, p.levels, p.unit) == (20e6, 170e6, 5, "Pa")
    assert Parameter.parse("x=0.93:0.96").unit == ""
    with pytest.raises(RecipeError, match="low <= high"):
        Parameter("x", 2.0, 1.0)
    with pytest.raises(RecipeError, match="different dimensions"):
        Parameter.parse("x=1MPa:3um")


def test_replicates_are_averaged_and_their_spread_kept(tmp_path):
    camp = Campaign(PARAMS, noisy_model, design="lhs", points=6, replicates=4, seed=1)
    tab = camp.run(tmp_path).table
    assert len(tab) == 6 and (tab.replicates == 4).all()
    for _, row in tab.iterrows():
        vals = [noisy_model({"pressure": row.pressure, "eps0": row.eps0},
                            point_seed(1, int(row.point_id), r))["porosity"] for r in range(4)]
        assert row.porosity == pytest.approx(np.mean(vals), abs=1e-15)
        assert row.porosity_std == pytest.approx(np.std(vals, ddof=1), abs=1e-15)
    assert (tab.clean_std < 1e-15).all()  # deterministic output: no spread
    assert {"seed", "status", "recipe_hash", "twinline_version", "model_versions"} <= set(
        tab.columns)


def test_interrupted_and_resumed_campaign_equals_uninterrupted(tmp_path):
    full = Campaign(PARAMS, noisy_model, design="sobol", points=16, replicates=2,
                    seed=5).run(tmp_path / "full", chunk=4).table
    broken = Campaign(PARAMS, Interrupt(n=2 * 9 + 1), design="sobol", points=16, replicates=2,
                      seed=5)
    with pytest.raises(KeyboardInterrupt):
        broken.run(tmp_path / "resumed", chunk=4)
    partial = read_dataset(tmp_path / "resumed")
    assert len(partial) == 9  # everything finished before Ctrl-C was kept
    counter = Interrupt(n=10**9)
    resumed = Campaign(PARAMS, counter, design="sobol", points=16, replicates=2, seed=5)
    result = resumed.run(tmp_path / "resumed", chunk=4)
    assert result.skipped == 9 and result.evaluated == 7
    assert counter.calls == 7 * 2  # finished points are not recomputed
    pd.testing.assert_frame_equal(result.table, full)


def test_serial_and_two_dask_workers_give_identical_datasets(tmp_path):
    pytest.importorskip("distributed")
    from twinline.learn.executors import make_executor

    camp = Campaign(PARAMS, noisy_model, design="lhs", points=12, replicates=2, seed=2)
    serial = camp.run(tmp_path / "serial").table
    ex = make_executor(workers=2, processes=False)
    try:
        assert ex.workers == 2
        dask = camp.run(tmp_path / "dask", executor=ex, chunk=5).table
    finally:
        ex.close()
    pd.testing.assert_frame_equal(serial, dask)


def test_failed_points_are_recorded_not_fatal(tmp_path):
    camp = Campaign(PARAMS, failing_model, design="factorial", points=3)
    tab = camp.run(tmp_path).table
    bad = tab[tab.pressure > 150e6]
    assert len(bad) == 3 and bad.status.str.startswith("failed: pressure too high").all()
    assert (tab[tab.pressure <= 150e6].status == "ok").all()
    assert len(read_dataset(tmp_path, ok_only=True)) == 6


def test_a_folder_refuses_a_different_campaign(tmp_path):
    Campaign(PARAMS, noisy_model, points=4, seed=0).run(tmp_path)
    with pytest.raises(DatasetError, match="different campaign"):
        Campaign(PARAMS, noisy_model, points=4, seed=1).run(tmp_path)
    assert isinstance(DatasetError("x"), TwinlineError)


def test_parts_are_written_in_chunks_and_progress_is_reported(tmp_path):
    seen: list[tuple[int, int]] = []
    Campaign(PARAMS, noisy_model, points=10).run(tmp_path, chunk=4,
                                                 progress=lambda d, n: seen.append((d, n)))
    assert len(part_files(tmp_path)) == 3
    assert seen[-1] == (10, 10) and [d for d, _ in seen] == list(range(1, 11))
    assert not list(tmp_path.glob(".*tmp"))
