"""The twin: ``GET /twin/parameters``, ``/twin/line``, ``/twin/predictions``,
``/twin/residuals``, ``/twin/spc``, ``/twin/alarms``, ``/twin/calibrations[/{version}]`` and
``POST /twin/calibrations/{version}/rollback`` (a write: bearer token) — thin calls into
:mod:`twinline.twin.views` and the store, the same data as ``twinline twin
predict|alarms|calibration``.

Values are SI with their units (:class:`~twinline.api.twin_models.Units`). A parameter is
a catalogue id with its electrode (``cathode.coating.am_loading``); an unknown one is a 400
naming it; times are ISO 8601 (``2026-12-01T10:00:00Z``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path as Path_
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from twinline.api.errors import ApiError
from twinline.api.models import ERRORS, WRITE_ERRORS
from twinline.api.routes import WRITE
from twinline.api.twin_models import (
    AlarmOut,
    CalibrationOut,
    LineStepOut,
    PredictionOut,
    RecommendationOut,
    RecommendRequest,
    ResidualOut,
    SpcChartOut,
    TwinParameterOut,
)
from twinline.spec.errors import quote

router = APIRouter(tags=["twin"], responses=ERRORS)

_PARAMETER = "catalogue id with electrode, e.g. cathode.coating.am_loading"
_SINCE = "only from this time on (ISO 8601; naive = UTC)"
_UNTIL = "only up to this time (ISO 8601; naive = UTC)"


def _store(request: Request) -> Any:
    store = request.app.state.store
    if store is None:
        raise ApiError(
            "this server has no line database; start it with twinline serve --db DB", status=404
        )
    return store


def _check_parameter(parameter: str | None) -> str | None:
    """``parameter`` if it names a catalogue parameter (with or without electrode)."""
    if parameter is None:
        return None
    from twinline.spec.catalogue import catalogue
    from twinline.twin.views import catalogue_id

    if catalogue_id(parameter) not in catalogue():
        import difflib

        cat = catalogue()
        near = difflib.get_close_matches(catalogue_id(parameter), list(cat), n=1)
        raise ApiError(
            f"parameter = {quote(parameter)} is not a catalogue parameter; allowed: "
            f"a catalogue id with its electrode, e.g. cathode.coating.am_loading"
            + (f"; did you mean {quote('cathode.' + near[0])}?" if near else ""),
            status=400,
        )
    return parameter


def _json(data: Any) -> JSONResponse:
    return JSONResponse(data)


@router.get(
    "/twin/parameters",
    response_model=list[TwinParameterOut],
    summary="Measured parameters with their counts and units",
)
def parameters(request: Request) -> Any:
    """Every measured numeric parameter: measurements, residuals, alarms, conditions."""
    from twinline.twin.views import twin_parameters

    return _json(twin_parameters(_store(request)))


@router.get(
    "/twin/line",
    response_model=list[LineStepOut],
    summary="The line now: the newest object of each step with its latest values",
)
def line_now(request: Request) -> Any:
    """Per object kind in process order: the newest object and the latest value of each of
    its settings and measurements (SI, with units)."""
    from twinline.twin.views import line_now as view

    return _json(view(_store(request)))


@router.get(
    "/twin/predictions",
    response_model=list[PredictionOut],
    summary="The stored predictions of an object",
)
def predictions(
    request: Request,
    object: str = Query(
        ..., min_length=1, max_length=200, description="the object's id on the line"
    ),
    parameter: str | None = Query(None, max_length=200, description=_PARAMETER),
    calibration: str | None = Query(
        None, max_length=64, description="only this calibration version"
    ),
) -> Any:
    """Each prediction (made before the measurement) with its standard deviation and the
    calibration version that made it, newest first."""
    from twinline.twin.errors import StoreError
    from twinline.twin.views import parameter_units

    store = _store(request)
    _check_parameter(parameter)
    try:
        store.trace(object)
        if calibration is not None:
            store.calibration_state(calibration)
    except StoreError as err:
        raise ApiError(str(err), status=404) from None
    rows = store.predictions(object, calibration=calibration, parameter=parameter)
    return _json(
        [
            {
                "object": object,
                "parameter": p["parameter"],
                "conditions": p["conditions"],
                "mean": p["mean"],
                "std": p["std"],
                "calibration": p["calibration"],
                "created": p["created"],
                "models": p["models"],
                **parameter_units(p["parameter"]),
            }
            for p in rows
        ]
    )


@router.get(
    "/twin/residuals",
    response_model=list[ResidualOut],
    summary="Residuals (measured − predicted) and z-scores, in time order",
)
def residuals(
    request: Request,
    parameter: str | None = Query(None, max_length=200, description=_PARAMETER),
    since: datetime | None = Query(None, description=_SINCE),
    until: datetime | None = Query(None, description=_UNTIL),
    limit: int = Query(1000, ge=1, le=5000, description="the newest this many"),
) -> Any:
    """The latest residual of each measurement (SI, its unit) and its z-score."""
    from twinline.twin.views import parameter_units, residual_points

    _check_parameter(parameter)
    rows = residual_points(
        _store(request), parameter=parameter, since=since, until=until, limit=limit
    )
    return _json([r | {"unit": parameter_units(r["parameter"])["unit"]} for r in rows])


@router.get(
    "/twin/spc",
    response_model=SpcChartOut,
    summary="Control-chart data of a parameter: values, centre, limits, alarms",
)
def spc(
    request: Request,
    parameter: str = Query(..., min_length=1, max_length=200, description=_PARAMETER),
    series: str = Query(
        "residual",
        pattern="^(residual|measurement)$",
        description="residual: z-scores against the predictions; measurement: the measured values",
    ),
    conditions: str | None = Query(
        None,
        max_length=500,
        description="measurement "
        "conditions (default: all for residuals, the first "
        "for measurements)",
    ),
    limit: int = Query(500, ge=2, le=5000, description="the newest this many points"),
) -> Any:
    """The chart the twin loop watches, with the stored alarms at their points."""
    from twinline.twin.views import spc_chart

    _check_parameter(parameter)
    return _json(
        spc_chart(_store(request), parameter, series=series, conditions=conditions, limit=limit)
    )


@router.get(
    "/twin/alarms", response_model=list[AlarmOut], summary="Stored SPC alarms in time order"
)
def alarms(
    request: Request,
    parameter: str | None = Query(None, max_length=200, description=_PARAMETER),
    since: datetime | None = Query(None, description=_SINCE),
    until: datetime | None = Query(None, description=_UNTIL),
    limit: int = Query(1000, ge=1, le=5000, description="the newest this many"),
) -> Any:
    """``twinline twin alarms --json``, filtered by parameter and time."""
    from twinline.twin.views import alarm_list

    _check_parameter(parameter)
    return _json(
        alarm_list(_store(request), parameter=parameter, since=since, until=until, limit=limit)
    )


@router.get(
    "/twin/calibrations",
    response_model=list[CalibrationOut],
    summary="The calibration versions, oldest first, with posterior intervals",
)
def calibrations(
    request: Request,
    limit: int = Query(50, ge=1, le=500, description="the newest this many"),
    groups: bool = Query(True, description="include the batch/roll offsets of each version"),
) -> Any:
    """Each version: its parent, time, the number of measurements that made it, whether it
    is active, and each constant's posterior median with its 90 % interval (SI)."""
    from twinline.twin.views import calibration_history

    store = _store(request)
    return _json(calibration_history(store, limit=limit, groups=groups))


def _version(request: Request, version: str) -> dict[str, Any]:
    from twinline.twin.errors import StoreError
    from twinline.twin.views import calibration_view

    store = _store(request)
    try:
        state = store.calibration_state(version)
    except StoreError as err:
        raise ApiError(str(err), status=404) from None
    listed = {c["version"]: c for c in store.calibrations()}
    c = listed.get(version, {})
    return calibration_view(state, active=c.get("active")) | {"created": c.get("created")}


_VERSION = Path(..., min_length=1, max_length=64, description="calibration version id")


@router.get(
    "/twin/calibrations/{version}", response_model=CalibrationOut, summary="One calibration version"
)
def calibration(request: Request, version: str = _VERSION) -> Any:
    """``twinline twin calibration show V`` as JSON."""
    return _json(_version(request, version))


@router.post(
    "/twin/calibrations/{version}/rollback",
    response_model=CalibrationOut,
    dependencies=WRITE,
    responses=WRITE_ERRORS,
    summary="Make an earlier calibration version the active one",
)
async def rollback(request: Request, version: str = _VERSION) -> Any:
    """``twinline twin calibration rollback V``: predictions use it from now on."""
    from twinline.twin.errors import StoreError

    store = _store(request)
    try:
        await run_in_threadpool(store.activate_calibration, version)
    except StoreError as err:
        raise ApiError(str(err), status=404) from None
    return _json(_version(request, version))


#: The base recipe of recommendations when the server was given none: the calculator's
#: default (the ARTISTIC NMC111 cathode, as the simulated line's example).
DEFAULT_RECIPE = Path_(__file__).parents[1] / "web" / "default_recipe.yaml"


def _base_recipe(request: Request) -> Any:
    recipe = getattr(request.app.state, "recipe", None)
    if recipe is None:
        from twinline.spec.recipe import load_recipe

        recipe = request.app.state.recipe = load_recipe(DEFAULT_RECIPE)
    return recipe


def _recommend(request: Request, req: RecommendRequest) -> dict[str, Any]:
    from twinline.twin.errors import StoreError
    from twinline.twin.recommend import parse_window, recommend

    store = request.app.state.store
    if req.object is not None:
        if store is None:
            _store(request)
        try:
            store.trace(req.object)
        except StoreError as err:
            raise ApiError(str(err), status=404) from None
    base = _base_recipe(request)
    windows = dict(parse_window(w) for w in req.windows)
    rec = recommend(
        base,
        req.targets,
        adjust=req.adjust,
        store=store,
        object_id=req.object,
        windows=windows,
        samples=req.samples,
        seed=req.seed,
    )
    return rec.to_dict() | {"recipe": base.name}


@router.post(
    "/twin/recommend",
    response_model=RecommendationOut,
    summary="Settings for the next object that reach target outputs (calibrated twin)",
)
async def recommend(request: Request, req: RecommendRequest) -> Any:
    """``twinline twin recommend``: the active calibration applied to the object's effective
    settings (or the base recipe), a bounded least-squares solve over the adjusted settings,
    every output predicted there with its uncertainty; an unreachable target is refused with
    the reason (``reachable`` false, ``messages``). Reads only: no token needed. The base
    recipe is the server's (the calculator's default recipe when it has none)."""
    return _json(await run_in_threadpool(_recommend, request, req))
