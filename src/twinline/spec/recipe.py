"""The recipe: materials and every machine parameter of one production run (YAML).

Each section is a frozen pydantic model; quantities are written with units in the file
(``"300 um"``, ``"0.3 m/s"``, ``"80 degC"``) and stored as SI floats. A missing value falls
back to the default documented on its field (``twinline spec export --format jsonschema``
lists them). Unknown keys are refused (``extra="forbid"``), so a misspelt parameter is caught.

Section names follow the catalogue's steps: ``mixing``, ``coating``, ``drying``,
``calendering``, ``slitting``, ``post_drying`` per electrode; ``cell``, ``filling``,
``formation`` for the cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twinline.spec.cell_recipe import CellSection, FillingSection, FormationSection
from twinline.spec.quantity import SI, Fraction
from twinline.spec.spec_limits import SpecLimit


class Section(BaseModel):
    """Base of every recipe section: frozen, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Component(Section):
    """One solid of the formulation: a material name and its mass fraction in the dry solid."""

    material: str
    mass_fraction: Fraction


class Formulation(Section):
    """Dry-solid formulation (mass fractions summing to 1) and the solvent."""

    active_material: Component
    conductive_additive: Component
    binder: Component
    solvent: str = Field("NMP", description="solvent material name")

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> Formulation:
        total = (self.active_material.mass_fraction + self.conductive_additive.mass_fraction
                 + self.binder.mass_fraction)
        if abs(total - 1.0) > 1e-3:
            raise ValueError(
                f"mass fractions sum to {total:.4g}, they must sum to 1 (±0.001): "
                f"active_material {self.active_material.mass_fraction:g}, conductive_additive "
                f"{self.conductive_additive.mass_fraction:g}, binder "
                f"{self.binder.mass_fraction:g}")
        return self


class MixingSection(Section):
    """Slurry preparation (``mixing.*`` parameters)."""

    model: str = Field("krieger-cross", description="slurry rheology model")
    solid_content: Fraction = Field(0.65, description="solid mass fraction of the slurry [-]")
    mixing_time: SI("s", gt=0, le=86400 * 2) = Field(7200.0, description="mixing time [s]")
    rotational_speed: SI("rad/s", gt=0) = Field(
        157.08, description="mixer rotational speed [rad/s] (1500 rpm)")
    temperature: SI("K", gt=250, lt=400) = Field(298.15, description="mixing temperature [K]")


class CoatingSection(Section):
    """Coating (``coating.*``): comma coater (gap) or slot die (flow rate)."""

    model: str = Field("film-balance", description="coating model")
    method: Literal["comma", "slot_die"] = "comma"
    gap: SI("m", gt=0, le=2e-3) | None = Field(
        None, description="comma-coater gap [m] (required for method=comma)")
    flow_rate: SI("m^3/s", gt=0) | None = Field(
        None, description="slot-die volumetric flow rate [m³/s] (required for slot_die)")
    speed: SI("m/s", gt=0, le=10) = Field(0.3, description="coating (web) speed [m/s]")
    width: SI("m", gt=0, le=3) = Field(0.25, description="coated width [m]")
    ambient_temperature: SI("K", gt=250, lt=350) = Field(
        298.15, description="ambient temperature at the coater [K] (25 °C)")
    gap_to_wet_ratio: Fraction | None = Field(
        None, description="wet thickness / comma gap [-]; default from the coating model")

    @model_validator(mode="after")
    def _method_needs_its_setting(self) -> CoatingSection:
        if self.method == "comma" and self.gap is None:
            raise ValueError("method 'comma' needs 'gap' (for example \"300 um\")")
        if self.method == "slot_die" and self.flow_rate is None:
            raise ValueError("method 'slot_die' needs 'flow_rate' (for example \"20 mL/min\")")
        return self


class DryingZone(Section):
    """One convective dryer zone."""

    temperature: SI("K", gt=273.15, lt=523.15) = Field(description="air temperature [K]")
    length: SI("m", gt=0, le=100) = Field(description="zone length [m]")
    air_velocity: SI("m/s", gt=0, le=50) = Field(
        5.0, description="impinging air velocity [m/s]")


class DryingSection(Section):
    """Convective drying (``drying.*``)."""

    model: str = Field("convective", description="drying model")
    zones: list[DryingZone] = Field(min_length=1)
    web_speed: SI("m/s", gt=0, le=10) | None = Field(
        None, description="web speed in the dryer [m/s]; default: the coating speed")
    solvent_recovery: bool = Field(True, description="NMP recovery (condensation) on the exhaust")


class CalenderingSection(Section):
    """Calendering (``calendering.*``): give ``line_load`` or ``pressure`` (one of them)."""

    model: str = Field("heckel", description="compaction model")
    line_load: SI("N/m", ge=0, le=5e6) | None = Field(None, description="line load [N/m]")
    pressure: SI("Pa", ge=0, le=1e9) | None = Field(None, description="nip pressure [Pa]")
    roll_temperature: SI("K", gt=273.15, lt=473.15) = Field(
        298.15, description="roll surface temperature [K] (25 °C)")
    speed: SI("m/s", gt=0, le=5) = Field(0.009, description="line speed [m/s] (0.54 m/min)")
    roll_diameter: SI("m", gt=0, le=3) = Field(0.25, description="roll diameter [m]")

    @model_validator(mode="after")
    def _one_load(self) -> CalenderingSection:
        if self.line_load is None and self.pressure is None:
            raise ValueError("give 'line_load' (for example \"1 kN/cm\") or 'pressure' "
                             "(for example \"60 MPa\")")
        if self.line_load is not None and self.pressure is not None:
            raise ValueError("give 'line_load' or 'pressure', not both")
        return self


class SlittingSection(Section):
    """Slitting (``slitting.*``)."""

    model: str = Field("edge-risk", description="slitting model")
    method: Literal["rotary_knife", "laser"] = "rotary_knife"
    speed: SI("m/s", gt=0, le=10) = Field(1.0, description="slitting speed [m/s]")
    width: SI("m", gt=0, le=3) | None = Field(
        None, description="slit electrode width [m]; default: the coated width")


class PostDryingSection(Section):
    """Vacuum / argon post-drying (``post_drying.*``)."""

    model: str = Field("sorption", description="residual-moisture model")
    temperature: SI("K", gt=273.15, lt=473.15) = Field(
        393.15, description="oven temperature [K] (120 °C; typical 60-150 °C)")
    time: SI("s", gt=0, le=86400 * 3) = Field(
        43200.0, description="post-drying time [s] (12 h; typical > 12 h)")
    atmosphere: Literal["vacuum", "argon", "dry_air"] = "vacuum"
    pressure: SI("Pa", gt=0, le=2e5) = Field(
        100.0, description="chamber pressure [Pa] (1 mbar vacuum)")
    dew_point: SI("K", gt=173.15, lt=300) = Field(
        213.15, description="dew point of the purge gas / dry room [K] (−60 °C)")
    target_moisture: SI("", gt=0, lt=0.1) = Field(
        3e-4, description="residual-moisture target, mass fraction [-] (300 ppm)")


class MeasuredElectrode(Section):
    """A measured (e.g. torn-down) electrode: it bypasses the electrode steps.

    Per coated side: ``thickness`` of the coating [m], ``porosity`` [-] and dry coating
    ``loading`` [kg m⁻²]; the formulation gives the active-material mass
    (loading × AM mass fraction).
    """

    thickness: SI("m", gt=0, le=1e-3) = Field(description="coating thickness per side [m]")
    porosity: Fraction = Field(description="coating porosity [-]")
    loading: SI("kg/m^2", gt=0, le=1.0) = Field(
        description="dry coating mass per area and side [kg/m²]")
    width: SI("m", gt=0, le=3) = Field(0.25, description="slit electrode width [m]")


class TargetElectrode(Section):
    """An electrode given by its target properties instead of machine settings.

    Per coated side: ``porosity`` [-] after calendering and the coating ``thickness`` [m]
    and/or the dry ``loading`` [kg m⁻²] (with only the thickness, the loading is
    :math:`L (1-\varepsilon) \rho_{solid}`). The chain solves the comma-coater gap for the
    loading and the nip pressure for the porosity (:mod:`twinline.chain.targets`); the
    other settings come from the ``coating``/``drying``/``calendering`` sections as usual.
    """

    thickness: SI("m", gt=0, le=1e-3) | None = Field(
        None, description="coating thickness per side after calendering [m]")
    porosity: Fraction = Field(description="coating porosity after calendering [-]")
    loading: SI("kg/m^2", gt=0, le=1.0) | None = Field(
        None, description="dry coating mass per area and side [kg/m²]")

    @model_validator(mode="after")
    def _thickness_or_loading(self) -> TargetElectrode:
        if self.thickness is None and self.loading is None:
            raise ValueError("a target electrode needs 'thickness' or 'loading' (or both) "
                             "besides 'porosity'")
        return self


class ElectrodeRecipe(Section):
    """Everything that makes one electrode: formulation, foil and each step's settings.

    Either the machine settings (``coating``, ``drying``, ``calendering``; the electrode
    steps run) or ``measured`` (a measured electrode; the electrode steps are bypassed).
    """

    formulation: Formulation
    current_collector: str = Field(description="foil material name (Al, Cu)")
    current_collector_thickness: SI("m", gt=0, le=1e-4) | None = Field(
        None, description="foil thickness [m]; default: the material's")
    measured: MeasuredElectrode | None = Field(
        None, description="a measured electrode (thickness, porosity, loading per side)")
    target: TargetElectrode | None = Field(
        None, description="target properties (porosity and thickness and/or loading per "
                          "side); the chain solves the coating gap and calender pressure")
    mixing: MixingSection = MixingSection()
    coating: CoatingSection | None = None
    drying: DryingSection | None = None
    calendering: CalenderingSection | None = None
    slitting: SlittingSection = SlittingSection()
    post_drying: PostDryingSection = PostDryingSection()

    @model_validator(mode="after")
    def _settings_or_measured(self) -> ElectrodeRecipe:
        if self.measured is not None and self.target is not None:
            raise ValueError("give 'measured' (a teardown electrode) or 'target' (properties "
                             "to make), not both")
        if self.target is not None:
            if self.drying is None:
                raise ValueError("a target electrode needs the 'drying' section (the dryer "
                                 "zones set the porosity before calendering)")
            if self.coating is not None and self.coating.method != "comma":
                raise ValueError("a target electrode is solved for a comma-coater gap: "
                                 "coating.method must be 'comma'")
        elif self.measured is None:
            missing = [k for k in ("coating", "drying", "calendering")
                       if getattr(self, k) is None]
            if missing:
                raise ValueError(f"give the sections {missing} (machine settings), "
                                 f"'target' (thickness, porosity, loading to make) or "
                                 f"'measured' (thickness, porosity, loading)")
        return self


class Recipe(Section):
    """One production run: cathode and/or anode, optionally the cell they go into."""

    name: str = "unnamed recipe"
    description: str = ""
    materials_files: list[str] = Field(
        default_factory=list,
        description="extra material files (YAML), relative to the recipe file")
    cathode: ElectrodeRecipe | None = None
    anode: ElectrodeRecipe | None = None
    cell: CellSection | None = None
    filling: FillingSection = FillingSection()
    formation: FormationSection = FormationSection()
    tolerances: dict[str, Any] = Field(
        default_factory=dict,
        description="machine-parameter tolerances (1 standard deviation) for Monte Carlo, "
                    "keyed by recipe path, e.g. 'cathode.coating.gap': '5 um'")
    spec_limits: dict[str, SpecLimit] = Field(
        default_factory=dict,
        description="specification limits of measured outputs, keyed by the stored "
                    "parameter, e.g. 'cathode.calendering.porosity': {lower: '28 %', upper: "
                    "'32 %'} (either side may be omitted); see twinline.spec.spec_limits")
    source_path: str | None = Field(None, exclude=True)

    @field_validator("spec_limits", mode="before")
    @classmethod
    def _spec_limits_in_si(cls, value: Any) -> Any:
        from twinline.spec.spec_limits import parse_spec_limits

        return parse_spec_limits(value)  # a RecipeError is a ValueError: one line, on its path

    @model_validator(mode="after")
    def _has_an_electrode(self) -> Recipe:
        if self.cathode is None and self.anode is None:
            raise ValueError("a recipe needs a 'cathode' or an 'anode' section (or both)")
        return self

    def electrodes(self) -> dict[str, ElectrodeRecipe]:
        """The electrodes present, keyed ``cathode``/``anode``."""
        return {k: v for k, v in (("cathode", self.cathode), ("anode", self.anode))
                if v is not None}

    @property
    def base_dir(self) -> Path:
        return Path(self.source_path).parent if self.source_path else Path.cwd()


def _format_validation_error(err: Any, origin: str, data: Any) -> str:
    """One line per problem: ``FILE: path.to.param: message``."""
    from twinline.spec.errors import elide, quote

    lines = []
    for e in err.errors(include_url=False):
        # a key is a user's value too: each path part is cut to the quoting limit
        loc = ".".join(elide(str(p)) for p in e["loc"] if not str(p).startswith("function-"))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            key = e["loc"][-1] if e["loc"] else loc
            msg = f"unknown parameter {quote(key)} (value {quote(e['input'])})"
        elif e["type"] == "missing":
            msg = "required parameter is missing"
        elif "input" in e and e["type"] not in ("value_error",) and not isinstance(
                e["input"], dict):
            msg = f"{msg} (got {quote(e['input'])})"
        lines.append(f"{origin}: {loc or 'recipe'}: {elide(msg, 1000)}")
    return "; ".join(lines).replace("\r", "\\r").replace("\n", "\\n")  # one line


def parse_recipe(data: Any, origin: str = "recipe") -> Recipe:
    """Validate parsed YAML into a :class:`Recipe`; :class:`RecipeError` on any problem."""
    from pydantic import ValidationError

    from twinline.spec.errors import RecipeError

    if data is None:
        raise RecipeError(f"{origin}: the recipe is empty")
    if not isinstance(data, dict):
        raise RecipeError(f"{origin}: a recipe must be a mapping of sections, got "
                          f"{type(data).__name__}")
    try:
        return Recipe.model_validate(data)
    except ValidationError as err:
        raise RecipeError(_format_validation_error(err, origin, data)) from None


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe YAML file (materials are checked by :func:`resolve`).

    The file is read by :func:`twinline.spec.yamlfile.read_yaml`: at most 1 MiB, safe tags
    only, aliases and nesting bounded, duplicate keys refused.
    """
    from twinline.spec.errors import RecipeError
    from twinline.spec.yamlfile import read_yaml

    p = Path(path)
    data = read_yaml(p, what="recipe", error=RecipeError)
    recipe = parse_recipe(data, str(p))
    return recipe.model_copy(update={"source_path": str(p)})
