"""Property test: whatever a user writes into a recipe, the loader answers with a
TwinlineError (one line) or a valid recipe - never another exception (no traceback)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.materials import builtin_library
from twinline.materials.check import check_recipe_materials
from twinline.spec.errors import TwinlineError
from twinline.spec.recipe import parse_recipe

BASE = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples"
                       / "nmc111_cathode.yaml").read_text("utf-8"))


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


PATHS = list(_paths(BASE))
junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["60 MPa", "1e400 m", "-0 um", "nan m", "300",
                                           "3 kg", "96 %", "abc def", "1/0 s", "NMC111"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                          st.integers(), max_size=2))


@settings(max_examples=100, deadline=None)
@given(path=st.sampled_from(PATHS), value=junk, delete=st.booleans())
def test_any_edit_gives_a_recipe_or_a_one_line_twinline_error(path, value, delete):
    data = copy.deepcopy(BASE)
    node = data
    for k in path[:-1]:
        node = node[k]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    try:
        rec = parse_recipe(data, "fuzz.yaml")
        check_recipe_materials(rec, builtin_library())
    except TwinlineError as err:
        msg = str(err)
        assert msg.startswith("fuzz.yaml") or "." in msg.split(":")[0]
        assert "\n" not in msg
