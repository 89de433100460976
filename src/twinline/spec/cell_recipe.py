"""Recipe sections of the cell: design and assembly, electrolyte filling, formation.

Every field has a default so that a recipe without a ``cell`` section (or with a partial
one) still validates. Quantities are written with units in the YAML and stored in SI.

Formats (``cell.format``)

* ``pouch``: z-stacked sheets; ``layers`` double-sided cathode sheets between
  ``layers + 1`` anode sheets (the outer anodes coated on one side), ``2·layers``
  separator sheets (z-folded), sealed in an aluminium-laminate pouch.
* ``cylindrical``: one wound cathode of ``cathode_length`` × ``cathode_width`` (the width
  is the electrode height along the can axis) in a ``can`` (18650, 21700, 26650, 4680).
* ``prismatic``: one wound cathode of ``cathode_length`` × ``cathode_width`` flattened
  into a stadium-shaped jelly roll in an aluminium ``prismatic_can`` (PHEV1, PHEV2, BEV1,
  BEV2); the width runs along the can's length.
* ``coin``: one single-sided cathode disc of ``cathode_diameter`` against an anode disc of
  ``cathode_diameter + 2·overhang`` in a ``coin_case`` (CR2032, CR2025, CR2016).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twinline.spec.quantity import SI


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CellSection(_Section):
    """Cell design and assembly (``assembly.*``)."""

    model: str = Field("stochastic-stacking", description="assembly (stacking) model")
    format: Literal["pouch", "cylindrical", "prismatic", "coin"] = "pouch"
    layers: int = Field(20, ge=1, le=500, description="number of double-sided cathode sheets "
                                                        "(pouch)")
    separator: str = Field("PE", description="separator material name")
    electrolyte: str = Field("LP30", description="electrolyte material name")
    cathode_length: SI("m", gt=0, le=5) = Field(
        0.1, description="cathode sheet length [m] (pouch), wound length (cylindrical, prismatic)")
    cathode_width: SI("m", gt=0, le=1) = Field(
        0.07, description="cathode sheet width [m] (pouch), electrode height (cylindrical, "
                          "prismatic)")
    cathode_diameter: SI("m", gt=0, le=0.03) = Field(
        0.014, description="cathode disc diameter [m] (coin)")
    overhang: SI("m", ge=0, le=0.01) = Field(1e-3, description="anode overhang per edge [m]")
    separator_overhang: SI("m", ge=0, le=0.02) = Field(
        2e-3, description="separator overhang beyond the anode per edge [m]")
    stacking_tolerance: SI("m", ge=0, le=0.005) = Field(
        2e-4, description="standard deviation of the sheet placement error per axis [m]")
    min_overhang: SI("m", ge=0, le=0.01) = Field(
        0.0, description="smallest acceptable anode overhang after stacking [m]; a stack "
                         "whose worst-case overhang is smaller is scrap")
    n_p_min: SI("", gt=0, le=5) = Field(1.0, description="lowest accepted N/P ratio [-]")
    n_p_max: SI("", gt=0, le=5) = Field(2.0, description="highest accepted N/P ratio [-]")
    can: Literal["18650", "21700", "26650", "4680"] = Field("18650", description="cylindrical can")
    prismatic_can: Literal["PHEV1", "PHEV2", "BEV1", "BEV2"] = Field(
        "PHEV2", description="prismatic can (DIN SPEC 91252 sizes)")
    coin_case: Literal["CR2032", "CR2025", "CR2016"] = Field("CR2032", description="coin case")
    mandrel_diameter: SI("m", ge=0, le=0.02) = Field(
        2e-3, description="winding mandrel (core) diameter [m] (cylindrical)")
    pouch_foil_thickness: SI("m", gt=0, le=1e-3) = Field(
        1.53e-4, description="aluminium-laminate pouch foil thickness [m] (DNP D-EL40H)")
    pouch_foil_areal_mass: SI("kg/m^2", gt=0, le=2) = Field(
        0.19, description="pouch foil mass per area [kg/m²] (about 190 g/m² for 153 µm)")
    seal_width: SI("m", ge=0, le=0.05) = Field(5e-3, description="pouch seal width [m]")
    tab_width: SI("m", gt=0, le=0.1) = Field(0.02, description="tab width [m]")
    tab_length: SI("m", gt=0, le=0.1) = Field(0.03, description="tab length [m]")
    tab_thickness: SI("m", gt=0, le=1e-3) = Field(2e-4, description="tab thickness [m]")
    pulse_duration: SI("s", gt=0, le=60) = Field(
        10.0, description="discharge pulse length for the internal resistance [s]")
    pulse_c_rate: SI("", gt=0, le=10) = Field(1.0, description="pulse C-rate [-]")
    pulse_soc: SI("", gt=0, le=1) = Field(0.5, description="state of charge of the pulse [-]")

    @model_validator(mode="after")
    def _n_p_range(self) -> CellSection:
        if self.n_p_min >= self.n_p_max:
            raise ValueError(f"n_p_min ({self.n_p_min:g}) must be below n_p_max "
                             f"({self.n_p_max:g})")
        return self


class FillingSection(_Section):
    """Electrolyte filling and wetting (``filling.*``)."""

    model: str = Field("washburn", description="filling and wetting model")
    electrolyte_factor: SI("", gt=0, le=5) = Field(
        1.4, description="electrolyte volume / total pore volume [-] (1.4 optimal for NMC111)")
    temperature: SI("K", gt=273.15, lt=353.15) = Field(298.15, description="[K]")
    chamber_pressure: SI("Pa", gt=0, le=2e5) = Field(1e4, description="[Pa]")
    rest_time: SI("s", ge=0, le=86400 * 14) = Field(
        43200.0, description="wetting rest after filling [s] (12 h)")
    filling_pressure: SI("Pa", ge=0, le=1e6) = Field(
        1.01325e5, description="gas pressure applied after venting the chamber [Pa]")


class FormationSection(_Section):
    """Formation and degassing (``formation.*``)."""

    model: str = Field("pybamm-sei", description="formation model")
    c_rate: SI("", gt=0, le=5) = Field(0.1, description="formation C-rate [-]")
    temperature: SI("K", gt=253.15, lt=353.15) = Field(298.15, description="[K]")
    cycles: int = Field(1, ge=1, le=10)
    soc_min: SI("", ge=0, lt=1) = Field(0.0, description="lower SOC of the window [-]")
    soc_max: SI("", gt=0, le=1) = Field(1.0, description="upper SOC of the window [-]")
    rest_time: SI("s", ge=0, le=86400 * 7) = Field(3600.0, description="rest after charge [s]")
    degassing: bool = Field(True, description="degas (and re-seal) after the first cycle")
    ocv_storage_time: SI("s", gt=0, le=86400 * 60) = Field(
        604800.0, description="OCV storage time for self-discharge screening [s] (7 days)")
    self_discharge_threshold: SI("V/s", gt=0) = Field(
        2e-3 / 86400, description="OCV-decay flag threshold [V/s] (2 mV/day)")
    screened_cells: int = Field(200, ge=1, le=100000,
                                description="cells in the self-discharge screening population")
    leakage_resistance: SI("ohm", gt=0) = Field(
        5e4, description="median parallel leakage (soft-short) resistance of a cell [Ω]")
    leakage_spread: SI("", ge=0, le=5) = Field(
        1.0, description="log-normal sigma of the leakage resistance [-]")

    @model_validator(mode="after")
    def _window(self) -> FormationSection:
        if self.soc_min >= self.soc_max:
            raise ValueError(f"soc_min ({self.soc_min:g}) must be below soc_max "
                             f"({self.soc_max:g})")
        return self
