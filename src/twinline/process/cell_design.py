r"""Cell design: format, sheet areas, layers, N/P ratio, mass and volume budget.

Four formats (see :mod:`twinline.spec.cell_recipe`):

* **pouch** (z-stack): :math:`n` double-sided cathode sheets of :math:`L \times W`,
  :math:`n+1` anode sheets of :math:`(L+2o)(W+2o)` (the two outer ones coated on their
  inner side only), :math:`2n` separator sheets of :math:`(L+2o+2s)(W+2o+2s)`; pouch foil on
  both faces, sealed with a seal of width :math:`w_s`.
* **cylindrical** (wound): one double-sided cathode strip :math:`L \times W`, one anode
  strip :math:`(L+2o) \times (W+2o)`, two separator strips; jelly-roll diameter
  :math:`D = \sqrt{d_m^2 + 4 L t_{rep}/\pi}` with :math:`t_{rep}` the thickness of one
  cathode + anode + 2 separators, inside a nickel-plated steel can.
* **prismatic** (flat-wound): the cylindrical strips flattened into a stadium-shaped jelly
  roll of height :math:`h` (the can's inner height less the lid and tab space) and thickness
  :math:`T`; its cross-section holds the wound length,
  :math:`(h - T)\,T + \pi T^2/4 = L\,t_{rep}`, and :math:`T` must fit the can's inner
  thickness; the separator width lies along the can's inner length; aluminium can.
* **coin**: single-sided discs (cathode :math:`d`, anode :math:`d + 2o`, separator
  :math:`d + 2o + 2s`) in a stainless-steel coin case.

The N/P ratio is the anode areal capacity over the cathode areal capacity (per facing
side, both from the chain's products). The cell's areal capacity is limited by the cathode.

References
----------
.. [1] J. Schnell, C. Nentwich, F. Endres et al., J. Power Sources 413 (2019) 360-366.
       doi:10.1016/j.jpowsour.2018.12.062 (data model of cell production; pouch z-stack)
.. [2] C. Heimes et al., PEM RWTH Aachen, "Lithium-ion battery cell production process"
       (2018) (format dimensions).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from twinline.spec.errors import CellError, warn_validity

CITATIONS: tuple[str, ...] = ("Schnell2019",)

#: Cylindrical cans: inner diameter, usable inner height for the separator (can height less
#: the bottom, the crimped cap/CID stack and two wall thicknesses) [m], outer diameter,
#: height, wall thickness [m] (nickel-plated steel, density 7850 kg m⁻³). The name is the
#: outer size (diameter mm, height in tenths of mm: 21700 = 21 x 70.0 mm). Sources: inner
#: diameters and walls from the measured ranges of batterydesign.net "Cylindrical cell
#: electrode estimation" (18650: 17.44-17.56 mm, wall 0.22-0.28; 21700: 20.32-20.56 mm,
#: wall 0.22-0.34; 4680: 44.8-45 mm, wall 0.5-0.6); 26650 (A123 ANR26650 class, 26 x 65 mm)
#: with a 0.35 mm wall (assumption). Usable height: the can height less ~2 mm (crimped header
#: above the separator, bottom), as in the LG M50 teardown (Chen2020: 65 mm electrode and
#: ~67.5 mm separator in a 70 mm 21700); the same allowance for the other sizes (assumption).
CANS: dict[str, dict[str, float]] = {
    "18650": {"inner_diameter": 17.5e-3, "inner_height": 63.0e-3, "diameter": 18.3e-3,
              "height": 65.0e-3, "wall": 0.25e-3},
    "21700": {"inner_diameter": 20.4e-3, "inner_height": 68.0e-3, "diameter": 21.2e-3,
              "height": 70.0e-3, "wall": 0.3e-3},
    "26650": {"inner_diameter": 25.2e-3, "inner_height": 63.0e-3, "diameter": 26.0e-3,
              "height": 65.0e-3, "wall": 0.35e-3},
    "4680": {"inner_diameter": 45.0e-3, "inner_height": 78.0e-3, "diameter": 46.0e-3,
             "height": 80.0e-3, "wall": 0.5e-3},
}
#: Prismatic cans (DIN SPEC 91252:2011, the VDA sizes; body without terminals): outer
#: length, thickness, height [m]; aluminium wall 0.8 mm (assumption: deep-drawn Al cans
#: 0.6-1.0 mm). Usable inner length = length - 2 walls - 2 x 6 mm tab/collector space at the
#: ends; usable inner height = height - wall - 6 mm (lid, insulation, top gap): assumptions.
PRISMATIC_CANS: dict[str, dict[str, float]] = {
    "PHEV1": {"length": 173e-3, "thickness": 21e-3, "height": 85e-3, "wall": 0.8e-3},
    "PHEV2": {"length": 148e-3, "thickness": 26.5e-3, "height": 91e-3, "wall": 0.8e-3},
    "BEV1": {"length": 173e-3, "thickness": 32e-3, "height": 115e-3, "wall": 0.8e-3},
    "BEV2": {"length": 173e-3, "thickness": 45e-3, "height": 115e-3, "wall": 0.8e-3},
}
PRISMATIC_END_SPACE = 6e-3   # m, tab/collector space at each end of the roll (assumption)
PRISMATIC_TOP_SPACE = 6e-3   # m, lid + insulation + gap above the roll (assumption)
ALUMINIUM_DENSITY = 2700.0   # kg m⁻³

#: Coin cases: gasket inner diameter [m], inner stack height available beside spacer and
#: spring [m], outer diameter and height [m], hardware mass (case, cap, gasket, spacer,
#: spring) [kg]. Typical catalogue values of CR20xx parts.
COINS: dict[str, dict[str, float]] = {
    "CR2032": {"inner_diameter": 16.5e-3, "inner_height": 1.2e-3, "diameter": 20e-3,
               "height": 3.2e-3, "hardware_mass": 3.6e-3},
    "CR2025": {"inner_diameter": 16.5e-3, "inner_height": 0.8e-3, "diameter": 20e-3,
               "height": 2.5e-3, "hardware_mass": 3.2e-3},
    "CR2016": {"inner_diameter": 16.5e-3, "inner_height": 0.5e-3, "diameter": 20e-3,
               "height": 1.6e-3, "hardware_mass": 2.8e-3},
}
STEEL_DENSITY = 7850.0  # kg m⁻³
#: Usual N/P range of graphite-anode cells (design practice; a validity warning outside it)
N_P_USUAL = (1.05, 1.3)


def flat_roll_thickness(cross_section: float, height: float) -> float:
    r"""Thickness :math:`T` [m] of a stadium-shaped flat jelly roll of ``height`` :math:`h`
    [m] whose cross-section is ``cross_section`` :math:`A` [m²] (wound length × repeat
    thickness): the root of :math:`(h - T)T + \pi T^2/4 = A` below :math:`h`; ``inf``
    when even :math:`T = h` (a round roll) cannot hold it.

    >>> round(flat_roll_thickness(0.01 * 0.02 - 0.01 ** 2 * (1 - 3.141592653589793 / 4), 0.02), 6)
    0.01
    """
    k = 1.0 - math.pi / 4.0
    disc = height ** 2 - 4.0 * k * cross_section
    if disc < 0:
        return math.inf
    t = (height - math.sqrt(disc)) / (2.0 * k)
    return t if t <= height else math.inf


@dataclass(frozen=True)
class ElectrodeSheet:
    """One electrode type in the cell (SI): coating per side and foil."""

    thickness: float          # coating thickness per side [m]
    porosity: float           # [-]
    areal_capacity: float     # per side [C m⁻²]
    areal_loading: float      # dry coating mass per side [kg m⁻²]
    foil_thickness: float     # [m]
    foil_density: float       # [kg m⁻³]
    sheet_area: float         # area of one side of one sheet [m²]
    coated_faces: int         # number of coated sides in the cell
    sheets: int               # number of sheets (strips, discs)


@dataclass(frozen=True)
class CellDesign:
    """Geometry, N/P ratio and mass/volume budget of one cell (SI units)."""

    format: str
    layers: int                      # cathode sheets (pouch), 1 otherwise
    cathode: ElectrodeSheet
    anode: ElectrodeSheet
    separator_area: float            # total separator area [m²]
    separator_thickness: float       # [m]
    separator_porosity: float        # [-]
    separator_density: float         # [kg m⁻³]
    electrode_pair_area: float       # cathode area facing an anode [m²]
    electrode_height: float          # PyBaMM "Electrode height" [m]
    electrode_width: float           # PyBaMM "Electrode width" [m] (area / height)
    n_p_ratio: float                 # [-]
    stack_thickness: float           # or jelly-roll diameter (cylindrical) [m]
    pore_volume: dict[str, float]    # cathode, anode, separator [m³]
    masses: dict[str, float]         # per component [kg]
    cell_volume: float               # outer volume [m³]
    dimensions: dict[str, float]     # outer length/width/thickness or diameter/height [m]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_pore_volume(self) -> float:
        """Pore volume of both electrodes and the separator [m³]."""
        return float(sum(self.pore_volume.values()))

    @property
    def dry_mass(self) -> float:
        """Mass of every component except the electrolyte [kg]."""
        return float(sum(v for k, v in self.masses.items() if k != "electrolyte"))

    def with_electrolyte(self, mass: float) -> CellDesign:
        """A copy with the electrolyte mass [kg] in the budget."""
        from dataclasses import replace

        return replace(self, masses={**self.masses, "electrolyte": float(mass)})

    @property
    def mass(self) -> float:
        """Total cell mass [kg]."""
        return float(sum(self.masses.values()))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["total_pore_volume"] = self.total_pore_volume
        d["mass"] = self.mass
        return d


def n_p_ratio(anode_areal_capacity: float, cathode_areal_capacity: float) -> float:
    r"""N/P ratio :math:`Q_{A,anode}/Q_{A,cathode}` of facing coatings [-].

    Examples
    --------
    >>> n_p_ratio(4.4, 4.0)
    1.1
    """
    if not cathode_areal_capacity > 0:
        raise CellError(f"cathode areal capacity must be > 0 C/m², got {cathode_areal_capacity:g}")
    return round(float(anode_areal_capacity) / float(cathode_areal_capacity), 12)


def check_n_p(ratio: float, low: float, high: float) -> None:
    """Refuse an N/P ratio outside ``[low, high]`` with the computed value."""
    if not low <= ratio <= high:
        cause = ("the anode cannot take the cathode's lithium (lithium plating)"
                 if ratio < low else "the anode is oversized (capacity and energy wasted)")
        raise CellError(f"assembly.n_p_ratio = {ratio:.3f} is outside the accepted range "
                        f"[{low:g}, {high:g}]: {cause}; change the coating gaps (areal "
                        f"capacities) or cell.n_p_min/n_p_max")


def _wound_sheets(cathode: Any, anode: Any, length: float, width: float, overhang: float,
                  separator_overhang: float, cathode_foil: tuple[float, float, float],
                  anode_foil: tuple[float, float, float], separator_thickness: float
                  ) -> tuple[ElectrodeSheet, ElectrodeSheet, float, float, float]:
    """The two double-sided sheets of a wound jelly roll (cylindrical or flat-wound
    prismatic): the cathode ``length`` × ``width`` [m], the anode larger by ``overhang`` on
    each edge, the separator by ``separator_overhang`` more (two layers). ``*_foil`` are
    (foil thickness [m], foil density [kg/m³], coating thickness per side [m]). Returns the
    sheets, the separator area [m²], the thickness of one repeat unit of the winding [m] and
    the cathode area [m²]."""
    o, s = overhang, separator_overhang
    (tf_c, rho_c, tc), (tf_a, rho_a, ta) = cathode_foil, anode_foil
    a_c, a_a = length * width, (length + 2 * o) * (width + 2 * o)
    cat = _sheet(cathode, tf_c, rho_c, a_c, 2, 1)
    ano = _sheet(anode, tf_a, rho_a, a_a, 2, 1)
    sep_area = 2 * (length + 2 * o + 2 * s) * (width + 2 * o + 2 * s)
    t_rep = tf_c + 2 * tc + tf_a + 2 * ta + 2 * separator_thickness
    return cat, ano, sep_area, t_rep, a_c


def _sheet(cal: Any, foil_thickness: float, foil_density: float, area: float,
           faces: int, sheets: int) -> ElectrodeSheet:
    return ElectrodeSheet(thickness=float(cal.thickness), porosity=float(cal.porosity),
                          areal_capacity=float(cal.areal_capacity),
                          areal_loading=float(cal.areal_loading),
                          foil_thickness=float(foil_thickness), foil_density=float(foil_density),
                          sheet_area=float(area), coated_faces=int(faces), sheets=int(sheets))


def design_cell(section: Any, cathode: Any, anode: Any, materials: Any, *,
                cathode_foil: tuple[str, float | None] = ("Al", None),
                anode_foil: tuple[str, float | None] = ("Cu", None),
                electrolyte_volume: float = 0.0) -> CellDesign:
    """Lay out the cell from the two calendered electrodes.

    Parameters
    ----------
    section : CellSection
        The recipe's ``cell`` section.
    cathode, anode : CalenderedElectrode
        Chain products (coating per side; ``thickness`` [m], ``porosity`` [-],
        ``areal_capacity`` [C m⁻²], ``areal_loading`` [kg m⁻²]).
    materials : MaterialLibrary
        For foil, separator and electrolyte properties.
    cathode_foil, anode_foil : (name, thickness or None)
        Current collector material and thickness [m] (None: the material's).
    electrolyte_volume : float
        Electrolyte volume [m³] for the mass budget (0 before filling).

    Raises
    ------
    CellError
        If the N/P ratio is outside ``[n_p_min, n_p_max]`` or the electrodes do not fit
        the format (coin case, can, pouch).
    """
    sep = materials.require(section.separator, "separator", parameter="cell.separator")
    ely = materials.require(section.electrolyte, "electrolyte", parameter="cell.electrolyte")
    fc = materials.require(cathode_foil[0], "current_collector", parameter="cathode foil")
    fa = materials.require(anode_foil[0], "current_collector", parameter="anode foil")
    tf_c = float(cathode_foil[1] if cathode_foil[1] is not None else fc["thickness"])
    tf_a = float(anode_foil[1] if anode_foil[1] is not None else fa["thickness"])
    t_sep, eps_sep, rho_sep = (float(sep["thickness"]), float(sep["porosity"]),
                               float(sep["density"]))
    ratio = n_p_ratio(anode.areal_capacity, cathode.areal_capacity)
    check_n_p(ratio, section.n_p_min, section.n_p_max)
    # accepted but unusual: graphite cells are balanced at N/P ≈ 1.05-1.3
    warn_validity("assembly", "n_p_ratio", ratio, "", *N_P_USUAL)
    o, s = section.overhang, section.separator_overhang
    tc, ta = float(cathode.thickness), float(anode.thickness)
    notes: list[str] = []
    fmt = section.format
    tab_vol = section.tab_width * section.tab_length * section.tab_thickness
    if fmt == "pouch":
        n = section.layers
        L, W = section.cathode_length, section.cathode_width
        a_c, a_a, a_s = L * W, (L + 2 * o) * (W + 2 * o), (L + 2 * o + 2 * s) * (W + 2 * o + 2 * s)
        cat = _sheet(cathode, tf_c, fc["density"], a_c, 2 * n, n)
        ano = _sheet(anode, tf_a, fa["density"], a_a, 2 * n, n + 1)
        sep_area = 2 * n * a_s
        stack = n * (tf_c + 2 * tc) + (n + 1) * tf_a + 2 * n * ta + 2 * n * t_sep
        pair_area = 2 * n * a_c
        height = W
        out_l = L + 2 * o + 2 * s + 2 * section.seal_width + section.tab_length
        out_w = W + 2 * o + 2 * s + 2 * section.seal_width
        out_t = stack + 2 * section.pouch_foil_thickness
        casing = 2 * out_l * out_w * section.pouch_foil_areal_mass
        dims = {"length": out_l, "width": out_w, "thickness": out_t}
        volume = out_l * out_w * out_t
        if stack > 0.03:
            raise CellError(f"the pouch stack is {stack * 1e3:.1f} mm thick; a z-stacked pouch "
                            f"holds at most 30 mm: reduce cell.layers ({n})")
    elif fmt == "cylindrical":
        can = CANS[section.can]
        L, W = section.cathode_length, section.cathode_width
        cat, ano, sep_area, t_rep, a_c = _wound_sheets(
            cathode, anode, L, W, o, s, (tf_c, fc["density"], tc), (tf_a, fa["density"], ta),
            t_sep)
        diameter = math.sqrt(section.mandrel_diameter ** 2 + 4 * L * t_rep / math.pi)
        sep_w = W + 2 * o + 2 * s
        if diameter > can["inner_diameter"]:
            raise CellError(
                f"the jelly roll ({L * 1e3:.0f} mm wound) is {diameter * 1e3:.2f} mm across, "
                f"larger than the {section.can} can's {can['inner_diameter'] * 1e3:.1f} mm "
                f"inner diameter: shorten cell.cathode_length or thin the coatings")
        if sep_w > can["inner_height"]:
            raise CellError(
                f"the separator width {sep_w * 1e3:.1f} mm (cathode width + overhangs) exceeds "
                f"the {section.can} can's usable height {can['inner_height'] * 1e3:.0f} mm: "
                f"reduce cell.cathode_width")
        stack = diameter
        pair_area = 2 * a_c
        height = W
        d, h, wall = can["diameter"], can["height"], can["wall"]
        casing = STEEL_DENSITY * wall * (math.pi * d * h + 2 * math.pi * d ** 2 / 4)
        dims = {"diameter": d, "height": h}
        volume = math.pi * d ** 2 / 4 * h
    elif fmt == "prismatic":
        can = PRISMATIC_CANS[section.prismatic_can]
        L, W = section.cathode_length, section.cathode_width
        cat, ano, sep_area, t_rep, a_c = _wound_sheets(
            cathode, anode, L, W, o, s, (tf_c, fc["density"], tc), (tf_a, fa["density"], ta),
            t_sep)
        wall = can["wall"]
        in_len = can["length"] - 2 * wall - 2 * PRISMATIC_END_SPACE
        in_thk = can["thickness"] - 2 * wall
        in_h = can["height"] - wall - PRISMATIC_TOP_SPACE
        sep_w = W + 2 * o + 2 * s
        if sep_w > in_len:
            raise CellError(
                f"the separator width {sep_w * 1e3:.1f} mm (cathode width + overhangs) exceeds "
                f"the {section.prismatic_can} can's usable length {in_len * 1e3:.0f} mm: "
                f"reduce cell.cathode_width")
        stack = flat_roll_thickness(L * t_rep, in_h)
        if not stack <= in_thk:
            raise CellError(
                f"the flat jelly roll ({L * 1e3:.0f} mm wound) is {stack * 1e3:.2f} mm thick, "
                f"more than the {section.prismatic_can} can's {in_thk * 1e3:.1f} mm inner "
                f"thickness: shorten cell.cathode_length or thin the coatings")
        pair_area = 2 * a_c
        height = W
        cl, ct, ch = can["length"], can["thickness"], can["height"]
        casing = ALUMINIUM_DENSITY * wall * 2 * (cl * ct + cl * ch + ct * ch)
        dims = {"length": cl, "thickness": ct, "height": ch}
        volume = cl * ct * ch
    else:  # coin
        coin = COINS[section.coin_case]
        dc = section.cathode_diameter
        da, ds = dc + 2 * o, dc + 2 * o + 2 * s
        a_c, a_a = math.pi * dc ** 2 / 4, math.pi * da ** 2 / 4
        cat = _sheet(cathode, tf_c, fc["density"], a_c, 1, 1)
        ano = _sheet(anode, tf_a, fa["density"], a_a, 1, 1)
        sep_area = math.pi * ds ** 2 / 4
        if ds > coin["inner_diameter"]:
            raise CellError(
                f"the separator disc ({ds * 1e3:.1f} mm = cathode {dc * 1e3:.1f} mm + "
                f"overhangs) is larger than the {section.coin_case} case's "
                f"{coin['inner_diameter'] * 1e3:.1f} mm inner diameter: reduce "
                f"cell.cathode_diameter or the overhangs")
        stack = tf_c + tc + tf_a + ta + t_sep
        if stack > coin["inner_height"]:
            raise CellError(f"the electrode stack ({stack * 1e6:.0f} µm) is thicker than the "
                            f"{section.coin_case} case holds ({coin['inner_height'] * 1e6:.0f} µm)")
        pair_area = a_c
        height = math.sqrt(a_c)
        casing = coin["hardware_mass"]
        dims = {"diameter": coin["diameter"], "height": coin["height"]}
        volume = math.pi * coin["diameter"] ** 2 / 4 * coin["height"]
        tab_vol = 0.0
    pore = {
        "cathode": cat.coated_faces * cat.sheet_area * tc * float(cathode.porosity),
        "anode": ano.coated_faces * ano.sheet_area * ta * float(anode.porosity),
        "separator": sep_area * t_sep * eps_sep,
    }
    masses = {
        "cathode_coating": cat.coated_faces * cat.sheet_area * cat.areal_loading,
        "anode_coating": ano.coated_faces * ano.sheet_area * ano.areal_loading,
        "cathode_foil": cat.sheets * cat.sheet_area * tf_c * cat.foil_density,
        "anode_foil": ano.sheets * ano.sheet_area * tf_a * ano.foil_density,
        "separator": sep_area * t_sep * (1 - eps_sep) * rho_sep,
        "tabs": tab_vol * (float(fc["density"]) + float(fa["density"])),
        "casing": casing,
        "electrolyte": float(electrolyte_volume) * float(ely["density"]),
    }
    return CellDesign(format=fmt, layers=section.layers if fmt == "pouch" else 1,
                      cathode=cat, anode=ano, separator_area=sep_area,
                      separator_thickness=t_sep, separator_porosity=eps_sep,
                      separator_density=rho_sep, electrode_pair_area=pair_area,
                      electrode_height=height, electrode_width=pair_area / height,
                      n_p_ratio=ratio, stack_thickness=stack, pore_volume=pore,
                      masses=masses, cell_volume=volume, dimensions=dims,
                      notes=tuple(notes))
