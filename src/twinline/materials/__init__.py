"""The material library: built-in data file plus user files.

A material has a ``name``, a ``kind`` and SI-valued ``properties``, each with the source it
came from. The built-in library is ``library.yaml`` beside this module; a user adds or
overrides materials with a YAML file of the same shape (:func:`load_library`).

Property names (SI inside; the YAML gives each value with its unit):

* every solid: ``density`` [kg m⁻³]
* ``active_material``: ``polarity`` (positive|negative), ``specific_capacity`` [C kg⁻¹]
  (practical, at C/10), ``particle_d10``/``particle_d50``/``particle_d90`` [m], optionally
  a truncated shifted log-normal PSD ``particle_size_shift``/``_scale`` [m], ``_sigma_ln`` [-],
  ``_min``/``_max`` [m] (:func:`twinline.structure.psd.from_material`),
  ``first_cycle_efficiency`` [-], ``nominal_voltage`` [V], ``pybamm_parameter_set``,
  ``porosity_min`` [-] and ``compaction_pressure`` [Pa] (Heckel calendering),
  ``youngs_modulus`` [Pa]
* ``conductive_additive``: ``density``, ``particle_d50`` [m], ``specific_surface_area`` [m² kg⁻¹]
* ``binder``: ``density``, ``solvent`` (name), ``glass_transition_temperature`` [K],
  ``water_sorption`` [-] (equilibrium moisture uptake at 50 % RH)
* ``solvent``: ``density``, ``viscosity`` [Pa s], ``molar_mass`` [kg mol⁻¹],
  ``antoine_a``/``antoine_b``/``antoine_c`` (log10 p[Pa] = A − B/(C + T[K])),
  ``heat_of_vaporisation`` [J kg⁻¹], ``boiling_point`` [K], ``surface_tension`` [N m⁻¹],
  ``diffusivity_in_air`` [m² s⁻¹], ``heat_capacity`` [J kg⁻¹ K⁻¹]
* ``current_collector``: ``density``, ``thickness`` [m]
* ``separator``: ``density``, ``thickness`` [m], ``porosity`` [-], ``macmullin_number`` [-]
* ``electrolyte``: ``density``, ``conductivity`` [S m⁻¹] at 25 °C, ``viscosity`` [Pa s],
  ``surface_tension`` [N m⁻¹], ``contact_angle`` [rad], ``salt_concentration`` [mol m⁻³]
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from twinline.spec.errors import MaterialError, RecipeError, elide, quote

Kind = Literal["active_material", "conductive_additive", "binder", "solvent",
               "current_collector", "separator", "electrolyte"]
KINDS: tuple[str, ...] = ("active_material", "conductive_additive", "binder", "solvent",
                          "current_collector", "separator", "electrolyte")

#: SI unit of each numeric property; a property not listed here is text.
PROPERTY_UNITS: dict[str, str] = {
    "density": "kg/m^3",
    "specific_capacity": "C/kg",
    "practical_specific_capacity": "C/kg",
    "particle_d10": "m",
    "particle_d50": "m",
    "particle_d90": "m",
    "particle_size_shift": "m",
    "particle_size_scale": "m",
    "particle_size_sigma_ln": "",
    "particle_size_min": "m",
    "particle_size_max": "m",
    "first_cycle_efficiency": "",
    "nominal_voltage": "V",
    "porosity_min": "",
    "youngs_modulus": "Pa",
    "specific_surface_area": "m^2/kg",
    "glass_transition_temperature": "K",
    "water_sorption": "",
    "viscosity": "Pa*s",
    "molar_mass": "kg/mol",
    "antoine_a": "",
    "antoine_b": "K",
    "antoine_c": "K",
    "heat_of_vaporisation": "J/kg",
    "boiling_point": "K",
    "surface_tension": "N/m",
    "diffusivity_in_air": "m^2/s",
    "heat_capacity": "J/kg/K",
    "thickness": "m",
    "porosity": "",
    "macmullin_number": "",
    "conductivity": "S/m",
    "contact_angle": "rad",
    "salt_concentration": "mol/m^3",
    "max_packing_fraction": "",
    "intrinsic_viscosity": "",
    "relaxation_time": "s",
    "rate_index": "",
    "effective_volume_factor": "",
    "overlap_concentration": "",
    "concentration_exponent": "",
    "consolidation_porosity": "",
    "consolidation_porosity_slope": "",
    "wall_porosity_coefficient": "",
    "compaction_pressure": "Pa",
    "compaction_porosity_exponent": "",
    "porosity_min_am_slope": "",
    "springback": "",
    "melting_temperature": "K",
    "binder_diffusivity": "m^2/s",
    "lower_explosion_limit": "",
    "viscosity_activation_energy": "J/mol",
    "surface_tension_slope": "N/m/K",
    "pore_diameter": "m",
}


#: Properties that are positive by nature (a zero or negative value is a typo).
_POSITIVE = frozenset({
    "density", "specific_capacity", "practical_specific_capacity", "particle_d10",
    "particle_d50", "particle_d90",
    "molar_mass", "viscosity", "thickness", "boiling_point", "heat_of_vaporisation",
    "heat_capacity", "surface_tension", "diffusivity_in_air", "conductivity",
    "specific_surface_area", "macmullin_number", "salt_concentration",
    "glass_transition_temperature", "melting_temperature",
    "youngs_modulus"})


@dataclass(frozen=True)
class Material:
    """One material: numeric properties in SI units, text properties, and their sources."""

    name: str
    kind: str
    properties: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def __getitem__(self, prop: str) -> Any:
        return self.get(prop)

    def get(self, prop: str, default: Any = ...) -> Any:
        """A property value (SI float, or text); raises :class:`MaterialError` if missing."""
        if prop in self.properties:
            return self.properties[prop]
        if default is not ...:
            return default
        raise MaterialError(
            f"material {self.name!r} ({self.kind}) has no property {prop!r}; it has "
            f"{sorted(self.properties)}. Add it in a materials file (twinline materials show "
            f"{self.name})")

    def has(self, prop: str) -> bool:
        return prop in self.properties

    def source(self, prop: str) -> str:
        return self.sources.get(prop, "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view: ``name``, ``kind``, ``description`` and ``properties``, each
        ``{"value"}`` in SI with its ``unit`` (numeric properties) and ``source`` (if any)."""
        props: dict[str, Any] = {}
        for k, v in self.properties.items():
            unit = PROPERTY_UNITS.get(k)
            entry: dict[str, Any] = {"value": v}
            if unit is not None and isinstance(v, int | float) and not isinstance(v, bool):
                entry["unit"] = unit or "dimensionless"
            if self.source(k):
                entry["source"] = self.source(k)
            props[k] = entry
        return {"name": self.name, "kind": self.kind, "description": self.description,
                "properties": props}


class MaterialLibrary(Mapping[str, Material]):
    """A name → :class:`Material` mapping with clear errors for unknown names."""

    def __init__(self, materials: Mapping[str, Material]):
        self._materials = dict(materials)
        self._index = {k.lower(): k for k in self._materials}

    def __getitem__(self, name: str) -> Material:
        key = self._index.get(str(name).strip().lower())
        if key is None:
            # a name far longer than any known one cannot be a typo of it (and difflib on a
            # 100 kB name is slow)
            near = difflib.get_close_matches(str(name), list(self._materials), n=1,
                                             cutoff=0.5) if len(str(name)) <= 200 else []
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise MaterialError(
                f"unknown material {quote(name)}; known materials are "
                f"{sorted(self._materials)}{hint}")
        return self._materials[key]

    def __iter__(self):
        return iter(self._materials)

    def __len__(self) -> int:
        return len(self._materials)

    def of_kind(self, kind: str) -> list[Material]:
        return [m for m in self._materials.values() if m.kind == kind]

    def require(self, name: str, kind: str, *, parameter: str = "material") -> Material:
        """The material ``name``, which must be of ``kind`` (else :class:`RecipeError`)."""
        try:
            mat = self[name]
        except MaterialError as err:
            raise RecipeError(f"{parameter}: {err}") from None
        if mat.kind != kind:
            raise RecipeError(
                f"{parameter} = {quote(name)} is a {mat.kind}, expected a {kind}; "
                f"choose from {[m.name for m in self.of_kind(kind)]}")
        return mat

    def with_properties(self, name: str, properties: Mapping[str, Any], *,
                        source: str) -> MaterialLibrary:
        """A library in which material ``name`` has ``properties`` (SI) set or replaced,
        each recorded with ``source``; the other materials are shared."""
        from dataclasses import replace

        mat = self[name]
        new = replace(mat, properties={**mat.properties, **properties},
                      sources={**mat.sources, **dict.fromkeys(properties, source)})
        return MaterialLibrary({**self._materials, mat.name: new})

    def merged(self, other: MaterialLibrary) -> MaterialLibrary:
        """A library with ``other``'s materials added (same names replaced)."""
        return MaterialLibrary({**self._materials, **other._materials})


def _parse_material(name: str, entry: Mapping[str, Any], origin: str) -> Material:
    from twinline.spec.units import parse_quantity

    if not isinstance(entry, Mapping):
        raise MaterialError(f"{origin}: material {quote(name)} must be a mapping, got "
                            f"{quote(entry)}")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise MaterialError(f"{origin}: material {quote(name)} has kind {quote(kind)}; "
                            f"allowed kinds are {list(KINDS)}")
    props: dict[str, Any] = {}
    sources: dict[str, str] = {}
    raw_props = entry.get("properties") or {}
    if not isinstance(raw_props, Mapping):
        raise MaterialError(f"{origin}: material {quote(name)}: 'properties' must be a mapping "
                            f"of name: value-with-unit, got {quote(raw_props)}")
    for prop, raw in raw_props.items():
        value, src = raw, ""
        if isinstance(raw, Mapping) and "source" in raw:
            src = str(raw.get("source", ""))
            value = raw.get("value") if "unit" not in raw else {
                "value": raw["value"], "unit": raw["unit"]}
        unit = PROPERTY_UNITS.get(prop)
        if unit is None or (isinstance(value, str) and not _looks_numeric(value)):
            props[prop] = value
        else:
            try:
                props[prop] = parse_quantity(value, unit, name=f"{name}.{prop}")
            except RecipeError as err:
                raise MaterialError(f"{origin}: {err}") from None
            x = props[prop]
            if not math.isfinite(x) or (prop in _POSITIVE and x <= 0):
                raise MaterialError(
                    f"{origin}: {elide(name)}.{elide(str(prop))} = {quote(value)} must be a finite"
                    f"{' positive' if prop in _POSITIVE else ''} quantity in {unit or '-'}")
        if src:
            sources[prop] = src
    return Material(name=name, kind=kind, properties=props, sources=sources,
                    description=str(entry.get("description", "")))


def _looks_numeric(text: str) -> bool:
    try:
        float(text.split()[0])
    except (ValueError, IndexError):
        return False
    return True


def parse_library(data: Any, origin: str) -> MaterialLibrary:
    """Build a library from the parsed YAML of a materials file (``{materials: {name: …}}``)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("materials"), Mapping):
        raise MaterialError(f"{origin}: a materials file needs a top-level 'materials:' mapping")
    return MaterialLibrary({str(k): _parse_material(str(k), v, origin)
                            for k, v in data["materials"].items()})


@cache
def builtin_library() -> MaterialLibrary:
    """The materials shipped with twinline (``materials/library.yaml``)."""
    from twinline.spec.yamlfile import parse_yaml

    origin = "twinline/materials/library.yaml"
    text = resources.files("twinline.materials").joinpath("library.yaml").read_text("utf-8")
    return parse_library(parse_yaml(text, origin, error=MaterialError), origin)


def load_library(*paths: str | Path) -> MaterialLibrary:
    """The built-in library extended (and overridden) by the user files in ``paths``."""
    from twinline.spec.yamlfile import read_yaml

    lib = builtin_library()
    for path in paths:
        p = Path(path)
        data = read_yaml(p, what="materials file", error=MaterialError)
        lib = lib.merged(parse_library(data, str(p)))
    return lib
