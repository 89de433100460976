"""The intermediate products of the electrode line.

Each product is a frozen dataclass of SI floats: plain data that pickles, serialises to
JSON (:meth:`to_dict`) and never holds a solver or an image. A step model receives one
product and returns the next. Fields carry their SI unit in the docstring; names follow
the catalogue (``porosity``, ``thickness``, ``areal_loading`` ...).
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
