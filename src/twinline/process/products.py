"""The intermediate products of the line, electrode and cell alike.

Each product is a frozen dataclass of SI floats: plain data that pickles, serialises to
JSON (:meth:`to_dict`) and never holds a solver or an image. A step model receives one
product and returns the next (:mod:`twinline.spec.steps`):

    Composition → Slurry → WetFilm → DryElectrode → CalenderedElectrode → SlitElectrode
    → FinishedElectrode;  ElectrodePair (both finished electrodes) → Cell → FilledCell
    → FormedCell.

Fields carry their SI unit in the docstring; names follow the catalogue (``porosity``,
``thickness``, ``areal_loading`` ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

Polarity = Literal["positive", "negative"]


@dataclass(frozen=True)
class ProductBase:
    """Common behaviour: dict/JSON round trip and functional updates."""

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of the fields (nested products become dicts)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Inverse of :meth:`to_dict`."""
        kwargs = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name == "composition" and isinstance(value, dict):
                value = Composition(**value)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[f.name] = value
        return cls(**kwargs)

    def replace(self, **changes: Any):
        """A copy with some fields changed (products are immutable)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Composition(ProductBase):
    """Dry-solid composition of an electrode coating, with the densities it needs.

    Mass fractions sum to 1. Densities [kg m⁻³] are the materials' skeletal densities,
    copied from the material library when the recipe is resolved.
    """

    polarity: Polarity
    active_material: str
    conductive_additive: str
    binder: str
    solvent: str
    am_mass_fraction: float
    conductive_mass_fraction: float
    binder_mass_fraction: float
    am_density: float
    conductive_density: float
    binder_density: float

    @property
    def solid_density(self) -> float:
        """Skeletal density of the dry solid mix [kg m⁻³] (mass-weighted harmonic mean)."""
        return 1.0 / (self.am_mass_fraction / self.am_density
                      + self.conductive_mass_fraction / self.conductive_density
                      + self.binder_mass_fraction / self.binder_density)

    @property
    def am_solid_volume_fraction(self) -> float:
        """Share of the solid volume taken by active material [-]."""
        return self.am_mass_fraction / self.am_density * self.solid_density

    @property
    def cbd_solid_volume_fraction(self) -> float:
        """Share of the solid volume taken by the (dense) carbon-binder domain [-]."""
        return 1.0 - self.am_solid_volume_fraction


@dataclass(frozen=True)
class Slurry(ProductBase):
    """Mixed slurry.

    Attributes: solid mass fraction [-] (``mixing.solid_content``), solid volume fraction
    [-], density [kg m⁻³], viscosity model parameters (zero- and infinite-shear viscosity
    [Pa s], relaxation time [s], rate index [-]) and the viscosity at the reference shear
    rate used for coating [Pa s].
    """

    composition: Composition
    solid_mass_fraction: float
    solid_volume_fraction: float
    density: float
    viscosity_zero: float
    viscosity_infinite: float
    relaxation_time: float
    rate_index: float
    viscosity_at_coating: float = float("nan")
    coating_shear_rate: float = float("nan")
    coatable: bool = True


@dataclass(frozen=True)
class WetFilm(ProductBase):
    """Wet coating on the current collector.

    ``wet_thickness`` [m]; ``areal_loading`` dry-solid mass per area [kg m⁻²];
    ``am_loading`` active-material mass per area [kg m⁻²]; ``areal_capacity`` [C m⁻²]
    (1 mAh cm⁻² = 36 000 C m⁻²); ``solvent_loading`` solvent mass per area
    [kg m⁻²]; ``width`` coated width [m]; ``web_speed`` [m s⁻¹].
    """

    slurry: Slurry
    wet_thickness: float
    areal_loading: float
    am_loading: float
    areal_capacity: float
    solvent_loading: float
    width: float
    web_speed: float
    in_coating_window: bool = True


@dataclass(frozen=True)
class DryElectrode(ProductBase):
    """Dried, uncalendered coating (one side; the foil is not included in ``thickness``).

    ``thickness`` [m], ``porosity`` [-], ``areal_loading`` [kg m⁻²], ``am_loading`` [kg m⁻²],
    ``areal_capacity`` [C m⁻²], ``drying_time`` time to reach the dry state [s],
    ``dry_at_exit`` whether it is dry before the dryer exit, ``residual_solvent`` mass per
    area at the exit [kg m⁻²], ``binder_migration`` drying Péclet number [-],
    ``energy_per_area`` dryer energy incl. solvent recovery [J m⁻²],
    ``solvent_evaporated`` [kg m⁻²].
    """

    composition: Composition
    thickness: float
    porosity: float
    areal_loading: float
    am_loading: float
    areal_capacity: float
    drying_time: float
    dry_at_exit: bool
    residual_solvent: float
    binder_migration: float
    energy_per_area: float
    solvent_evaporated: float
    width: float = 0.0
    foil_thickness: float = 0.0

    @property
    def solid_volume_per_area(self) -> float:
        """Solid volume per area [m] = thickness · (1 − porosity); conserved by calendering."""
        return self.thickness * (1.0 - self.porosity)


@dataclass(frozen=True)
class CalenderedElectrode(ProductBase):
    """Calendered coating (one side), the input of the 3D generator and the cell.

    ``thickness`` [m], ``porosity`` [-], ``porosity_before`` and ``thickness_before`` [-, m],
    ``line_load`` [N m⁻¹], ``pressure`` [Pa], ``areal_loading``/``am_loading`` [kg m⁻²],
    ``areal_capacity`` [C m⁻²], ``am_volume_fraction``/``cbd_volume_fraction`` of the whole
    coating volume [-], ``particle_radius`` median AM radius [m], ``springback`` relative
    thickness recovery [-], ``crack_risk`` True when compacted beyond the material's limit.
    """

    composition: Composition
    thickness: float
    porosity: float
    thickness_before: float
    porosity_before: float
    line_load: float
    pressure: float
    areal_loading: float
    am_loading: float
    areal_capacity: float
    am_volume_fraction: float
    cbd_volume_fraction: float
    particle_radius: float
    springback: float = 0.0
    crack_risk: bool = False
    width: float = 0.0
    foil_thickness: float = 0.0

    @property
    def solid_volume_per_area(self) -> float:
        """Solid volume per area [m] = thickness · (1 − porosity)."""
        return self.thickness * (1.0 - self.porosity)


@dataclass(frozen=True)
class SlitElectrode(ProductBase):
    """The calendered electrode after slitting.

    ``electrode`` the calendered coating (unchanged by slitting), ``width`` slit width [m],
    ``speed`` slitting speed [m s⁻¹], ``method``, ``edge_defect_risk`` index in [0, 1]
    (``slitting.edge_defect_risk``), ``speed_risk``/``coating_risk`` its two parts [-].
    """

    electrode: CalenderedElectrode
    width: float
    speed: float
    method: str
    edge_defect_risk: float
    speed_risk: float
    coating_risk: float


@dataclass(frozen=True)
class FinishedElectrode(ProductBase):
    """Slit and post-dried electrode, ready for assembly.

    ``residual_moisture`` mass fraction of water [-] (×1e6 for ppm), ``moisture_ok`` against
    the recipe target, ``edge_defect_risk`` probability-like index in [0, 1].
    """

    electrode: CalenderedElectrode
    width: float
    residual_moisture: float
    moisture_ok: bool
    edge_defect_risk: float
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ElectrodePair(ProductBase):
    """The two finished electrodes that go into a cell, with their current collectors.

    ``cathode``/``anode`` the finished electrodes; ``cathode_foil``/``anode_foil`` the
    current-collector material names and ``*_foil_thickness`` their thickness [m] (``None``:
    the material's own).
    """

    cathode: FinishedElectrode
    anode: FinishedElectrode
    cathode_foil: str = "Al"
    anode_foil: str = "Cu"
    cathode_foil_thickness: float | None = None
    anode_foil_thickness: float | None = None


@dataclass(frozen=True)
class Cell(ProductBase):
    """An assembled (stacked or wound, housed) cell before filling.

    ``design`` the stack layout and budget (:class:`~twinline.process.cell_design.CellDesign`,
    as a plain dict after a JSON round trip); ``cathode``/``anode`` the calendered coatings
    inside; ``separator``/``electrolyte`` material names; ``n_p_ratio`` [-];
    ``stack_weight`` electrodes + foils + separator [kg]; ``scrap_probability`` of the
    stacking Monte Carlo [-] with its standard error ``scrap_probability_std``;
    ``worst_overhang_mean``/``worst_overhang_p01`` worst-case anode overhang [m];
    ``samples`` stacks simulated.
    """

    design: Any
    cathode: CalenderedElectrode
    anode: CalenderedElectrode
    separator: str
    electrolyte: str
    n_p_ratio: float
    stack_weight: float
    scrap_probability: float
    scrap_probability_std: float
    worst_overhang_mean: float
    worst_overhang_p01: float
    samples: int


@dataclass(frozen=True)
class FilledCell(ProductBase):
    """A cell filled with electrolyte and wetted.

    ``electrolyte_volume`` [m³], ``electrolyte_mass`` [kg], ``pore_volume`` [m³],
    ``wetting_time`` of the slowest component [s], ``wetting_times`` and ``pore_radius``
    per component [s, m], ``wetting_degree`` after the rest [-], ``trapped_gas_fraction``
    [-], electrolyte ``viscosity`` [Pa s] and ``surface_tension`` [N m⁻¹] at the filling
    temperature, ``saturation_curve`` of the imbibition simulation (empty without one).
    """

    cell: Cell
    electrolyte_volume: float
    electrolyte_mass: float
    pore_volume: float
    wetting_time: float
    wetting_times: dict[str, float]
    pore_radius: dict[str, float]
    wetting_degree: float
    trapped_gas_fraction: float
    viscosity: float
    surface_tension: float
    saturation_curve: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class FormedCell(ProductBase):
    """A formed (first-charged, degassed) and screened cell.

    ``first_cycle_efficiency`` [-]; ``initial_capacity_loss`` fraction of the first-charge
    capacity [-]; ``sei_lithium_loss`` [A h] and ``sei_lithium_loss_mol`` [mol],
    ``sei_lithium_loss_fraction`` of the cyclable lithium of the assembled cell [-];
    ``formation_time`` [s]; ``sei_growth_ratio`` simulated SEI growth over the reference
    protocol's [-]; ``sei_thickness`` [m]; ``ocv_decay_rates`` per screened cell [V s⁻¹];
    ``flagged`` indices of cells over the self-discharge threshold and their
    ``flagged_fraction`` [-]; ``replaced`` PyBaMM parameters twinline set for the SEI model.
    """

    filled: FilledCell
    first_cycle_efficiency: float
    initial_capacity_loss: float
    sei_lithium_loss: float
    sei_lithium_loss_mol: float
    sei_lithium_loss_fraction: float
    formation_time: float
    sei_growth_ratio: float
    sei_thickness: float
    ocv_decay_rates: tuple[float, ...] = field(default_factory=tuple)
    flagged: tuple[int, ...] = field(default_factory=tuple)
    flagged_fraction: float = 0.0
    replaced: dict[str, float] = field(default_factory=dict)
