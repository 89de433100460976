"""Run endpoints: the process chain over HTTP.

``POST /runs`` takes a recipe (JSON, or YAML text as ``application/yaml``/``text/yaml``),
validates it like ``twinline run`` and runs the chain. A fast deterministic run (no 3D
structure, no cell, Monte Carlo below :data:`LONG_SAMPLES` samples) answers 200 with the Run
record; a long one answers 202 with a job to poll (``GET /jobs/{id}``), whose result names
the run. ``GET /runs/{id}``, ``/runs/{id}/report`` (HTML) and ``/runs/{id}/structure.tif``
read a finished run. ``POST /structure`` generates and analyses the 3D image of a recipe's
calendered electrode (a job); ``POST /structure/analyse`` analyses an uploaded label image.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from typing import Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from twinline.api.errors import ApiError
from twinline.api.models import (
    ERRORS,
    WRITE_ERRORS,
    JobOut,
    RunOut,
    StructureResult,
    errors_as_json,
)
from twinline.api.routes import WRITE
from twinline.api.routes.jobs import job_out
from twinline.spec.errors import quote

router = APIRouter(tags=["runs"], responses=ERRORS)

#: Monte Carlo runs with at least this many samples become jobs.
LONG_SAMPLES = 10_000
#: Most Monte Carlo samples one request may ask for (memory ~0.6 GB per electrode).
MAX_SAMPLES = 1_000_000
#: Content types read as YAML text.
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")

_RECIPE_BODY = {
    "required": True,
    "description": "a recipe as JSON (the JSON Schema at /api/v1/schema/recipe) or as YAML "
                   "text (application/yaml, text/yaml); at most 1 MiB",
    "content": {"application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
                "text/yaml": {"schema": {"type": "string"}}},
}


class RunCache:
    """The last ``size`` finished runs in memory: id → (Run, recipe, materials, TIFF bytes)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._runs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, run_id: str, **entry: Any) -> None:
        with self._lock:
            self._runs[run_id] = entry
            self._runs.move_to_end(run_id)
            while len(self._runs) > self.size:
                self._runs.popitem(last=False)

    def get(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._runs.get(run_id)


# ------------------------------------------------------------------------------ recipes
def parse_recipe_body(body: bytes, content_type: str | None) -> Any:
    """The :class:`~twinline.spec.recipe.Recipe` of a request body (JSON or YAML)."""
    from twinline.spec.errors import RecipeError
    from twinline.spec.recipe import parse_recipe
    from twinline.spec.yamlfile import parse_yaml

    origin = "request body"
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in YAML_TYPES:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RecipeError(f"{origin}: not UTF-8 text (byte {err.start})") from None
        data = parse_yaml(text, origin, error=RecipeError)
    elif ctype in ("application/json", ""):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as err:
            where = (f" (line {err.lineno}, column {err.colno}: {err.msg})"
                     if isinstance(err, json.JSONDecodeError) else "")
            raise RecipeError(f"{origin}: not valid JSON{where}") from None
    else:
        raise ApiError(f"Content-Type {quote(ctype)}: a recipe is application/json or "
                       f"application/yaml (text/yaml)", status=415)
    recipe = parse_recipe(data, origin)
    if recipe.materials_files:
        raise RecipeError(f"{origin}: materials_files = {quote(recipe.materials_files)}: the "
                          "server reads no files named in a recipe; allowed: [] (the built-in "
                          "material library)")
    return recipe


def _recipe_data(recipe: Any) -> dict[str, Any]:
    return json.loads(recipe.model_dump_json(exclude_none=False))


async def _read_recipe(request: Request) -> Any:
    body = await request.body()
    return await run_in_threadpool(parse_recipe_body, body, request.headers.get("content-type"))


# ------------------------------------------------------------------------------ runs
def run_urls(run_id: str, *, structure: bool) -> dict[str, Any]:
    base = f"/api/v1/runs/{run_id}"
    return {"id": run_id, "url": base, "report_url": f"{base}/report",
            "structure_url": f"{base}/structure.tif" if structure else None}


def _tiff_bytes(mesostructure: Any) -> bytes:
    import tempfile
    from pathlib import Path

    from twinline.structure.io import save

    with tempfile.TemporaryDirectory(prefix="twinline-tif-") as tmp:
        path = save(Path(tmp) / "structure.tif", mesostructure)
        return path.read_bytes()


def _do_run(recipe: Any, *, samples: int, seed: int, structure: bool, cell: bool,
            progress: Any = None) -> tuple[Any, Any, bytes | None]:
    from twinline.chain import resolve_materials, run_chain

    lib = resolve_materials(recipe)
    run = run_chain(recipe, materials=lib, structure=structure, cell=cell, seed=seed,
                    samples=samples, progress=progress)
    tiff = None
    if structure and run.mesostructures:
        tiff = _tiff_bytes(next(iter(run.mesostructures.values())))
    return run, lib, tiff


@router.post("/runs", response_model=RunOut, dependencies=WRITE,
             responses={**WRITE_ERRORS, 202: {"model": JobOut,
                                              "description": "a long run: a job to poll"},
                        415: {"description": "not JSON or YAML"}},
             openapi_extra={"requestBody": _RECIPE_BODY},
             summary="Run the process chain on a recipe")
async def post_run(
    request: Request,
    samples: int = Query(0, ge=0, le=MAX_SAMPLES, description="Monte Carlo samples of the "
                         f"machine tolerances (>= {LONG_SAMPLES}: a job)"),
    seed: int = Query(0, ge=0, le=2**32 - 1, description="random seed (Monte Carlo, 3D)"),
    structure: bool = Query(False, description="generate and analyse a 3D cathode "
                            "structure (a job)"),
    cell: bool = Query(False, description="simulate the cell with PyBaMM (a job)"),
) -> Any:
    """Validate and run a recipe (``twinline run``): 200 with the Run record, or 202 with a
    job for a long run (3D structure, cell, Monte Carlo >= 10 000 samples)."""
    app = request.app
    if not (structure or cell or samples >= LONG_SAMPLES):
        body = await request.body()
        return await run_in_threadpool(_fast_run, app, body,
                                       request.headers.get("content-type"), samples=samples,
                                       seed=seed)
    recipe = await _read_recipe(request)
    params = {"recipe": _recipe_data(recipe), "samples": samples, "seed": seed,
              "structure": structure, "cell": cell}
    from twinline.api.jobs import new_id

    run_id = new_id()

    def work(progress: Any) -> dict[str, Any]:
        run, lib, tiff = _do_run(recipe, samples=samples, seed=seed, structure=structure,
                                 cell=cell, progress=progress)
        app.state.runs.put(run_id, run=run, recipe=recipe, lib=lib, tiff=tiff)
        return {**run_urls(run_id, structure=tiff is not None), "run": run.to_jsonable()}

    job = app.state.jobs.submit("run", work, params=params, job_id=run_id)
    return JSONResponse(job_out(job), status_code=202,
                        headers={"Location": f"/api/v1/jobs/{job.id}"})


def _fast_run(app: Any, body: bytes, content_type: str | None, *, samples: int,
              seed: int) -> JSONResponse:
    """A fast run answered in the request, all in one worker thread (parse, run, the store's
    ``jobs`` row, the JSON): the event loop only reads the body and sends the answer."""
    from twinline.api.jobs import new_id

    recipe = parse_recipe_body(body, content_type)
    params = {"recipe": _recipe_data(recipe), "samples": samples, "seed": seed,
              "structure": False, "cell": False}
    run, lib, _ = _do_run(recipe, samples=samples, seed=seed, structure=False, cell=False)
    run_id = new_id()
    out = {**run_urls(run_id, structure=False), "run": run.to_jsonable()}
    app.state.runs.put(run_id, run=run, recipe=recipe, lib=lib, tiff=None)
    app.state.jobs.record("run", out, params=params, job_id=run_id)
    return JSONResponse(out)


def _finished(request: Request, run_id: str) -> dict[str, Any]:
    """The finished run ``run_id``: the memory entry, else rebuilt from the database."""
    cached = request.app.state.runs.get(run_id)
    if cached is not None:
        return cached
    job = request.app.state.jobs.get(run_id)   # 404 if unknown
    if job.state in ("queued", "running"):
        raise ApiError(f"run {quote(run_id)} is not finished (job {job.state}, "
                       f"{job.progress:.0%}); poll /api/v1/jobs/{run_id}", status=409)
    if job.state == "failed":
        raise ApiError(f"run {quote(run_id)} failed: {job.message}", status=409)
    if job.kind != "run" or not job.result or "run" not in job.result:
        raise ApiError(f"{quote(run_id)} is a {job.kind} job, not a run", status=404)
    from twinline.chain.record import Run
    from twinline.spec.recipe import parse_recipe

    run = Run.from_dict(job.result["run"])
    recipe = parse_recipe(job.params.get("recipe"), "stored recipe")
    return {"run": run, "recipe": recipe, "lib": None, "tiff": None, "stored": True}


@router.get("/runs/{run_id}", response_model=RunOut, responses={409: WRITE_ERRORS[409]},
            summary="A finished run's record")
def get_run(request: Request, run_id: str) -> Any:
    """The Run record of a finished run (409 while its job runs)."""
    entry = _finished(request, run_id)
    run = entry["run"]
    return JSONResponse({**run_urls(run_id, structure=entry.get("tiff") is not None),
                         "run": run.to_jsonable()})


@router.get("/runs/{run_id}/report", response_class=HTMLResponse,
            responses=errors_as_json(400, 404, 409, 422, 500), summary="A run's HTML report")
def get_report(request: Request, run_id: str) -> HTMLResponse:
    """The HTML report of ``twinline run`` (key results, warnings, step plots)."""
    from twinline.report.html import build_report

    entry = _finished(request, run_id)
    return HTMLResponse(build_report(entry["run"], entry["recipe"], entry["lib"]))


@router.get("/runs/{run_id}/structure.tif", response_class=Response,
            responses={200: {"content": {"image/tiff": {"schema": {"type": "string",
                                                                   "format": "binary"}}}},
                       **errors_as_json(400, 404, 409, 422, 500)},
            summary="A run's 3D structure as a TIFF label image")
def get_structure_tif(request: Request, run_id: str) -> Response:
    """The labelled 3D image (0 pore, 1 AM, 2 CBD; voxel size in the ImageJ metadata)."""
    entry = _finished(request, run_id)
    if entry.get("tiff") is None:
        why = ("the server keeps 3D images in memory only and was restarted or has dropped "
               "it" if entry.get("stored") else "the run has no 3D structure (structure=true)")
        raise ApiError(f"run {quote(run_id)}: no structure image: {why}", status=404)
    return Response(entry["tiff"], media_type="image/tiff",
                    headers={"Content-Disposition":
                             f'attachment; filename="structure-{run_id}.tif"'})


# ------------------------------------------------------------------------------ structure
def _length(text: str, name: str) -> float:
    """A length query parameter (``0.5 um``) in metres, finite and > 0."""
    from twinline.spec.errors import RecipeError, StructureError
    from twinline.spec.units import parse_quantity

    try:
        float(text)
    except ValueError:
        pass
    else:
        raise StructureError(f"{name} = {quote(text)} has no unit; give a length, e.g. "
                             f"{name}={text.strip()} um")
    try:
        x = parse_quantity(text, "m", name=name)
    except RecipeError as err:
        raise StructureError(f"{err} (e.g. {name}=0.5 um)") from None
    if not (math.isfinite(x) and x > 0):
        raise StructureError(f"{name} = {quote(text)} must be a finite length > 0 m, e.g. "
                             f"{name}=0.5 um")
    return x


def _analysis_dict(res: Any) -> dict[str, Any]:
    return json.loads(json.dumps(res.to_dict(), default=str))


@router.post("/structure", status_code=202, response_model=JobOut, dependencies=WRITE,
             responses={**WRITE_ERRORS, 200: {"model": StructureResult,
                                              "description": "(the job's result)"},
                        415: {"description": "not JSON or YAML"}},
             openapi_extra={"requestBody": _RECIPE_BODY},
             summary="Generate and analyse the 3D structure of a recipe's electrode (a job)")
async def post_structure(
    request: Request,
    electrode: Literal["cathode", "anode"] = Query("cathode"),
    voxel: str = Query("0.5 um", max_length=50, description="voxel edge, e.g. '0.5 um'"),
    box: str = Query("50 um", max_length=50, description="in-plane box edge, e.g. '50 um'"),
    seed: int = Query(0, ge=0, le=2**32 - 1, description="random seed (same seed, same "
                      "image)"),
) -> Any:
    """Run the recipe's electrode chain, generate the calendered electrode's 3D image
    (``twinline structure generate --recipe``) and analyse it; the job's result is the
    analysis and the TIFF's URL (``/runs/{id}/structure.tif``)."""
    from twinline.spec.errors import StructureError

    recipe = await _read_recipe(request)
    h, bxy = _length(voxel, "voxel"), _length(box, "box")
    if electrode not in recipe.electrodes():
        raise StructureError(f"electrode = {quote(electrode)} is not in the recipe; allowed: "
                             f"{sorted(recipe.electrodes())}")
    if bxy / h > 400:
        raise StructureError(f"box/voxel = {bxy / h:.0f} voxels per edge is too large; "
                             "allowed: <= 400")
    app = request.app
    from twinline.api.jobs import new_id

    run_id = new_id()

    def work(progress: Any) -> dict[str, Any]:
        from twinline.chain import resolve_materials, run_chain
        from twinline.structure.analyse import analyse
        from twinline.structure.generate import from_calendered

        progress("chain", 0.02)
        lib = resolve_materials(recipe)
        run = run_chain(recipe, materials=lib, seed=seed)
        progress("generating the 3D structure", 0.1)
        m = from_calendered(run.products[electrode]["calendered"], voxel_size=h, box_xy=bxy,
                            seed=seed)
        progress("analysing the 3D structure", 0.5)
        res = analyse(m, electrolyte="LP30")
        tiff = _tiff_bytes(m)
        app.state.runs.put(run_id, run=run, recipe=recipe, lib=lib, tiff=tiff)
        return {"analysis": _analysis_dict(res),
                "tiff_url": f"/api/v1/runs/{run_id}/structure.tif",
                "shape": list(m.shape), "voxel_size_m": m.voxel_size}

    params = {"recipe": _recipe_data(recipe), "electrode": electrode, "voxel": voxel,
              "box": box, "seed": seed}
    job = app.state.jobs.submit("structure", work, params=params, job_id=run_id)
    return JSONResponse(job_out(job), status_code=202,
                        headers={"Location": f"/api/v1/jobs/{job.id}"})


@router.post("/structure/analyse", status_code=202, response_model=JobOut,
             dependencies=WRITE, responses=WRITE_ERRORS,
             summary="Analyse an uploaded 3D label image (TIFF; a job)")
async def post_structure_analyse(
    request: Request,
    file: UploadFile = File(..., description="label image (.tif): 0 pore, 1 AM, 2 CBD; "
                            "at most 50 MiB"),
    voxel: str | None = Query(None, max_length=50, description="voxel edge, e.g. '0.5 um' "
                              "(default: from the file)"),
) -> Any:
    """``twinline structure analyse``: tortuosity factors, σ_eff, coverage ... of an image."""
    import tempfile
    from pathlib import Path

    from twinline.spec.errors import StructureError

    h = _length(voxel, "voxel") if voxel is not None else None
    data = await file.read()
    name = Path(file.filename or "upload.tif").name or "upload.tif"
    if Path(name).suffix.lower() not in (".tif", ".tiff"):
        raise StructureError(f"file {quote(name)}: not a TIFF; allowed: .tif, .tiff")

    def load() -> Any:
        from twinline.structure.io import load as load_image

        with tempfile.TemporaryDirectory(prefix="twinline-up-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            m = load_image(path, voxel_size=h)
        if not m.voxel_size == m.voxel_size:
            raise StructureError(f"{name} does not store a voxel size; give voxel, e.g. "
                                 "voxel=0.5 um")
        return m

    m = await run_in_threadpool(load)

    def work(progress: Any) -> dict[str, Any]:
        from twinline.structure.analyse import analyse

        progress("analysing the 3D structure", 0.1)
        res = analyse(m, electrolyte="LP30")
        return {"analysis": _analysis_dict(res), "tiff_url": None, "shape": list(m.shape),
                "voxel_size_m": m.voxel_size}

    job = request.app.state.jobs.submit("analyse", work,
                                        params={"file": name, "voxel": voxel})
    return JSONResponse(job_out(job), status_code=202,
                        headers={"Location": f"/api/v1/jobs/{job.id}"})
