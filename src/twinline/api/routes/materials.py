"""Material endpoints: ``GET /materials`` (filter ``kind``) and ``GET /materials/{name}``
with the source of every value — ``twinline materials list|show --format json``."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from twinline.api.errors import ApiError
from twinline.api.models import ERRORS, MaterialOut

router = APIRouter(tags=["materials"], responses=ERRORS)


def material_out(m: Any) -> dict[str, Any]:
    """A :class:`~twinline.materials.Material` as :class:`MaterialOut` (values in SI)."""
    return m.to_dict()


@cache
def _all() -> dict[str, dict[str, Any]]:
    from twinline.materials import builtin_library

    return {m.name: material_out(m) for m in builtin_library().values()}


@router.get("/materials", response_model=list[MaterialOut], summary="List the materials")
def list_materials(kind: str | None = Query(None, max_length=100,
                                            description="only this kind, e.g. active_material")
                   ) -> Any:
    """The built-in material library, values in SI with units and sources."""
    from twinline.materials import KINDS
    from twinline.spec.errors import MaterialError, quote

    if kind is not None and kind not in KINDS:
        raise MaterialError(f"kind: unknown kind {quote(kind)}; kinds are {', '.join(KINDS)}")
    return JSONResponse([m for m in _all().values() if kind is None or m["kind"] == kind])


@router.get("/materials/{name}", response_model=MaterialOut,
            summary="One material with the source of each value")
def get_material(name: str) -> Any:
    """One material (case-insensitive name); 404 naming the known ones if unknown."""
    from twinline.materials import builtin_library
    from twinline.spec.errors import MaterialError

    try:
        m = builtin_library()[name]
    except MaterialError as err:
        raise ApiError(str(err).strip("'\""), status=404) from None
    return JSONResponse(_all()[m.name])
