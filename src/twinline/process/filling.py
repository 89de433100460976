r"""Electrolyte filling and wetting.

**Volume.** The dosed electrolyte is a multiple :math:`f` (``filling.electrolyte_factor``)
of the pore volume of both electrodes and the separator,

.. math:: V_{el} = f\,(V_{pore,c} + V_{pore,a} + V_{pore,s}),

with :math:`f \approx 1.4` found optimal for NMC111/graphite pouch cells (Günter et al.
2019, as summarised by the LiPLANET data specification, Zanotto et al. 2022);
the excess wets the stack edges and feeds SEI formation.

**Wetting time** (Washburn with an applied pressure, Washburn 1921; as used for electrode
wetting by Sauter et al. 2020): the liquid moves through a bundle of capillaries of radius
:math:`r` along a path :math:`\tau_g \ell` (geometric tortuosity
:math:`\tau_g = \sqrt{\tau}` from the tortuosity factor :math:`\tau`),

.. math:: \frac{dl}{dt} = \frac{r^2}{8\mu\,l}\Big(\frac{2\gamma\cos\theta}{r} + \Delta p\Big)
    \;\Rightarrow\;
    t_w = \frac{4\mu\,\tau\,\ell^2}{r^2\,(2\gamma\cos\theta/r + \Delta p)},

:math:`\ell` the in-plane distance from the sheet edge to its centre (half the shorter
side), :math:`\Delta p` = filling pressure − chamber pressure (≥ 0). Temperature enters
through :math:`\mu(T) = \mu_{25} e^{E_\mu/R\,(1/T - 1/T_{25})}` and
:math:`\gamma(T) = \gamma_{25} + (d\gamma/dT)(T - T_{25})`. The pore radius is the
structure analysis' median pore radius when a 3D structure exists, else the Kozeny
estimate for packed spheres of radius :math:`R_p`,
:math:`r = 2 r_h = \tfrac{2}{3}\,\varepsilon R_p/(1-\varepsilon)`; the separator's is half
its ``pore_diameter`` (material library).
The cell wets when its slowest component has; the wetting degree after a rest
:math:`t_r` follows :math:`\min(1, \sqrt{t_r/t_w})`, capped by the fraction of pore space
not holding trapped gas: the imbibition simulation's trapped fraction (when a structure
exists), compressed from the chamber to the filling pressure (Boyle,
:math:`\phi_{gas} = \phi_{trapped}\,p_{chamber}/p_{fill}`).

Validity: laminar capillary flow (Re ≪ 1); gas counter-pressure neglected except through
the trapped-gas fraction.

References
----------
.. [1] E. W. Washburn, Phys. Rev. 17 (1921) 273-283. doi:10.1103/PhysRev.17.273
.. [2] C. Sauter, R. Zahn, V. Wood, J. Electrochem. Soc. 167 (2020) 100546.
       doi:10.1149/1945-7111/ab9bfd
.. [3] F. J. Günter, C. Burgstaller, F. Konwitschny, G. Reinhart, "Influence of the
       electrolyte quantity on lithium-ion cells", J. Electrochem. Soc. 166 (2019) A1709.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.constants import R as R_GAS

from twinline.process.products import Cell, FilledCell
from twinline.process.registry import Output
from twinline.spec.cell_recipe import FillingSection
from twinline.spec.errors import CellError, warn_validity

CITATIONS: tuple[str, ...] = ("Washburn1921", "Sauter2020", "Gunter2019", "Zanotto2022")
STEP = "filling"
T_REF = 298.15
#: Fallbacks when the electrolyte has no temperature data (same values as LP30/LP57).
DEFAULT_VISCOSITY_ACTIVATION = 18e3     # J/mol, Logan et al. 2018
DEFAULT_SURFACE_TENSION_SLOPE = -1e-4   # N/m/K, Eötvös-type
DEFAULT_SEPARATOR_PORE_DIAMETER = 8e-8  # m, wet-process PE (0.03-0.1 µm, data sheets)


def electrolyte_volume(pore_volume: Any, factor: Any) -> Any:
    """Dosed electrolyte volume [m³] = ``factor`` × total pore volume [m³].

    Examples
    --------
    >>> round(float(electrolyte_volume(10e-6, 1.4)) * 1e6, 6)
    14.0
    """
    return np.asarray(factor, dtype=float) * np.asarray(pore_volume, dtype=float)


def kozeny_pore_radius(porosity: Any, particle_radius: Any) -> Any:
    r"""Capillary radius of a packing of spheres [m].

    .. math:: r = 2 r_h = \tfrac23\,\varepsilon R_p/(1-\varepsilon)

    Examples
    --------
    >>> round(float(kozeny_pore_radius(0.5, 3e-6)) * 1e6, 3)
    2.0
    """
    eps = np.asarray(porosity, dtype=float)
    return 2.0 / 3.0 * eps * np.asarray(particle_radius, dtype=float) / (1.0 - eps)


def electrolyte_properties(electrolyte: Any, temperature: Any) -> tuple[Any, Any]:
    """Viscosity [Pa s] and surface tension [N/m] at ``temperature`` [K]."""
    T = np.asarray(temperature, dtype=float)
    ea = float(electrolyte.get("viscosity_activation_energy", DEFAULT_VISCOSITY_ACTIVATION))
    slope = float(electrolyte.get("surface_tension_slope", DEFAULT_SURFACE_TENSION_SLOPE))
    mu = float(electrolyte["viscosity"]) * np.exp(ea / R_GAS * (1.0 / T - 1.0 / T_REF))
    gamma = float(electrolyte["surface_tension"]) + slope * (T - T_REF)
    return mu, gamma


def washburn_time(length: Any, pore_radius: Any, *, viscosity: Any, surface_tension: Any,
                  contact_angle: Any, tortuosity_factor: Any = 1.0,
                  pressure_difference: Any = 0.0) -> Any:
    r"""Time for a liquid to penetrate ``length`` [m] of a porous layer [s].

    .. math:: t = \frac{4\mu\tau\ell^2}{r^2 (2\gamma\cos\theta/r + \Delta p)}

    Parameters
    ----------
    length : float or ndarray
        Penetration distance :math:`\ell` [m], > 0.
    pore_radius : float or ndarray
        Capillary radius :math:`r` [m], > 0.
    viscosity, surface_tension, contact_angle : float or ndarray
        :math:`\mu` [Pa s], :math:`\gamma` [N/m], :math:`\theta` [rad] (< π/2 wets).
    tortuosity_factor : float or ndarray
        :math:`\tau` [-] >= 1.
    pressure_difference : float or ndarray
        Applied :math:`\Delta p` [Pa] >= 0.

    Returns
    -------
    float or ndarray
        Wetting time [s]; ``inf`` when nothing drives the liquid in.

    Examples
    --------
    >>> t1 = washburn_time(0.01, 1e-6, viscosity=3e-3, surface_tension=0.035,
    ...                    contact_angle=0.3)
    >>> t2 = washburn_time(0.02, 1e-6, viscosity=3e-3, surface_tension=0.035,
    ...                    contact_angle=0.3)
    >>> round(float(t2 / t1), 6)
    4.0
    """
    r = np.asarray(pore_radius, dtype=float)
    drive = 2.0 * np.asarray(surface_tension) * np.cos(contact_angle) / r + np.asarray(
        pressure_difference, dtype=float)
    with np.errstate(divide="ignore"):
        t = 4.0 * np.asarray(viscosity) * np.asarray(tortuosity_factor) * np.asarray(
            length, dtype=float) ** 2 / (r ** 2 * drive)
    return np.where(drive > 0, t, np.inf)


def fill(section: Any, cell: Cell, materials: Any, *, tortuosity_factor: dict[str, float],
         structure: Any = None, imbibition: Any = None) -> FilledCell:
    """Fill the assembled cell and estimate how fast and how completely it wets.

    Parameters
    ----------
    section : FillingSection
        ``electrolyte_factor`` [-], ``temperature`` [K], ``chamber_pressure`` and
        ``filling_pressure`` [Pa], ``rest_time`` [s].
    cell : Cell
        The assembled cell: pore volumes [m³] and sheet sizes of its design, its
        electrodes' particle radii, its separator and electrolyte.
    materials : MaterialLibrary
        Electrolyte and separator properties.
    tortuosity_factor : dict
        ``cathode``/``anode``/``separator`` pore tortuosity factor [-] (from a 3D analysis
        or a closed form; passed in by the chain).
    structure : StructureAnalysis, optional
        Cathode structure analysis: its median pore diameter replaces the Kozeny radius.
    imbibition : ImbibitionResult, optional
        Saturation curve and trapped-gas fraction of the cathode image.

    Raises
    ------
    CellError
        If the electrolyte does not wet (contact angle >= 90°) or the volume is impossible.
    """
    design = cell.design
    ely = materials.require(cell.electrolyte, "electrolyte", parameter="cell.electrolyte")
    sep = materials.require(cell.separator, "separator", parameter="cell.separator")
    separator_pore_diameter = float(sep.get("pore_diameter", DEFAULT_SEPARATOR_PORE_DIAMETER))
    theta = float(ely["contact_angle"])
    if theta >= np.pi / 2:
        raise CellError(f"electrolyte {cell.electrolyte!r} has a contact angle of "
                        f"{np.degrees(theta):.0f}° >= 90°: it does not wet by capillarity")
    mu, gamma = electrolyte_properties(ely, section.temperature)
    pores = design.total_pore_volume
    vol = float(electrolyte_volume(pores, section.electrolyte_factor))
    if section.electrolyte_factor < 1.0:
        warn_validity(STEP, "electrolyte_factor", section.electrolyte_factor, "", 1.0, 5.0)
    radius = {
        "cathode": float(kozeny_pore_radius(design.cathode.porosity,
                                            cell.cathode.particle_radius)),
        "anode": float(kozeny_pore_radius(design.anode.porosity, cell.anode.particle_radius)),
        "separator": float(separator_pore_diameter) / 2.0,
    }
    d50 = getattr(structure, "pore_diameter_d50_m", float("nan")) if structure else float("nan")
    if np.isfinite(d50) and d50 > 0:
        radius["cathode"] = d50 / 2.0
    if design.format == "coin":
        ell = design.anode.sheet_area ** 0.5 / np.sqrt(np.pi)      # disc radius
    else:
        ell = min(design.electrode_height, design.cathode.sheet_area / design.electrode_height
                  if design.format == "pouch" else design.electrode_height) / 2.0
    dp = max(section.filling_pressure - section.chamber_pressure, 0.0)
    times = {k: float(washburn_time(ell, radius[k], viscosity=mu, surface_tension=gamma,
                                    contact_angle=theta,
                                    tortuosity_factor=tortuosity_factor.get(k, 1.0),
                                    pressure_difference=dp)) for k in radius}
    t_w = max(times.values())
    # gas trapped at the chamber pressure is compressed when the cell is vented (Boyle)
    trapped = float(getattr(imbibition, "trapped_gas_fraction", 0.0) or 0.0) * min(
        1.0, section.chamber_pressure / max(section.filling_pressure, section.chamber_pressure))
    degree = min(1.0, np.sqrt(section.rest_time / t_w)) * (1.0 - trapped) if t_w > 0 else 1.0
    curve = {}
    if imbibition is not None:
        curve = {"pressure_Pa": list(imbibition.capillary_pressure),
                 "saturation": list(imbibition.saturation)}
    filled_design = design.with_electrolyte(vol * float(ely["density"]))
    return FilledCell(cell=cell.replace(design=filled_design), electrolyte_volume=vol,
                      electrolyte_mass=vol * float(ely["density"]), pore_volume=float(pores),
                      wetting_time=float(t_w), wetting_times=times, pore_radius=radius,
                      wetting_degree=float(degree), trapped_gas_fraction=trapped,
                      viscosity=float(mu), surface_tension=float(gamma), saturation_curve=curve)


#: The recipe section of the step (its defaults apply when the recipe has none).
Section = FillingSection
MODELS = {"washburn": fill}

#: Catalogue outputs of the step: id → SI unit and getter(products, sections).
OUTPUTS: dict[str, Output] = {
    "filling.electrolyte_quantity": Output("m^3", lambda p, s: p["filled"].electrolyte_volume),
    "filling.wetting_time": Output("s", lambda p, s: p["filled"].wetting_time),
    "filling.wetting_degree": Output("", lambda p, s: p["filled"].wetting_degree),
}
