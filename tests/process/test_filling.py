"""Electrolyte filling and Washburn wetting: scaling laws, literature trends, refusals."""

from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cell.cellkit import chen_anode, electrode, electrode_pair
from twinline.materials import Material, MaterialLibrary, builtin_library
from twinline.process.assembly import assemble
from twinline.process.filling import (
    electrolyte_properties,
    electrolyte_volume,
    fill,
    kozeny_pore_radius,
    washburn_time,
)
from twinline.process.products import Cell
from twinline.spec.cell_recipe import CellSection, FillingSection
from twinline.spec.errors import CellError

LIB = builtin_library()
KW = dict(viscosity=3e-3, surface_tension=0.035, contact_angle=0.3)


@dataclass(frozen=True)
class _Design:
    """The part of a cell design that filling reads (a hand-made pouch layout)."""

    cathode: SimpleNamespace
    anode: SimpleNamespace
    total_pore_volume: float
    format: str = "pouch"
    electrode_height: float = 0.05
    masses: dict = field(default_factory=dict)

    def with_electrolyte(self, mass):
        return replace(self, masses={**self.masses, "electrolyte": mass})


def _design(porosity=0.3, pore_scale=1.0):
    return _Design(cathode=SimpleNamespace(porosity=porosity, sheet_area=0.1 * 0.05),
                   anode=SimpleNamespace(porosity=porosity, sheet_area=0.0055),
                   total_pore_volume=5.5e-6 * pore_scale)


def _cell(design=None, *, cathode_radius=5e-6, anode_radius=8e-6, electrolyte="LP57"):
    """A Cell around a hand-made design; particle radii from its calendered coatings."""
    return Cell(design=design or _design(), cathode=electrode("positive", radius=cathode_radius),
                anode=chen_anode(radius=anode_radius), separator="PE", electrolyte=electrolyte,
                n_p_ratio=1.1, stack_weight=0.1, scrap_probability=0.0,
                scrap_probability_std=0.0, worst_overhang_mean=1e-3, worst_overhang_p01=1e-3,
                samples=4000)


TAU = {"cathode": 2.0, "anode": 2.5, "separator": 3.2}


def _fill(section=None, *, cell=None, lib=LIB, **kw):
    return fill(section or FillingSection(), cell or _cell(), lib,
                tortuosity_factor=kw.pop("tortuosity_factor", TAU), **kw)


def test_electrolyte_volume_scales_with_pore_volume():
    a = _fill(cell=_cell(_design(pore_scale=1.0)))
    b = _fill(cell=_cell(_design(pore_scale=2.0)))
    assert b.electrolyte_volume == pytest.approx(2 * a.electrolyte_volume)
    assert a.electrolyte_volume == pytest.approx(1.4 * 5.5e-6)
    assert a.electrolyte_mass == pytest.approx(a.electrolyte_volume * LIB["LP57"]["density"])
    assert a.pore_volume == pytest.approx(5.5e-6)
    # the filled cell carries the electrolyte in its mass budget
    assert a.cell.design.masses["electrolyte"] == pytest.approx(a.electrolyte_mass)


def test_filling_an_assembled_cell_doses_its_pore_volume():
    section = CellSection().model_copy(update={"layers": 5, "cathode_length": 0.06,
                                               "cathode_width": 0.04, "electrolyte": "LP57"})
    cell = assemble(section, electrode_pair(), LIB)
    twice = assemble(section.model_copy(update={"layers": 10}), electrode_pair(), LIB)
    a, b = _fill(cell=cell), _fill(cell=twice)
    assert a.electrolyte_volume == pytest.approx(1.4 * cell.design.total_pore_volume)
    assert b.electrolyte_volume == pytest.approx(2 * a.electrolyte_volume)
    assert a.cell.design.masses["electrolyte"] == pytest.approx(
        a.electrolyte_volume * LIB["LP57"]["density"])
    assert a.cell.design.mass == pytest.approx(cell.design.mass + a.electrolyte_mass)
    # Kozeny radii from the cell's own coatings
    assert a.pore_radius["cathode"] == pytest.approx(
        kozeny_pore_radius(cell.cathode.porosity, cell.cathode.particle_radius))
    assert a.pore_radius["anode"] == pytest.approx(
        kozeny_pore_radius(cell.anode.porosity, cell.anode.particle_radius))
    assert a.wetting_time == max(a.wetting_times.values()) > 0


def test_washburn_square_law_and_pressure_speeds_up():
    t1 = washburn_time(0.01, 1e-6, **KW)
    assert washburn_time(0.03, 1e-6, **KW) == pytest.approx(9 * t1)
    assert washburn_time(0.01, 1e-6, **KW, tortuosity_factor=2.0) == pytest.approx(2 * t1)
    assert washburn_time(0.01, 1e-6, **KW, pressure_difference=1e5) < t1
    # analytic value: t = 4 μ τ l² / (r² · 2γcosθ/r)
    assert t1 == pytest.approx(4 * 3e-3 * 1e-4 / (1e-12 * 2 * 0.035 * np.cos(0.3) / 1e-6))


def test_wetting_time_grows_as_porosity_and_pore_size_fall():
    t = [_fill(cell=_cell(_design(porosity=e))).wetting_times["cathode"]
         for e in (0.45, 0.35, 0.25)]
    assert t[0] < t[1] < t[2]
    small = _fill(cell=_cell(cathode_radius=2e-6))
    assert small.wetting_times["cathode"] > _fill().wetting_times["cathode"]
    assert kozeny_pore_radius(0.5, 3e-6) == pytest.approx(2e-6)


def test_warmer_filling_wets_faster():
    warm = FillingSection().model_copy(update={"temperature": 318.15})
    assert _fill(warm).wetting_time < _fill().wetting_time
    mu25, g25 = electrolyte_properties(LIB["LP57"], 298.15)
    assert float(mu25) == pytest.approx(LIB["LP57"]["viscosity"])
    assert float(g25) == pytest.approx(LIB["LP57"]["surface_tension"])


def test_wetting_degree_after_short_rest_follows_sqrt_time():
    res = _fill()
    short = FillingSection().model_copy(update={"rest_time": res.wetting_time / 4})
    assert _fill(short).wetting_degree == pytest.approx(0.5, rel=1e-9)
    assert res.wetting_degree <= 1.0


def test_a_non_wetting_electrolyte_is_refused():
    bad = Material("bad", "electrolyte", {**LIB["LP57"].properties, "contact_angle": 1.8})
    lib = LIB.merged(MaterialLibrary({"bad": bad}))
    with pytest.raises(CellError, match="contact angle of 103°"):
        fill(FillingSection(), _cell(electrolyte="bad"), lib, tortuosity_factor={})


@settings(max_examples=40, deadline=None)
@given(st.floats(1e-4, 0.2), st.floats(1e-8, 1e-5), st.floats(0.0, 1.5), st.floats(1.0, 10.0))
def test_washburn_time_positive_and_monotone_in_length(length, r, theta, tau):
    t = washburn_time(length, r, viscosity=3e-3, surface_tension=0.035, contact_angle=theta,
                      tortuosity_factor=tau)
    t2 = washburn_time(length * 1.5, r, viscosity=3e-3, surface_tension=0.035,
                       contact_angle=theta, tortuosity_factor=tau)
    assert t > 0 and t2 > t


def test_volume_broadcasts_over_arrays():
    v = electrolyte_volume(np.array([1e-6, 2e-6]), np.array([1.2, 1.4]))
    assert np.allclose(v, [1.2e-6, 2.8e-6])


def test_lower_chamber_pressure_wets_faster_and_traps_less_gas():
    imb = SimpleNamespace(trapped_gas_fraction=0.2, capillary_pressure=(2e5, 1e5),
                          saturation=(0.1, 0.8))
    hi = FillingSection().model_copy(update={"chamber_pressure": 5e4})
    lo = FillingSection().model_copy(update={"chamber_pressure": 5e3})
    r_hi, r_lo = _fill(hi, imbibition=imb), _fill(lo, imbibition=imb)
    assert r_lo.wetting_time < r_hi.wetting_time
    assert r_lo.trapped_gas_fraction == pytest.approx(0.2 * 5e3 / 101325)
    assert r_hi.trapped_gas_fraction > r_lo.trapped_gas_fraction
    assert r_lo.saturation_curve["saturation"] == [0.1, 0.8]
