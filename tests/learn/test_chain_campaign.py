"""A campaign through the real process chain (recipe paths, SI outputs, physics trends)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twinline.learn.campaign import Campaign, Parameter
from twinline.learn.recipe_points import ChainEvaluator, recipe_data

pytest.importorskip("pyarrow")
EXAMPLE = Path(__file__).parents[2] / "examples" / "nmc111_cathode.yaml"
OUTS = ["cathode.coating.wet_film_thickness", "cathode.coating.loading",
        "cathode.calendering.porosity", "cathode.calendering.thickness"]


def test_chain_campaign_follows_the_physics(tmp_path):
    ev = ChainEvaluator(recipe_data(EXAMPLE), OUTS)
    camp = Campaign([Parameter("cathode.coating.gap", 200e-6, 300e-6, "m", levels=3),
                     Parameter("cathode.calendering.pressure", 20e6, 170e6, "Pa", levels=3)],
                    ev, design="factorial", seed=0)
    tab = camp.run(tmp_path).table
    assert (tab.status == "ok").all() and len(tab) == 9
    # outputs are SI: the wet film of a 200-300 µm gap is tens to hundreds of micrometres
    wet = tab["cathode.coating.wet_film_thickness"]
    assert wet.between(20e-6, 400e-6).all()
    # a wider gap gives a thicker, heavier film; more pressure gives a lower porosity
    by_gap = tab.groupby("cathode.coating.gap")["cathode.coating.loading"].mean()
    assert np.all(np.diff(by_gap.to_numpy()) > 0)
    for _, grp in tab.groupby("cathode.coating.gap"):
        g = grp.sort_values("cathode.calendering.pressure")
        assert np.all(np.diff(g["cathode.calendering.porosity"].to_numpy()) < 0)
        # conserved solid volume: thickness·(1 − porosity) does not depend on pressure
        solid = g["cathode.calendering.thickness"] * (1 - g["cathode.calendering.porosity"])
        assert np.ptp(solid.to_numpy()) < 1e-9 * 1e3 * solid.mean()
    assert tab.recipe_hash.nunique() == 9
