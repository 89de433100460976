"""Monte Carlo in chunks (issue 13, item 7): bounded working memory, exact statistics,
bit-identical results up to one chunk."""

import numpy as np
import pytest

from chain_recipes import recipe
from twinline.chain import resolve_materials
from twinline.chain.uncertainty import (
    PERCENTILES,
    _electrode_outputs,
    draw,
    draw_chunks,
    monte_carlo,
    resolve_tolerances,
)
from twinline.process.composition import resolve_composition

TOLS = {"cathode.coating.gap": "5 um", "cathode.calendering.pressure": "2 MPa",
        "cathode.mixing.solid_content": 0.005}


@pytest.fixture(scope="module")
def setup():
    rec = recipe(anode=None, tolerances=TOLS)
    lib = resolve_materials(rec)
    comps = {"cathode": resolve_composition(rec.cathode, lib, "positive")}
    return rec, lib, comps, resolve_tolerances(rec)


def unchunked(setup, samples, seed):
    """The statistics as monte_carlo computed them before chunking (one evaluation)."""
    rec, lib, comps, tols = setup
    out = _electrode_outputs("cathode", rec.cathode, comps["cathode"], lib, tols,
                             draw(tols, samples, seed), 1.119)
    stats = {}
    for key, arr in out.items():
        a = np.broadcast_to(arr, (samples,)) if arr.ndim == 0 else arr
        std = float(np.std(a, ddof=1))
        mean = float(np.mean(a))
        stats[key] = {"mean": mean, "std": 0.0 if std <= 1e-9 * abs(mean) else std,
                      **{f"p{p:g}": float(v) for p, v in
                         zip(PERCENTILES, np.percentile(a, PERCENTILES), strict=True)}}
    return stats


def test_one_chunk_is_bit_identical_to_one_evaluation(setup):
    rec, lib, comps, tols = setup
    ref = unchunked(setup, 300, 4)
    for chunk in (300, 301, 10_000):
        stats, _ = monte_carlo(rec, lib, comps, samples=300, seed=4, tolerances=tols,
                               chunk=chunk)
        assert stats == ref  # exact equality, every output and statistic


def test_chunks_give_exact_statistics_over_all_samples(setup):
    rec, lib, comps, tols = setup
    stats, _ = monte_carlo(rec, lib, comps, samples=1000, seed=4, tolerances=tols, chunk=64)
    # the same samples, evaluated chunk by chunk here and joined: percentiles over all of them
    parts = [_electrode_outputs("cathode", rec.cathode, comps["cathode"], lib, tols, v, 1.119)
             for v in draw_chunks(tols, 1000, 4, 64)]
    key = "cathode.calendering.porosity"
    a = np.concatenate([p[key] for p in parts])
    assert a.shape == (1000,)
    assert stats[key]["p5"] == float(np.percentile(a, 5))
    assert stats[key]["p95"] == float(np.percentile(a, 95))
    assert stats[key]["mean"] == pytest.approx(float(np.mean(a)), rel=1e-14)
    assert stats[key]["std"] == pytest.approx(float(np.std(a, ddof=1)), rel=1e-12)
    # and statistically the same as one evaluation of other samples
    ref = unchunked(setup, 1000, 4)
    assert stats[key]["mean"] == pytest.approx(ref[key]["mean"], abs=4 * ref[key]["std"] / 30)
    assert stats[key]["std"] == pytest.approx(ref[key]["std"], rel=0.15)


def test_progress_reaches_one(setup):
    rec, lib, comps, tols = setup
    seen = []
    monte_carlo(rec, lib, comps, samples=100, seed=0, tolerances=tols, chunk=30,
                progress=seen.append)
    assert seen == sorted(seen) and len(seen) == 4 and seen[-1] == pytest.approx(1.0)


def test_draw_chunks_first_chunk_is_draw(setup):
    tols = setup[3]
    (only,) = list(draw_chunks(tols, 50, 9, 50))
    ref = draw(tols, 50, 9)
    assert all(np.array_equal(only[k], ref[k]) for k in ref)
