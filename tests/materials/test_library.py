"""The built-in material library: completeness, sources, physical consistency, user files."""

from __future__ import annotations

import math

import pytest
from scipy.constants import R, physical_constants

from twinline.materials import KINDS, builtin_library, load_library
from twinline.spec.errors import MaterialError

F = physical_constants["Faraday constant"][0]  # C/mol

REQUIRED = {
    "active_material": {"density", "specific_capacity", "particle_d10", "particle_d50",
                        "particle_d90", "polarity", "nominal_voltage",
                        "first_cycle_efficiency", "porosity_min", "compaction_pressure",
                        "pybamm_parameter_set"},
    "conductive_additive": {"density", "particle_d50", "specific_surface_area"},
    "binder": {"density", "solvent", "water_sorption", "glass_transition_temperature"},
    "solvent": {"density", "viscosity", "molar_mass", "antoine_a", "antoine_b", "antoine_c",
                "heat_of_vaporisation", "boiling_point", "surface_tension",
                "diffusivity_in_air", "heat_capacity"},
    "current_collector": {"density", "thickness"},
    "separator": {"density", "thickness", "porosity", "macmullin_number"},
    "electrolyte": {"density", "conductivity", "viscosity", "surface_tension",
                    "contact_angle", "salt_concentration"},
}
EXPECTED = {"NMC111": "active_material", "NMC622": "active_material",
            "NMC811": "active_material", "LFP": "active_material",
            "graphite": "active_material", "SiOx-graphite": "active_material",
            "C65": "conductive_additive", "PVDF": "binder", "CMC": "binder", "SBR": "binder",
            "CMC-SBR": "binder", "NMP": "solvent", "water": "solvent",
            "Al": "current_collector", "Cu": "current_collector", "PE": "separator",
            "PP": "separator", "LP30": "electrolyte", "LP57": "electrolyte"}


def _antoine(m, T):
    return 10 ** (m["antoine_a"] - m["antoine_b"] / (m["antoine_c"] + T))


def test_every_material_of_the_papers_is_there_with_its_kind():
    lib = builtin_library()
    for name, kind in EXPECTED.items():
        assert lib[name].kind == kind
    assert lib["nmc111"].name == "NMC111"  # case-insensitive lookup


@pytest.mark.parametrize("name", list(EXPECTED))
def test_required_properties_and_sources(name):
    m = builtin_library()[name]
    missing = REQUIRED[m.kind] - set(m.properties)
    assert not missing, missing
    for prop, value in m.properties.items():
        if isinstance(value, float):
            assert math.isfinite(value)
            assert m.source(prop), f"{name}.{prop} has no source"


def test_active_materials_are_physically_consistent():
    lib = builtin_library()
    theoretical = {"NMC111": 278, "NMC622": 277, "NMC811": 275, "LFP": 170,
                   "graphite": 372}  # mAh/g, one Li per formula unit / LiC6
    for name, limit in theoretical.items():
        cap = lib[name]["specific_capacity"] / 3600  # C/kg -> mAh/g
        assert 0.5 * limit < cap < limit, name
    for m in lib.of_kind("active_material"):
        assert m["particle_d10"] < m["particle_d50"] < m["particle_d90"]
        assert 0.5 < m["first_cycle_efficiency"] <= 1
        assert 0 < m["porosity_min"] < 0.5
        assert m["polarity"] in ("positive", "negative")
        assert (m["nominal_voltage"] > 3) == (m["polarity"] == "positive")
        assert 1500 < m["density"] < 6000
    nmc = lib["NMC111"]  # ARTISTIC measured PSD and density
    assert nmc["particle_d50"] == pytest.approx(4.0e-6)
    assert (nmc["particle_d10"], nmc["particle_d90"]) == pytest.approx((2.4e-6, 8.6e-6))
    assert 4700 <= nmc["density"] <= 4800
    blend = lib["SiOx-graphite"]["specific_capacity"]
    assert lib["graphite"]["specific_capacity"] < blend < 1500 * 3600


@pytest.mark.parametrize("name", ["NMP", "water"])
def test_antoine_law_gives_the_normal_boiling_point(name):
    m = builtin_library()[name]
    p = _antoine(m, m["boiling_point"])
    assert p == pytest.approx(101325, rel=0.03)


@pytest.mark.parametrize("name", ["NMP", "water"])
def test_antoine_slope_matches_the_heat_of_vaporisation(name):
    # Clausius-Clapeyron: dln p/dT = dHvap / (R T^2), at 25 degC, within 10 %
    m = builtin_library()[name]
    T = 298.15
    slope = math.log(10) * m["antoine_b"] / (m["antoine_c"] + T) ** 2
    dh_antoine = slope * R * T**2 / m["molar_mass"]  # J/kg
    assert dh_antoine == pytest.approx(m["heat_of_vaporisation"], rel=0.10)


def test_water_vapour_pressure_at_25_and_60_degC():
    w = builtin_library()["water"]
    assert _antoine(w, 298.15) == pytest.approx(3169.9, rel=0.01)  # steam tables
    assert _antoine(w, 333.15) == pytest.approx(19946, rel=0.01)


def test_electrolytes_and_separators():
    lib = builtin_library()
    assert lib["LP30"]["conductivity"] == pytest.approx(1.119)  # Duquesnoy2020
    for e in lib.of_kind("electrolyte"):
        assert e["salt_concentration"] == pytest.approx(1000.0)  # 1 mol/L
        assert 0 < e["contact_angle"] < math.pi / 2  # wetting liquid
    for s in lib.of_kind("separator"):
        eps = s["porosity"]
        assert 0 < eps < 1
        # MacMullin number = tau / eps >= 1 / eps because the tortuosity factor tau >= 1
        assert s["macmullin_number"] >= 1 / eps


def test_binder_blend_is_volume_additive():
    lib = builtin_library()
    rho = 1 / (0.5 / lib["CMC"]["density"] + 0.5 / lib["SBR"]["density"])
    assert lib["CMC-SBR"]["density"] == pytest.approx(rho, rel=0.02)
    assert lib["PVDF"]["solvent"] == "NMP" and lib["CMC-SBR"]["solvent"] == "water"
    assert lib["CMC"]["water_sorption"] > lib["PVDF"]["water_sorption"]


def test_pybamm_parameter_sets_are_named_consistently():
    for m in builtin_library().of_kind("active_material"):
        assert m["pybamm_parameter_set"] in {"Chen2020", "Ecker2015", "Mohtat2020",
                                             "ORegan2022", "Marquis2019", "Prada2013"}


@pytest.mark.slow
def test_pybamm_parameter_sets_exist_in_pybamm():
    pybamm = pytest.importorskip("pybamm")
    sets = set(pybamm.parameter_sets.keys())
    for m in builtin_library().of_kind("active_material"):
        assert m["pybamm_parameter_set"] in sets


def test_user_file_adds_and_overrides(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(
        "materials:\n"
        "  NMC111:\n    kind: active_material\n    properties:\n"
        "      polarity: positive\n"
        "      density: {value: 4.6, unit: g/cm^3, source: my pycnometer}\n"
        "  LTO:\n    kind: active_material\n    properties:\n"
        "      polarity: negative\n      density: 3.5 g/cm^3\n"
        "      specific_capacity: 165 mA*h/g\n")
    lib = load_library(f)
    assert lib["NMC111"]["density"] == pytest.approx(4600)
    assert lib["NMC111"].source("density") == "my pycnometer"
    assert lib["LTO"]["specific_capacity"] == pytest.approx(165 * 3600)
    assert lib["NMP"].kind == "solvent"  # built-ins still there
    assert builtin_library()["NMC111"]["density"] == pytest.approx(4750)  # not mutated


@pytest.mark.parametrize("text, message", [
    ("materials:\n  X:\n    kind: metal\n", "allowed kinds"),
    ("materials:\n  X:\n    kind: solvent\n    properties:\n      density: 1 m/s\n",
     "X.density"),
    ("materials:\n  X:\n    kind: solvent\n    properties:\n      density: 1000\n",
     "has no unit"),
    ("materials: [a, b\n", "malformed YAML"),
    ("materials:\n  X:\n    kind: solvent\n    properties:\n      density: -1 g/cm^3\n",
     "X.density .* must be a finite positive"),
    ("materials:\n  X:\n    kind: solvent\n    properties:\n      viscosity: nan Pa*s\n",
     "finite"),
    ("other: 1\n", "top-level 'materials:'"),
    ("materials:\n  X:\n    kind: solvent\n    properties: [1, 2]\n", "must be a mapping"),
    ("materials:\n  X:\n", "must be a mapping"),
])
def test_bad_user_files(tmp_path, text, message):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(MaterialError, match=message):
        load_library(f)


def test_missing_file_and_unknown_material(tmp_path):
    with pytest.raises(MaterialError, match="cannot read materials file"):
        load_library(tmp_path / "none.yaml")
    with pytest.raises(MaterialError, match="did you mean 'NMC811'"):
        builtin_library()["NMC812"]
    with pytest.raises(MaterialError, match="has no property"):
        builtin_library()["Al"]["viscosity"]


def test_kinds_cover_the_library():
    assert {m.kind for m in builtin_library().values()} == set(KINDS)


def test_property_units_are_pint_units():
    from twinline.materials import PROPERTY_UNITS
    from twinline.spec.units import is_unit

    bad = {k: u for k, u in PROPERTY_UNITS.items() if not is_unit(u)}
    assert not bad


def test_values_borrowed_from_nmc111_track_it():
    """A property whose source says "as NMC111" holds NMC111's current value (one fact)."""
    from twinline.materials import builtin_library

    lib = builtin_library()
    ref = lib["NMC111"]
    borrowed = [(m.name, k) for m in lib.values() if m.name != "NMC111"
                for k, src in m.sources.items() if "as NMC111" in src]
    assert borrowed
    for name, key in borrowed:
        assert lib[name].get(key) == ref.get(key), (name, key)


def test_with_properties_overrides_one_material_and_records_the_source():
    lib = builtin_library()
    new = lib.with_properties("nmc111", {"porosity_min": 0.34, "made_up": 1.0}, source="fit X")
    assert new["NMC111"]["porosity_min"] == 0.34 and new["NMC111"].source("made_up") == "fit X"
    assert new["NMC111"]["density"] == lib["NMC111"]["density"]
    assert lib["NMC111"]["porosity_min"] != 0.34 and not lib["NMC111"].has("made_up")
    assert new["graphite"] is lib["graphite"] and len(new) == len(lib)
    with pytest.raises(MaterialError, match="unknown material"):
        lib.with_properties("NMC999", {}, source="")
