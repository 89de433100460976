"""Material endpoints: ``GET /materials`` (filter ``kind``) and ``GET /materials/{name}``
with the source of every value — ``twinline materials list|show --format json``.

The library is a data file of the package: answers are rendered once and served from the
app's :class:`~twinline.api.cache.AnswerCache` with an ETag (``If-None-Match`` → 304).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Query, Request

from twinline.api.cache import NOT_MODIFIED, Cached
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


@router.get("/materials", response_model=list[MaterialOut], responses=NOT_MODIFIED,
            summary="List the materials")
async def list_materials(request: Request,
                         kind: str | None = Query(None, max_length=100, description="only "
                                                  "this kind, e.g. active_material")
                         ) -> Any:
    """The built-in material library, values in SI with units and sources."""
    from twinline.materials import KINDS
    from twinline.spec.errors import MaterialError, quote

    if kind is not None and kind not in KINDS:
        raise MaterialError(f"kind: unknown kind {quote(kind)}; kinds are {', '.join(KINDS)}")
    return (await request.app.state.answers.aget(("materials", kind), lambda: Cached.json(
        [m for m in _all().values() if kind is None or m["kind"] == kind]))).respond(request)


@router.get("/materials/{name}", response_model=MaterialOut, responses=NOT_MODIFIED,
            summary="One material with the source of each value")
async def get_material(request: Request, name: str) -> Any:
    """One material (case-insensitive name); 404 naming the known ones if unknown."""
    def render() -> Cached:
        from twinline.materials import builtin_library
        from twinline.spec.errors import MaterialError

        try:
            m = builtin_library()[name]
        except MaterialError as err:
            raise ApiError(str(err).strip("'\""), status=404) from None
        return Cached.json(_all()[m.name])

    # keyed by the name as asked (NMC111, nmc111: two entries of the same bytes)
    return (await request.app.state.answers.aget(("material", name), render)
            ).respond(request)
