"""Catalogue endpoints: the data specification (LiPLANET parameters) and the recipe schema.

``GET /catalogue`` (filters ``step``, ``category``, ``online``, ``q``), ``GET
/catalogue/{id}``, ``GET /catalogue.csv``, ``GET /catalogue.jsonld``, ``GET /schema/recipe``
— the same functions as ``twinline spec list|show|export`` and ``twinline recipe schema``.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from twinline.api.errors import ApiError
from twinline.api.models import ERRORS, ParameterOut, errors_as_json

router = APIRouter(tags=["catalogue"], responses=ERRORS)


def parameter_out(p: Any) -> dict[str, Any]:
    """A catalogue :class:`~twinline.spec.catalogue.Parameter` as :class:`ParameterOut`."""
    return {"id": p.id, "step": p.step, "name": p.name, "category": p.category,
            "unit": p.unit, "measured_by": p.measured_by, "resolution": p.resolution,
            "online": p.online, "models": list(p.models),
            "valid_range": None if p.valid_range is None else list(p.valid_range),
            "iri": p.iri, "addition": p.addition, "notes": p.notes}


@cache
def _all() -> tuple[dict[str, Any], ...]:
    from twinline.spec.catalogue import catalogue

    return tuple(parameter_out(p) for p in catalogue().values())


@router.get("/catalogue", response_model=list[ParameterOut],
            summary="List the catalogue's parameters, filtered")
def list_parameters(
    step: str | None = Query(None, max_length=100, description="a step name, e.g. coating"),
    category: Literal["MP", "PP", "SP"] | None = Query(
        None, description="MP machine, PP process, SP structure parameter"),
    online: bool | None = Query(None, description="measurable in-line (true) or offline only"),
    q: str | None = Query(None, max_length=200, description="text searched in id, name, "
                          "technique (case-insensitive)"),
) -> Any:
    """The parameters of the data specification (``twinline spec list``)."""
    from twinline.spec.catalogue import catalogue

    if step is None and category is None and online is None and not q:
        return JSONResponse(list(_all()))
    keep = {p.id for p in catalogue().select(step=step, category=category, online=online)}
    needle = (q or "").lower()
    return JSONResponse([p for p in _all() if p["id"] in keep and (
        not needle or needle in p["id"].lower() or needle in p["name"].lower()
        or needle in p["measured_by"].lower())])


@router.get("/catalogue.csv", response_class=Response, summary="The catalogue as CSV",
            responses={**errors_as_json(400, 404, 422, 500),
                       200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def catalogue_csv() -> Response:
    """The catalogue with the columns of ``catalogue.csv`` (``twinline spec export --format
    csv``)."""
    from twinline.spec.export import catalogue_csv as csv_text

    return Response(csv_text(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="catalogue.csv"'})


@router.get("/catalogue.jsonld", response_class=Response, summary="The catalogue as JSON-LD",
            responses={**errors_as_json(400, 404, 422, 500),
                       200: {"content": {"application/ld+json": {"schema": {
                "type": "object"}}}}})
def catalogue_jsonld() -> Response:
    """One ``skos:Concept`` per parameter (``twinline spec export --format jsonld``)."""
    import json

    from twinline.spec.export import catalogue_jsonld as jsonld

    return Response(json.dumps(jsonld()), media_type="application/ld+json",
                    headers={"Content-Disposition": 'attachment; filename="catalogue.jsonld"'})


@router.get("/catalogue/{parameter_id}", response_model=ParameterOut,
            summary="One parameter of the catalogue")
def get_parameter(parameter_id: str) -> Any:
    """One parameter by id (``coating.wet_thickness``); 404 with close matches if unknown."""
    from twinline.spec.catalogue import catalogue
    from twinline.spec.errors import SpecError

    try:
        return parameter_out(catalogue()[parameter_id])
    except SpecError as err:
        raise ApiError(str(err).strip("'\""), status=404) from None


@router.get("/schema/recipe", summary="The JSON Schema of a recipe",
            response_model=dict[str, Any])
def recipe_schema() -> Any:
    """The JSON Schema (draft 2020-12) of a recipe (``twinline recipe schema``)."""
    from twinline.spec.export import recipe_json_schema

    return JSONResponse(recipe_json_schema())
