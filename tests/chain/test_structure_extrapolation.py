"""`run_chain(structure=True, extrapolate_structure=True)`: the 3D transport numbers at zero voxel
size beside the raw outputs, which stay the outputs and the cell's inputs."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain_recipes import recipe
from twinline.chain import run_chain
from twinline.chain import structure as CS
from twinline.cli import app
from twinline.report.html import output_note
from twinline.spec.errors import RecipeError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nmc111_cathode.yaml"


@pytest.fixture(scope="module")
def run():
    # a 1 µm, 24 µm wide image instead of the chain's sizing rule, so that the run takes a
    # second; everything else is the chain's own path. The test recipe's cathode resolves a
    # pore fraction of 0.17, near the percolation threshold: on so small a box some seeds have
    # no percolating pore (the chain then reports the closed form), so take the first that does.
    mp = pytest.MonkeyPatch()
    mp.setattr(CS, "structure_grid", lambda calendered: (1e-6, 24e-6))
    try:
        for seed in range(8):
            r = run_chain(recipe(anode=None), structure=True, extrapolate_structure=True, seed=seed)
            o = r.outputs["cathode.calendering.cross_plane_tortuosity_factors"]
            if o["source"].startswith("3D analysis"):
                yield r
                return
        raise AssertionError("no seed in 0-7 gave a percolating pore phase")
    finally:
        mp.undo()


@pytest.mark.slow
def test_outputs_stay_raw_and_carry_the_zero_voxel_value(run):
    analysis = run.products["cathode"]["structure"]
    x = analysis.extrapolation
    assert x, "the analysis was not extrapolated"
    for pid, key in CS.EXTRAPOLATED_OUTPUTS.items():
        o = run.outputs[f"cathode.{pid}"]
        v = x[key]
        # the output is the raw analysis value (display unit of sigma_eff is S/m here)
        assert o["value"] == pytest.approx(v["raw"], rel=1e-9)
        z = o["zero_voxel_size"]
        assert z["value"] == pytest.approx(v["extrapolated"], rel=1e-9)
        assert z["refined"] == pytest.approx(v["refined"], rel=1e-9)
        assert z["discretisation_error"] == pytest.approx(v["discretisation_error"], rel=1e-12)
        assert z["definition"]
        # which value fed the cell: stated for the two the cell takes, and it is the raw one
        if pid in CS.CELL_INPUTS:
            assert o["cell_input"].startswith("raw")
        else:
            assert "cell_input" not in o
    # a 1 µm image of a calendered cathode: the raw pore tortuosity factor is too high
    assert (
        run.outputs["cathode.calendering.cross_plane_tortuosity_factors"]["zero_voxel_size"][
            "discretisation_error"
        ]
        > 0.05
    )
    note = output_note(run.outputs["cathode.calendering.cross_plane_tortuosity_factors"])
    assert "extrapolated to zero voxel size" in note and "cell model uses the value above" in note
    # the JSON round trip keeps it
    back = run.to_jsonable()
    assert "zero_voxel_size" in back["outputs"]["cathode.calendering.solid_tortuosity_factor"]
    assert back["products"]["cathode"]["structure"]["extrapolation"]["order_p"]["pore"] > 1


def test_without_extrapolation_nothing_is_added():
    assert CS.zero_voxel_entry("calendering.cross_plane_tortuosity_factors", 3.0, None) == {}
    assert output_note({"value": 1.0, "definition": "d", "source": "s"}) == "d; s"


def test_extrapolate_needs_structure(tmp_path):
    with pytest.raises(RecipeError, match="extrapolate_structure"):
        run_chain(recipe(anode=None), extrapolate_structure=True)
    res = CliRunner().invoke(
        app, ["run", str(EXAMPLE), "--out", str(tmp_path / "o"), "--extrapolate"]
    )
    assert res.exit_code == 2
    assert "--extrapolate needs --structure" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()
