"""Pydantic models of the API's responses, so that ``/openapi.json`` describes them exactly."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: ``error`` is the one-line message the CLI prints."""

    error: str = Field(description="one line naming the parameter, value, unit and what is "
                                   "allowed")
    detail: list[dict[str, Any]] | None = Field(
        None, description="the request validation errors (422 of a malformed request)")


#: The error answers every route may give (documented in the OpenAPI document).
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (400, "bad input"), (404, "unknown id"), (422, "invalid request or recipe"),
        (500, "internal error (logged; no traceback)"))}
#: The extra answers of a write.
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in (
        (401, "no bearer token"), (403, "wrong bearer token"), (409, "not finished"),
        (413, "request body too large"), (503, "job queue full"))}


class ParameterOut(BaseModel):
    """One parameter of the data specification (LiPLANET catalogue)."""

    id: str = Field(description="step.snake_name, e.g. coating.wet_thickness")
    step: str
    name: str
    category: Literal["MP", "PP", "SP"] = Field(description="machine, process or structure "
                                                             "parameter")
    unit: str = Field(description="pint unit of values ('' dimensionless or text)")
    measured_by: str = Field(description="measurement technique")
    resolution: str = Field(description="measurement resolution as written")
    online: bool | None = Field(description="measurable in-line (None: not applicable)")
    models: list[str]
    valid_range: list[float | None] | None = Field(description="[low, high] in unit; None "
                                                               "ends open")
    iri: str
    addition: bool = Field(description="added by twinline (not in LiPLANET's table)")
    notes: str


class PropertyOut(BaseModel):
    """One property of a material: value (SI for numbers), unit and source."""

    value: Any
    unit: str | None = Field(None, description="SI unit of a numeric value")
    source: str | None = Field(None, description="where the value comes from")


class MaterialOut(BaseModel):
    """One material of the library with its properties and their sources."""

    name: str
    kind: str
    description: str
    properties: dict[str, PropertyOut]


class JobOut(BaseModel):
    """A job: long runs, 3D structures, image analyses."""

    id: str
    kind: str = Field(description="run, structure or analyse")
    state: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1, description="fraction done [-]")
    stage: str
    message: str = Field(description="one-line error of a failed job")
    created: str = Field(description="ISO 8601, UTC")
    updated: str = Field(description="ISO 8601, UTC")
    url: str = Field(description="this job's URL (poll it)")
    result_url: str | None = Field(description="where the result is once done")
    result: dict[str, Any] | None = Field(description="the result once done")


class RunOut(BaseModel):
    """A finished run: its id, URLs and the Run record (``twinline run``'s run.json)."""

    id: str
    url: str
    report_url: str = Field(description="the HTML report")
    structure_url: str | None = Field(description="the 3D structure as TIFF (structure=true)")
    run: dict[str, Any] = Field(description="the Run record: recipe_name, inputs, models, "
                                            "outputs (catalogue id -> value, unit, std), "
                                            "warnings, steps, timings, citations ...")


class StructureResult(BaseModel):
    """Result of a structure job: the analysis and the image."""

    analysis: dict[str, Any] = Field(description="StructureAnalysis in SI (json-safe: "
                                                 "inf/NaN as null)")
    tiff_url: str | None
    shape: list[int]
    voxel_size_m: float


class IngestOut(BaseModel):
    """What an ingestion stored (the counts of ``twinline ingest --json``)."""

    file: str
    source: str
    rows: int
    new: int
    already: int
    objects: int
    edges: int
    seconds: float


class LineObjectOut(BaseModel):
    """One object of the line."""

    object: str
    kind: str
    created: str
    source: str


class LineageOut(BaseModel):
    """One object of a trace or a track (``twinline trace --json``)."""

    object: str
    kind: str
    depth: int
    created: str
    source: str
    parents: list[str]
    settings: list[dict[str, Any]]
    measurements: list[dict[str, Any]]


class StatsOut(BaseModel):
    """Counts of the line's database."""

    objects: int
    edges: int
    settings: int
    measurements: int


def errors_as_json(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route whose success is not JSON (CSV, HTML, TIFF): documented
    as ``application/json`` :class:`ErrorBody` (FastAPI would file them under the route's
    media type)."""
    table = {**ERRORS, **WRITE_ERRORS}
    return {c: {"description": table[c]["description"], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorBody"}}}} for c in codes}
