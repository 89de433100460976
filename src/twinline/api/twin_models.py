"""Pydantic models of the twin endpoints' answers (``/api/v1/twin/...``), so that
``/openapi.json`` describes them exactly. Values are SI; each carries its ``unit`` (SI) and
the catalogue's ``display_unit`` with the map ``display = scale · SI + offset``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Units(BaseModel):
    """The units of a parameter's values."""

    unit: str = Field(description="SI unit of the values ('' dimensionless)")
    display_unit: str = Field(description="the catalogue's unit for people")
    scale: float = Field(description="display = scale · SI + offset")
    offset: float


class TwinParameterOut(Units):
    """A measured parameter of the line and how much the twin knows of it."""

    parameter: str = Field(
        description="catalogue id with electrode, e.g. cathode.coating.am_loading"
    )
    measurements: int
    residuals: int
    alarms: int
    conditions: list[str] = Field(description="distinct measurement conditions")


class PredictionOut(Units):
    """One stored prediction of an object (made before its measurement)."""

    object: str
    parameter: str
    conditions: str
    mean: float = Field(description="predicted value [unit]")
    std: float = Field(description="predictive standard deviation [unit]")
    calibration: str = Field(description="the calibration version that made it")
    created: str = Field(description="ISO 8601, UTC")
    models: dict[str, Any] = Field(description="model versions, samples, seed")


class ResidualOut(BaseModel):
    """A measurement against its prediction: residual = measured − predicted (SI)."""

    parameter: str
    record: int = Field(description="the measurement's record id")
    object: str
    time: str = Field(description="measurement time, ISO 8601 UTC")
    conditions: str
    measured: float | None
    predicted: float | None
    std: float | None = Field(description="the prediction's standard deviation")
    residual: float | None
    z: float | None = Field(description="residual over both uncertainties [-]")
    calibration: str
    unit: str = Field(description="SI unit of measured, predicted, std and residual")


class AlarmOut(Units):
    """A stored SPC alarm."""

    object: str
    parameter: str
    series: Literal["residual", "measurement"] | str
    rule: str = Field(description="nelson-1..8, ewma, cusum-up, cusum-down")
    time: str
    value: float | None = Field(description="the value that signalled [unit]")
    message: str


class ChartAlarm(BaseModel):
    """An alarm placed on a chart."""

    index: int = Field(description="index into values")
    series: str = Field(
        description="the series the alarm was raised on: this chart's, or 'event' (the "
        "alarm policy's, on the residual z-scores)"
    )
    rule: str
    time: str
    object: str
    message: str


class SpcChartOut(Units):
    """Data of one control chart: values with centre line and 3σ limits, alarms marked."""

    parameter: str
    series: Literal["residual", "measurement"]
    conditions: str
    times: list[str]
    objects: list[str]
    values: list[float] = Field(description="z-scores (residual series) or SI values")
    centre: float | None
    sigma: float | None
    lcl: float | None = Field(description="centre − 3σ")
    ucl: float | None = Field(description="centre + 3σ")
    phase_one: int = Field(description="points that fixed centre and sigma")
    alarms: list[ChartAlarm]
    total: int = Field(description="points of the whole series")
    value_unit: str | None = Field(
        None, description="residual series: SI unit of the residuals behind the z-scores"
    )
    value_display_unit: str | None = None


class LineValue(Units):
    """The latest value of one parameter of an object."""

    parameter: str
    role: Literal["setting", "measurement"] | str
    value: float | None
    time: str
    conditions: str


class LineStepOut(BaseModel):
    """The newest object of one kind (a step of the line) with its latest values."""

    kind: str
    step: str
    object: str
    created: str
    objects: int = Field(description="objects of this kind in the store")
    values: list[LineValue]


class ConstantOut(BaseModel):
    """A calibrated constant: posterior median and 90 % interval (SI)."""

    name: str
    step: str
    target: str
    unit: str
    transform: str
    median: float | None
    low: float | None = Field(description="5 % quantile")
    high: float | None = Field(description="95 % quantile")
    prior: float | None
    sd_transformed: float
    group: str | None
    source: str


class GroupOffsetOut(BaseModel):
    """A batch or roll offset of a constant (transformed space)."""

    label: str
    mean: float
    sd: float


class CalibrationOut(BaseModel):
    """One calibration version."""

    version: str
    parent: str | None
    time: str = Field(description="the calibration's time (ISO 8601 UTC)")
    created: str | None = None
    measurements: int = Field(description="measurements of the update that made it")
    active: bool | None
    constants: list[ConstantOut]
    groups: list[GroupOffsetOut]


class RecommendRequest(BaseModel):
    """Targets for the next object (``twinline twin recommend``'s options)."""

    targets: list[str] = Field(
        min_length=1,
        max_length=4,
        description="NAME=VALUE±TOL with units",
        examples=[["cathode.calendering.porosity=0.30±0.01"]],
    )
    adjust: list[str] | None = Field(
        None,
        max_length=3,
        description="recipe paths of the settings to adjust (default: the gap for coating "
        "targets, the line load or pressure for calendering targets)",
        examples=[["cathode.calendering.line_load"]],
    )
    object: str | None = Field(
        None,
        max_length=200,
        description="start from this object's effective settings and batch",
    )
    windows: list[str] = Field(
        default_factory=list,
        max_length=3,
        description="machine windows PATH=LOW..HIGH with units",
        examples=[["cathode.calendering.line_load=5 kN/cm..30 kN/cm"]],
    )
    samples: int = Field(32, ge=0, le=256, description="Monte Carlo samples (uncertainty)")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class RecommendationOut(BaseModel):
    """A recommendation (``Recommendation.to_dict()``; SI values, ``units`` per key)."""

    settings: dict[str, float | None] = Field(description="recommended value per setting")
    predicted: dict[str, float | None] = Field(description="every output at those settings")
    uncertainty: dict[str, float | None] = Field(description="its standard deviation")
    calibration_version: str
    reachable: bool = Field(description="every target within its tolerance")
    messages: list[str] = Field(description="why a target is refused; notes")
    targets: list[dict[str, Any]]
    current: dict[str, float | None] = Field(description="the settings before")
    windows: dict[str, list[float | None]] = Field(description="machine window [low, high]")
    units: dict[str, str] = Field(description="SI unit of every setting and output")
    object: str | None
    groups: dict[str, str]
    wall_s: float
    recipe: str = Field(description="the base recipe's name")
