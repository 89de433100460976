"""Job endpoint: ``GET /jobs/{id}`` — state, progress and result of a long run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from twinline.api.models import ERRORS, JobOut

router = APIRouter(tags=["jobs"], responses=ERRORS)


def job_out(job: Any) -> dict[str, Any]:
    """A :class:`~twinline.api.jobs.Job` as :class:`JobOut`."""
    result_url = None
    if job.state == "done":
        result_url = (f"/api/v1/runs/{job.id}" if job.kind == "run"
                      else f"/api/v1/jobs/{job.id}")
    return {**job.to_dict(), "url": f"/api/v1/jobs/{job.id}", "result_url": result_url}


@router.get("/jobs/{job_id}", response_model=JobOut, summary="A job's state and result")
def get_job(request: Request, job_id: str) -> Any:
    """State (queued, running, done, failed), progress 0..1, the message of a failure, and
    the result once done (a run's record; a structure's analysis and TIFF URL)."""
    return JSONResponse(job_out(request.app.state.jobs.get(job_id)))
