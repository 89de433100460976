"""Catalogue endpoints: the data specification (LiPLANET parameters) and the recipe schema.

``GET /catalogue`` (filters ``step``, ``category``, ``online``, ``q``), ``GET
/catalogue/{id}``, ``GET /catalogue.csv``, ``GET /catalogue.jsonld``, ``GET /schema/recipe``
— the same functions as ``twinline spec list|show|export`` and ``twinline recipe schema``.

The catalogue is a data file of the package: every answer is rendered once per distinct
query and served from the app's :class:`~twinline.api.cache.AnswerCache` with an ETag
(``If-None-Match`` → 304); :func:`select_parameters` is the uncached computation. The
endpoints are ``async``: a cached answer needs no worker thread.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from twinline.api.cache import NOT_MODIFIED, Cached
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


def select_parameters(step: str | None = None, category: str | None = None,
                      online: bool | None = None, q: str | None = None
                      ) -> list[dict[str, Any]]:
    """The :class:`ParameterOut` rows of ``GET /catalogue`` (uncached): the parameters of
    ``step``/``category``/``online`` whose id, name or technique contains ``q``
    (case-insensitive)."""
    from twinline.spec.catalogue import catalogue

    if step is None and category is None and online is None and not q:
        return list(_all())
    keep = {p.id for p in catalogue().select(step=step, category=category, online=online)}
    needle = (q or "").lower()
    return [p for p in _all() if p["id"] in keep and (
        not needle or needle in p["id"].lower() or needle in p["name"].lower()
        or needle in p["measured_by"].lower())]


@router.get("/catalogue", response_model=list[ParameterOut], responses=NOT_MODIFIED,
            summary="List the catalogue's parameters, filtered")
async def list_parameters(
    request: Request,
    step: str | None = Query(None, max_length=100, description="a step name, e.g. coating"),
    category: Literal["MP", "PP", "SP"] | None = Query(
        None, description="MP machine, PP process, SP structure parameter"),
    online: bool | None = Query(None, description="measurable in-line (true) or offline only"),
    q: str | None = Query(None, max_length=200, description="text searched in id, name, "
                          "technique (case-insensitive)"),
) -> Any:
    """The parameters of the data specification (``twinline spec list``)."""
    key = ("catalogue", step, category, online, (q or "").lower())
    return (await request.app.state.answers.aget(key, lambda: Cached.json(
        select_parameters(step, category, online, q)))).respond(request)


@router.get("/catalogue.csv", response_class=Response, summary="The catalogue as CSV",
            responses={**errors_as_json(400, 404, 422, 500), **NOT_MODIFIED,
                       200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def catalogue_csv(request: Request) -> Response:
    """The catalogue with the columns of ``catalogue.csv`` (``twinline spec export --format
    csv``)."""
    from twinline.spec.export import catalogue_csv as csv_text

    return (await request.app.state.answers.aget(("catalogue.csv",), lambda: Cached.raw(
        csv_text().encode("utf-8"), "text/csv; charset=utf-8",
        content_disposition='attachment; filename="catalogue.csv"'))).respond(request)


@router.get("/catalogue.jsonld", response_class=Response, summary="The catalogue as JSON-LD",
            responses={**errors_as_json(400, 404, 422, 500), **NOT_MODIFIED,
                       200: {"content": {"application/ld+json": {"schema": {
                "type": "object"}}}}})
async def catalogue_jsonld(request: Request) -> Response:
    """One ``skos:Concept`` per parameter (``twinline spec export --format jsonld``)."""
    import json

    from twinline.spec.export import catalogue_jsonld as jsonld

    return (await request.app.state.answers.aget(("catalogue.jsonld",), lambda: Cached.raw(
        json.dumps(jsonld()).encode("utf-8"), "application/ld+json",
        content_disposition='attachment; filename="catalogue.jsonld"'))).respond(request)


@router.get("/catalogue/{parameter_id}", response_model=ParameterOut,
            responses=NOT_MODIFIED, summary="One parameter of the catalogue")
async def get_parameter(request: Request, parameter_id: str) -> Any:
    """One parameter by id (``coating.wet_thickness``); 404 with close matches if unknown."""
    def render() -> Cached:
        from twinline.spec.catalogue import catalogue
        from twinline.spec.errors import SpecError

        try:
            return Cached.json(parameter_out(catalogue()[parameter_id]))
        except SpecError as err:
            raise ApiError(str(err).strip("'\""), status=404) from None

    return (await request.app.state.answers.aget(("parameter", parameter_id),
                                                 render)).respond(request)


@router.get("/schema/recipe", summary="The JSON Schema of a recipe",
            response_model=dict[str, Any], responses=NOT_MODIFIED)
async def recipe_schema(request: Request) -> Any:
    """The JSON Schema (draft 2020-12) of a recipe (``twinline recipe schema``)."""
    from twinline.spec.export import recipe_json_schema

    return (await request.app.state.answers.aget(("schema/recipe",), lambda: Cached.json(
        recipe_json_schema()))).respond(request)
