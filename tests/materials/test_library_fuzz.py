"""Property test: a user materials entry either loads or raises MaterialError (one line)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.materials import KINDS, PROPERTY_UNITS, parse_library
from twinline.spec.errors import MaterialError

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=10), st.sampled_from(["1 g/cm^3", "3 um", "1e400 m", ")", "25 degC",
                                           "1 m/s", "abc"]),
    st.lists(st.integers(), max_size=2),
    st.fixed_dictionaries({"value": st.one_of(st.floats(), st.text(max_size=4)),
                           "unit": st.sampled_from(["g/cm^3", "um", "", "furlongz"]),
                           "source": st.text(max_size=5)}),
)


@settings(max_examples=150, deadline=None)
@given(kind=st.one_of(st.sampled_from(KINDS), st.text(max_size=5)),
       props=st.dictionaries(st.sampled_from([*sorted(PROPERTY_UNITS), "polarity", "x"]),
                             junk, max_size=4))
def test_any_user_entry_loads_or_raises_material_error(kind, props):
    data = {"materials": {"X": {"kind": kind, "properties": props}}}
    try:
        lib = parse_library(data, "user.yaml")
    except MaterialError as err:
        assert "\n" not in str(err) and str(err).startswith("user.yaml")
        return
    assert lib["X"].kind == kind
    for v in lib["X"].properties.values():
        if isinstance(v, float):
            assert v == v and abs(v) != float("inf")
