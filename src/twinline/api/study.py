"""The study and design page: ``/study``, ``POST /ui/study/run`` and ``POST
/ui/study/{job_id}/design``.

* A *reduced* calendering study (:func:`twinline.learn.study.run_study`: the in-silico
  NMC111 calendering design of Duquesnoy et al. 2020 on a Latin hypercube of a few points,
  a small box, one replicate) runs as a job of the server's queue
  (:class:`twinline.api.jobs.JobQueue`); the page polls ``/api/v1/jobs/{id}`` for its
  progress. Its result: the surrogates' R² table, the interpretable equations, the Sobol
  indices (a Plotly bar chart) and what the design form needs (inputs with bounds, outputs
  with units).
* Inverse design (:func:`twinline.learn.inverse.optimise`, NSGA-II) runs on the study's best
  surrogate against targets entered in the form (the targets file's structure, values with
  units), bounds clipped to the surrogate's training range; the answer holds the best
  compromise, the Pareto front and every trial (SI, with the display units).

The study's folder (dataset and surrogates) lives in a temporary folder of the server
process, removed when it exits.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from twinline.api.models import ErrorBody, JobOut
from twinline.spec.errors import TwinlineError

router = APIRouter(tags=["pages"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a body that is not what the page sends"},
    404: {"model": ErrorBody, "description": "unknown or unfinished study"},
    409: {"model": ErrorBody, "description": "a study is already queued or running"},
    422: {"model": ErrorBody, "description": "bad input (one-line message)"},
    503: {"model": ErrorBody, "description": "job queue full"},
}

#: Surrogates of a reduced study: a GP and an MLP. Gradient boosting is left out: with the
#: few training points of a reduced study (< 10) its trees cannot split (scikit-learn's
#: min_samples_split 2 per leaf after subsampling) and it predicts a constant, which would
#: make every Sobol index 0 when it scores best (measured: 6 points, R² -0.0008).
KINDS = ("gp", "mlp")
#: Display unit and scale (display = scale · SI) of the study's quantities.
DISPLAY: dict[str, tuple[str, float]] = {"thickness": ("µm", 1e6), "pressure": ("MPa", 1e-6)}


class StudyRequest(BaseModel):
    """A reduced calendering study (units in the names); bounded so that one takes about a
    minute on two cores (the full study is ``twinline study``)."""

    points: int = Field(
        8, ge=4, le=24, description="training points (Latin hypercube); as many validation points"
    )
    replicates: int = Field(1, ge=1, le=2, description="structures per point, averaged")
    voxel_um: float = Field(
        1.0, ge=1.0, le=5.0,
        description="voxel edge [µm] (1 µm: the generator's calibration resolution; coarser "
        "voxels close the pores of dense electrodes, σ_eff then 0)",
    )
    box_um: float = Field(20.0, ge=12.0, le=30.0, description="in-plane box edge [µm]")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed")


class DesignRequest(BaseModel):
    """Targets of an inverse design (the targets file's structure; values with units,
    e.g. ``"80 um"``; a bare number is dimensionless)."""

    parameters: dict[str, list[str | float]] = Field(
        max_length=10,
        description="input → [low, high]",
        examples=[{"pressure": ["20 MPa", "170 MPa"]}],
    )
    objectives: dict[str, str | dict[str, str | float]] = Field(
        max_length=8,
        description="output → max | min | {target, tolerance}",
        examples=[{"porosity": {"target": 0.3, "tolerance": 0.01}, "sigma_eff": "max"}],
    )
    constraints: dict[str, dict[str, str | float]] = Field(
        default_factory=dict, max_length=8, description="output → {min, max}"
    )
    trials: int = Field(600, ge=16, le=3000)
    seed: int = Field(0, ge=0, le=2**31 - 1)


class DesignOut(BaseModel):
    """Result of an inverse design on the study's surrogate (SI values)."""

    surrogate: str
    notes: list[str] = Field(description="bounds clipped to the training range")
    best: dict[str, float | None]
    front: list[dict[str, Any]]
    trials: list[dict[str, Any]] = Field(description="every trial: inputs, outputs, feasible")
    objectives: list[dict[str, Any]]
    units: dict[str, dict[str, Any]] = Field(description="name → unit (SI), display_unit, scale")
    wall_s: float


def _folder(request: Request) -> Path:
    """The server's folder of studies (a temporary folder, created on first use)."""
    tmp = getattr(request.app.state, "studies", None)
    if tmp is None:
        tmp = tempfile.TemporaryDirectory(prefix="twinline-studies-")
        request.app.state.studies = tmp
    return Path(tmp.name)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _units(names: list[str]) -> dict[str, dict[str, Any]]:
    from twinline.learn.study import INPUTS, OUTPUTS

    si = {p.name: p.unit for p in INPUTS} | {k: v[0] for k, v in OUTPUTS.items()}
    out = {}
    for n in names:
        unit = si.get(n, "")
        shown, scale = DISPLAY.get(n, (unit or "-", 1.0))
        out[n] = {
            "unit": unit,
            "display_unit": shown,
            "scale": scale,
            "label": OUTPUTS[n][1] if n in OUTPUTS else n,
        }
    return out


def study_result(res: Any) -> dict[str, Any]:
    """What the page shows of a :class:`~twinline.learn.study.StudyResult` (JSON)."""
    from twinline.learn.study import INPUTS, OUTPUTS
    from twinline.report import learn_figures as lf

    summary = res.summary
    scores = []
    for kind, sc in summary["scores"].items():
        for o, m in sc["test"].items():
            v = (sc["validation"] or {}).get(o, {})
            scores.append(
                {
                    "surrogate": kind,
                    "output": o,
                    "label": OUTPUTS[o][1],
                    "test_r2": _num(m.get("r2")),
                    "test_mape": _num(m.get("mape")),
                    "validation_r2": _num(v.get("r2")),
                    "validation_mape": _num(v.get("mape")),
                }
            )
    equations = [
        {
            "output": k,
            "equation": e["equation"],
            "r2": _num(e.get("r2")),
            "rmse": _num(e.get("rmse")),
        }
        for k, e in summary["equations"].items()
    ]
    labels = {k: v[1] for k, v in OUTPUTS.items()}
    fig = lf.sobol_figure(res.sobol, labels)
    short = {"am_mass_fraction": "AM fraction", "porosity_before": "ε before"}
    fig.for_each_trace(lambda t: t.update(x=[short.get(x, x) for x in t.x]))
    rows = -(-len(res.sobol.outputs) // 4)
    fig.update_layout(
        height=290 * rows + 60,
        margin=dict(l=60, r=10, t=40, b=60),
        legend=dict(orientation="h", x=0.5, xanchor="center", y=-0.06, yanchor="top"),
    )
    fig.update_xaxes(tickangle=0, tickfont_size=10)
    fig.update_annotations(font_size=12)
    sobol = json.loads(fig.to_json())
    outputs = list(res.surrogate.outputs)
    return {
        "best_surrogate": summary["best_surrogate"],
        "n_train": summary["n_train"],
        "n_validation": summary["n_validation"],
        "points": summary["points"],
        "replicates": summary["replicates"],
        "voxel_um": summary["voxel_size_m"] * 1e6,
        "not_learned": summary["not_learned"],
        "scores": scores,
        "equations": equations,
        "sobol_figure": sobol,
        "inputs": [{"name": p.name, "low": p.low, "high": p.high} for p in INPUTS],
        "outputs": outputs,
        "units": _units([p.name for p in INPUTS] + outputs),
        "campaign_s": _num(summary["timing"].get("campaign_s")),
        "fit_s": _num(summary["timing"].get("fit_s")),
    }


@router.post(
    "/ui/study/run",
    response_model=JobOut,
    status_code=202,
    responses=_ERRORS,
    summary="Launch a reduced calendering study as a job (poll /api/v1/jobs/{id})",
)
def study_run(req: StudyRequest, request: Request) -> Any:
    """Queue :func:`twinline.learn.study.run_study` with the request's size; the job's result
    is what the page shows (R² table, equations, Sobol figure)."""
    from fastapi.responses import JSONResponse

    from twinline.api.jobs import new_id
    from twinline.api.routes.jobs import job_out

    # one study at a time: it takes the job queue's worker for a minute or more
    running = getattr(request.app.state, "study_job", None)
    if running is not None:
        from twinline.api.errors import ApiError

        try:
            state = request.app.state.jobs.get(running).state
        except ApiError:
            state = "gone"
        if state in ("queued", "running"):
            raise ApiError(
                f"study {running} is {state}; one study runs at a time: poll "
                f"/api/v1/jobs/{running} and start the next when it is done",
                status=409,
            )
    job_id = new_id()
    folder = _folder(request) / job_id

    def work(progress: Any) -> dict[str, Any]:
        from twinline.learn.study import run_study

        def step(done: int, total: int) -> None:
            progress(f"structures {done}/{total}", 0.85 * done / max(total, 1))

        progress("campaign", 0.0)
        res = run_study(
            folder,
            points=req.points,
            replicates=req.replicates,
            voxel_size=req.voxel_um * 1e-6,
            box_xy=req.box_um * 1e-6,
            seed=req.seed,
            progress=step,
            sobol_n=256,
            processes=False,
            kinds=KINDS,
        )
        progress("learning", 0.95)
        return study_result(res) | {"study": job_id}

    job = request.app.state.jobs.submit("study", work, params=req.model_dump(), job_id=job_id)
    request.app.state.study_job = job.id
    return JSONResponse(job_out(job), status_code=202)


def _records(frame: Any, names: list[str]) -> list[dict[str, Any]]:
    cols = [c for c in names if c in frame.columns]
    rows = frame[cols].to_dict(orient="records")
    extra = {"feasible", "extrapolation"} & set(frame.columns)
    out = []
    for i, r in enumerate(rows):
        d = {k: _num(v) for k, v in r.items()}
        for k in extra:
            v = frame[k].iloc[i]
            d[k] = bool(v) if k == "feasible" else str(v)
        out.append(d)
    return out


def _design(folder: Path, req: DesignRequest) -> dict[str, Any]:
    from twinline.learn.inverse import (
        limit_to_training_range,
        optimise,
        parse_targets,
        surrogate_predictor,
    )
    from twinline.learn.surrogate import load_surrogate

    summary = json.loads((folder / "summary.json").read_text("utf-8"))
    kind = summary["best_surrogate"]
    sur = load_surrogate(folder / "surrogates" / f"{kind}.joblib")
    problem = parse_targets(req.model_dump(), "targets")
    unknown = [k for k in problem.bounds if k not in sur.bounds]
    unknown += [k for k in problem.outputs if k not in sur.outputs]
    if unknown:
        raise TwinlineError(
            f"targets: {unknown[0]!r} is not a quantity of the study's "
            f"surrogate; allowed: inputs {sorted(sur.bounds)}, outputs "
            f"{list(sur.outputs)}"
        )
    trained = dict(sur.bounds)
    notes = limit_to_training_range(problem, trained)
    fixed = {k: 0.5 * (lo + hi) for k, (lo, hi) in sur.bounds.items() if k not in problem.bounds}
    res = optimise(problem, surrogate_predictor(sur, fixed=fixed), trained=trained)
    names = list(problem.bounds) + [o for o in sur.outputs]
    return {
        "surrogate": kind,
        "notes": notes,
        "best": {k: _num(v) for k, v in res.best.items()},
        "front": _records(res.front, names),
        "trials": _records(res.trials, names),
        "objectives": [
            {"name": o.name, "kind": o.kind, "target": o.target, "tolerance": o.tolerance}
            for o in problem.objectives
        ],
        "units": _units(names),
        "wall_s": float(res.wall_s),
    }


@router.post(
    "/ui/study/{job_id}/design",
    response_model=DesignOut,
    responses=_ERRORS,
    summary="Inverse design on a finished study's best surrogate",
)
async def study_design(job_id: str, req: DesignRequest, request: Request) -> Any:
    """Targets → the Pareto front of the settings that meet them (NSGA-II on the study's
    surrogate; bounds clipped to its training range)."""
    import re

    if not re.fullmatch(r"[0-9a-f]{32}", job_id):
        raise HTTPException(
            status_code=404, detail=f"study {job_id[:40]!r} is not known; run a study first"
        )
    folder = _folder(request) / job_id
    if not (folder / "summary.json").is_file():
        raise HTTPException(
            status_code=404,
            detail=f"study {job_id} has no result on this "
            "server (not finished, or the server was "
            "restarted); run the study again",
        )
    try:
        return await run_in_threadpool(_design, folder, req)
    except TwinlineError as err:
        from twinline.spec.errors import one_line

        raise HTTPException(status_code=422, detail=one_line(str(err))) from None
