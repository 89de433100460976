"""Recipe sections of the cell: design and assembly, electrolyte filling, formation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from twinline.spec.quantity import SI


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CellSection(_Section):
    """Cell design and assembly (``assembly.*``)."""

    format: Literal["pouch", "cylindrical", "coin"] = "pouch"
    layers: int = Field(20, ge=1, le=500, description="number of cathode sheets (pouch)")
    separator: str = Field("PE", description="separator material name")
    electrolyte: str = Field("LP30", description="electrolyte material name")
    cathode_length: SI("m", gt=0, le=5) = Field(0.1, description="cathode sheet length [m]")
    cathode_width: SI("m", gt=0, le=1) = Field(0.07, description="cathode sheet width [m]")
    overhang: SI("m", ge=0, le=0.01) = Field(1e-3, description="anode overhang per edge [m]")


class FillingSection(_Section):
    """Electrolyte filling and wetting (``filling.*``)."""

    electrolyte_factor: SI("", gt=0, le=5) = Field(
        1.4, description="electrolyte volume / total pore volume [-] (1.4 optimal for NMC111)")
    temperature: SI("K", gt=273.15, lt=353.15) = Field(298.15, description="[K]")
    chamber_pressure: SI("Pa", gt=0, le=2e5) = Field(1e4, description="[Pa]")


class FormationSection(_Section):
    """Formation and degassing (``formation.*``)."""

    c_rate: SI("", gt=0, le=5) = Field(0.1, description="formation C-rate [-]")
    temperature: SI("K", gt=253.15, lt=353.15) = Field(298.15, description="[K]")
    cycles: int = Field(1, ge=1, le=10)
