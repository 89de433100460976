"""The browser pages of ``twinline serve``: calculator, catalogue explorer, 3D viewer.

:data:`router` is a FastAPI :class:`~fastapi.APIRouter` that the app factory
(:func:`twinline.api.app.create_app`) includes, together with the static files of
:data:`STATIC_DIR` at ``/static``. Pages are rendered on the server (Jinja2 templates in
``web/templates``) and made interactive with small vanilla-JS files in ``web/static``; the
small JSON endpoints they call live here under ``/ui/...`` (part of the OpenAPI document,
tagged ``pages``). Nothing is fetched from a CDN: Plotly's JavaScript is served from the
installed ``plotly`` package at ``/ui/plotly.min.js``.

Pages:

* ``/`` — index;
* ``/calculator`` — the recipe as a form grouped by step (units, ranges and defaults from
  the recipe schema, :mod:`twinline.api.forms`), run on the server with
  :func:`twinline.chain.run_chain`, results inline (key outputs with units, warnings, every
  output, the step figures of :mod:`twinline.report.figures`), recipe YAML upload/download;
* ``/explorer`` — the parameter catalogue (:func:`twinline.spec.catalogue.catalogue`) as a
  filterable table, CSV and JSON-LD downloads (:mod:`twinline.spec.export`);
* ``/viewer`` — a generated or uploaded 3D electrode (:mod:`twinline.api.viewer`):
  orthogonal slices with a slider, a 3D view of the solid phases, its analysis, TIFF download;
* ``/study`` and ``/line`` — placeholders naming the CLI verbs that do the work today.

Bad input answers 422 with ``{"error": "<one-line message>"}`` (the CLI's message; the app's
error body, :class:`twinline.api.models.ErrorBody`); the
pages show it in place.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from twinline.api import forms
from twinline.api import viewer as V
from twinline.api.models import ErrorBody
from twinline.spec.errors import TwinlineError

#: Folder of the pages' CSS and JavaScript (mounted at ``/static`` by the app factory).
STATIC_DIR = Path(__file__).parent / "web" / "static"
TEMPLATE_DIR = Path(__file__).parent / "web" / "templates"
#: Largest recipe upload [bytes] (the CLI's YAML limit).
MAX_RECIPE_BYTES = 1 << 20
#: Largest TIFF upload [bytes].
MAX_TIFF_BYTES = 64 << 20

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def pretty_unit(unit: str | None) -> str:
    """A pint unit as people write it: ``um`` → ``µm``, ``degC`` → ``°C``, ``m^3/s`` →
    ``m³/s``, ``percent`` → ``%``, ``mA*h`` → ``mA·h``; ``""`` (dimensionless) → ``–``."""
    if not unit or unit == "-":
        return "–"
    text = unit.replace("degC", "°C").replace("percent", "%").replace("*", "·")
    text = re.sub(r"\bum\b", "µm", text)
    return text.replace("^2", "²").replace("^3", "³").replace("^-1", "⁻¹")


templates.env.filters["unit"] = pretty_unit
structures = V.StructureCache()

PAGES = (("/calculator", "Calculator"), ("/explorer", "Catalogue"), ("/viewer", "3D viewer"),
         ("/study", "Study"), ("/line", "Line"))


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a body that is not what the page sends"},
    413: {"model": ErrorBody, "description": "a body over the size limit"},
    422: {"model": ErrorBody, "description": "bad input (one-line message)"}}


def _refuse(err: Exception, status: int = 422) -> HTTPException:
    from twinline.spec.errors import one_line

    return HTTPException(status_code=status, detail=one_line(str(err)))


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"pages": PAGES, **context})


# -- pages --------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse, summary="Index of the browser pages")
def index(request: Request) -> HTMLResponse:
    return _page(request, "index.html", path="/")


@router.get("/calculator", response_class=HTMLResponse, summary="The online calculator")
def calculator(request: Request) -> HTMLResponse:
    from twinline.materials import builtin_library

    return _page(request, "calculator.html", path="/calculator", groups=forms.form_groups(),
                 materials=sorted(builtin_library()))


@router.get("/explorer", response_class=HTMLResponse,
            summary="The parameter catalogue as an interactive table")
def explorer(request: Request) -> HTMLResponse:
    from twinline.spec.catalogue import catalogue

    params = list(catalogue().values())
    steps = list(dict.fromkeys(p.step for p in params))
    return _page(request, "explorer.html", path="/explorer", params=params, steps=steps,
                 categories=sorted({p.category for p in params}))


@router.get("/viewer", response_class=HTMLResponse, summary="The 3D structure viewer")
def viewer_page(request: Request) -> HTMLResponse:
    return _page(request, "viewer.html", path="/viewer")


@router.get("/study", response_class=HTMLResponse, summary="Study and design (not yet)")
def study(request: Request) -> HTMLResponse:
    return _page(request, "later.html", path="/study", title="Study and design",
                 verbs=["twinline learn study RECIPE --out DIR",
                        "twinline learn design TARGETS --out DIR"])


@router.get("/line", response_class=HTMLResponse, summary="Line dashboard (not yet)")
def line(request: Request) -> HTMLResponse:
    return _page(request, "later.html", path="/line", title="Line dashboard",
                 verbs=["twinline line simulate --db DB", "twinline spc --db DB"])


@router.get("/ui/plotly.min.js", summary="Plotly's JavaScript, from the installed package",
            response_class=FileResponse)
def plotly_js() -> FileResponse:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


# -- calculator ---------------------------------------------------------------------------
class RecipeForm(BaseModel):
    """Form values: recipe path → value with its unit (``"cathode.coating.gap": "300 um"``)."""

    values: dict[str, str | float | int | bool | None] = Field(
        max_length=forms.MAX_FIELDS,
        examples=[{"name": "my cathode", "cathode.coating.gap": "280 um"}])


class OutputRow(BaseModel):
    """One output of a run, in its catalogue unit."""

    id: str
    value: float | None
    std: float | None = None
    unit: str


class CalculatorResult(BaseModel):
    """A calculator run: key outputs, every output, warnings, Plotly figures (JSON)."""

    recipe_name: str
    key: list[OutputRow]
    outputs: list[OutputRow]
    warnings: list[str]
    figures: list[dict[str, Any]]
    notes: list[str]
    seconds: float


def _recipe(values: dict[str, Any]) -> Any:
    from twinline.spec.recipe import parse_recipe

    return parse_recipe(forms.recipe_data(values), origin="form")


def _row(key: str, o: dict[str, Any]) -> OutputRow:
    def num(x: Any) -> float | None:
        return float(f"{x:.6g}") if isinstance(x, int | float) and x == x and abs(x) != \
            float("inf") else None

    return OutputRow(id=key, value=num(o.get("value")), std=num(o.get("std")),
                     unit=o.get("unit") or "-")


@router.post("/ui/calculator/run", response_model=CalculatorResult, responses=_ERRORS,
             summary="Run the electrode chain for the calculator form")
def calculator_run(form: RecipeForm) -> CalculatorResult:
    """Validate the form as a recipe, run :func:`twinline.chain.run_chain` (deterministic,
    no 3D structure, no cell) and return key outputs, warnings and the step figures."""
    from twinline.chain import POLARITY, run_chain
    from twinline.chain.runner import resolve_materials
    from twinline.report import figures as F
    from twinline.report.html import KEY_OUTPUTS

    try:
        recipe = _recipe(form.values)
        materials = resolve_materials(recipe, None)
        run = run_chain(recipe, materials=materials)
    except TwinlineError as err:
        raise _refuse(err) from None
    key = [_row(f"{e}.{k}", run.outputs[f"{e}.{k}"]) for e in run.products if e in POLARITY
           for k in KEY_OUTPUTS if f"{e}.{k}" in run.outputs]
    figures, notes = [], []
    for name, prods in run.products.items():
        if name not in POLARITY:
            continue
        electrode = getattr(recipe, name)
        for make, args in ((F.viscosity_figure, (prods,)),
                           (F.coating_window_figure, (prods, electrode.coating, materials)),
                           (F.drying_figure, (prods, electrode.drying, materials)),
                           (F.compaction_figure, (prods, electrode.calendering, materials))):
            try:
                fig = make(*args, name=name)
            except TwinlineError as err:
                notes.append(f"{name}: figure not available: {err}")
                continue
            fig.update_layout(height=340, margin=dict(l=60, r=10, t=40, b=50))
            fig.update_yaxes(exponentformat="power")
            figures.append(json.loads(fig.to_json()))
    return CalculatorResult(
        recipe_name=run.recipe_name, key=key,
        outputs=[_row(k, o) for k, o in sorted(run.outputs.items())],
        warnings=list(run.warnings), figures=figures, notes=notes,
        seconds=float(f"{run.timings.get('total', 0.0):.4g}"))


@router.post("/ui/recipe/yaml", responses={200: {"content": {"application/yaml": {}}},
                                          **_ERRORS},
             summary="The calculator form as a recipe YAML file (validated)")
def recipe_yaml(form: RecipeForm) -> Response:
    import yaml

    try:
        data = forms.recipe_data(form.values)
        recipe = _recipe(form.values)
    except TwinlineError as err:
        raise _refuse(err) from None
    text = ("# written by the twinline calculator\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in recipe.name)[:60] or "recipe"
    return Response(text, media_type="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{name}.yaml"'})


async def _read_limited(upload: UploadFile, limit: int, what: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(status_code=413, detail=f"{what} {upload.filename!r} is larger "
                                                    f"than {limit // (1 << 20)} MiB")
    return data


_JSON_ERROR = {"content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/ErrorBody"}}}}


@router.post("/ui/recipe/form", response_class=HTMLResponse,
             responses={400: {"description": "a body that is not a form", **_JSON_ERROR},
                        413: {"description": "upload too large", **_JSON_ERROR},
                        422: {"description": "bad input (one-line message)", **_JSON_ERROR}},
             summary="An uploaded recipe YAML as the calculator's form (HTML fragment)")
async def recipe_form(request: Request, file: UploadFile = File(...)) -> HTMLResponse:
    """Parse the upload with the CLI's bounded YAML loader, validate it as a recipe and
    return the form inputs filled with its values."""
    from twinline.spec.recipe import parse_recipe
    from twinline.spec.yamlfile import parse_yaml

    raw = await _read_limited(file, MAX_RECIPE_BYTES, "recipe")
    origin = Path(file.filename or "upload.yaml").name[:100]
    try:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TwinlineError(f"{origin}: not UTF-8 text") from None
        data = parse_yaml(text, origin)
        parse_recipe(data, origin)
        groups = forms.form_groups(data)
    except TwinlineError as err:
        raise _refuse(err) from None
    return templates.TemplateResponse(request, "_recipe_form.html", {"groups": groups})


# -- explorer -----------------------------------------------------------------------------
@router.get("/ui/catalogue.csv", summary="The catalogue as CSV (download)",
            responses={200: {"content": {"text/csv": {}}}})
def catalogue_csv() -> Response:
    from twinline.spec.export import catalogue_csv as csv_text

    return Response(csv_text(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="catalogue.csv"'})


@router.get("/ui/catalogue.jsonld", summary="The catalogue as JSON-LD (download)",
            responses={200: {"content": {"application/ld+json": {}}}})
def catalogue_jsonld() -> Response:
    from twinline.spec.export import catalogue_jsonld as doc

    return Response(json.dumps(doc(), indent=2, ensure_ascii=False),
                    media_type="application/ld+json",
                    headers={"Content-Disposition": 'attachment; filename="catalogue.jsonld"'})


# -- viewer -------------------------------------------------------------------------------
class GenerateRequest(BaseModel):
    """Settings of a generated electrode (the units are in the names)."""

    porosity_percent: float = Field(35.0, gt=5, lt=95, description="total porosity [%]")
    am_mass_fraction: float = Field(0.96, gt=0.5, le=0.99,
                                    description="active material share of the solid [-]")
    thickness_um: float = Field(40.0, gt=0, le=300, description="coating thickness [µm]")
    voxel_um: float = Field(1.0, ge=0.1, le=10, description="voxel edge [µm]")
    box_um: float = Field(30.0, gt=0, le=300, description="in-plane box edge [µm]")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed")


class AnalysisRow(BaseModel):
    label: str
    value: float | None
    unit: str


class StructureView(BaseModel):
    """An image held by the viewer: id, grid, phase fractions [%], analysis, 3D figure."""

    id: str
    origin: str
    shape: list[int]
    voxel_size_um: float
    size_um: list[float]
    phases: dict[str, float]
    analysis: list[AnalysisRow]
    figure: dict[str, Any]


def _analyse(structure: Any) -> Any:
    from twinline.structure.analyse import analyse

    return analyse(structure, voxel_size=structure.voxel_size, pore_sizes=True)


@router.post("/ui/viewer/generate", response_model=StructureView, responses=_ERRORS,
             summary="Generate and analyse a 3D electrode for the viewer")
def viewer_generate(req: GenerateRequest) -> StructureView:
    try:
        s = V.generate(porosity=req.porosity_percent / 100, am_mass_fraction=req.am_mass_fraction,
                       thickness=req.thickness_um * 1e-6, voxel_size=req.voxel_um * 1e-6,
                       box_xy=req.box_um * 1e-6, seed=req.seed)
        item = structures.add(s, _analyse(s), f"generated (seed {req.seed})")
    except TwinlineError as err:
        raise _refuse(err) from None
    return StructureView(**V.describe(item))


@router.post("/ui/viewer/upload", response_model=StructureView,
             responses={413: {"model": ErrorBody}, **_ERRORS},
             summary="Upload a labelled 3D TIFF (0 pore, 1 AM, 2 CBD) for the viewer")
async def viewer_upload(file: UploadFile = File(...),
                        voxel_um: float | None = Form(None, gt=0, le=100)) -> StructureView:
    from starlette.concurrency import run_in_threadpool

    from twinline.structure.io import load

    raw = await _read_limited(file, MAX_TIFF_BYTES, "TIFF")
    name = Path(file.filename or "upload.tif").name[:100]
    suffix = Path(name).suffix.lower()
    if suffix not in (".tif", ".tiff"):
        raise HTTPException(status_code=422, detail=f"{name}: expected a .tif or .tiff file")

    def work() -> V.ViewedStructure:
        with tempfile.TemporaryDirectory(prefix="twinline-viewer-") as d:
            path = Path(d) / f"upload{suffix}"
            path.write_bytes(raw)
            s = load(path, voxel_size=None if voxel_um is None else voxel_um * 1e-6)
        V.check_size(s.shape)
        return structures.add(s, _analyse(s), name)

    try:
        item = await run_in_threadpool(work)
    except TwinlineError as err:
        raise _refuse(err) from None
    return StructureView(**V.describe(item))


def _held(sid: str) -> V.ViewedStructure:
    item = structures.get(sid)
    if item is None:
        raise HTTPException(status_code=404, detail=f"structure {sid[:40]!r} is not held (the "
                            f"viewer keeps the last {V.CACHE_SIZE}); generate or upload it again")
    return item


@router.get("/ui/viewer/{sid}/slice.png", responses={200: {"content": {"image/png": {}}},
                                                     404: {"model": ErrorBody}, **_ERRORS},
            summary="One slice of a held structure, coloured by phase (PNG)")
def viewer_slice(sid: str, axis: str = Query("z", pattern="^[zyx]$"),
                 index: int = Query(0, ge=0, le=100_000)) -> Response:
    item = _held(sid)
    try:
        data = V.slice_png(item.structure.labels, axis, index)
    except TwinlineError as err:
        raise _refuse(err) from None
    return Response(data, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


@router.get("/ui/viewer/{sid}/structure.tif", responses={200: {"content": {"image/tiff": {}}},
                                                         404: {"model": ErrorBody}},
            summary="A held structure as a labelled 3D TIFF (download)")
def viewer_tiff(sid: str) -> Response:
    from twinline.structure.io import save

    item = _held(sid)
    with tempfile.TemporaryDirectory(prefix="twinline-viewer-") as d:
        path = save(Path(d) / "structure.tif", item.structure)
        data = path.read_bytes()
    return Response(data, media_type="image/tiff",
                    headers={"Content-Disposition": 'attachment; filename="structure.tif"'})

