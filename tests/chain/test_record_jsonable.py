"""``Run.to_jsonable()`` (what the server answers) is exactly what ``run.json`` holds:
``json.loads(run.to_json())``, NaN and inf as ``None``, NumPy scalars as Python numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("samples", [0, 64])
def test_to_jsonable_is_the_json_text_read_back(samples):
    from twinline.chain import resolve_materials, run_chain
    from twinline.spec.recipe import load_recipe

    recipe = load_recipe(EXAMPLES / "nmc111_cathode.yaml")
    run = run_chain(recipe, materials=resolve_materials(recipe), seed=3, samples=samples)
    # a NaN, an infinity and NumPy scalars somewhere in the record
    run.inputs = {
        **run.inputs,
        "x_nan": float("nan"),
        "x_inf": -math.inf,
        "x_np": np.float64(0.25),
        "x_int": np.int64(7),
        "x_tuple": (1.0, np.nan),
    }
    data = run.to_jsonable()
    assert data == json.loads(run.to_json(indent=None))
    assert json.dumps(data, allow_nan=False) == run.to_json(indent=None)
    assert data["inputs"]["x_nan"] is None and data["inputs"]["x_inf"] is None
    assert type(data["inputs"]["x_np"]) is float and type(data["inputs"]["x_int"]) is int
    assert data["inputs"]["x_tuple"] == [1.0, None]
