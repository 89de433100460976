"""The FastAPI app of ``twinline serve``: :func:`create_app`.

The REST API lives under ``/api/v1`` (one module per group in :mod:`twinline.api.routes`),
its OpenAPI document at ``/openapi.json`` and interactive docs at ``/docs``. The browser
pages (:mod:`twinline.api.pages`, when installed) and their static files
(``twinline/api/web/static`` at ``/static``) are mounted beside it.

Errors: a :class:`~twinline.spec.errors.TwinlineError` becomes a 4xx JSON body
``{"error": "<the CLI's one-line message>"}`` (:func:`status_of`); a malformed request a 422
with the same ``error`` line plus FastAPI's ``detail``; anything else a generic JSON 500
(logged with its traceback on the server, never sent). A client that hangs up before its
request body arrived is logged in one line, not as a crash.

Speed (``benchmarks/README.md`` "Server"): the middleware is pure ASGI
(:class:`~twinline.api.security.BodyLimit`, no ``BaseHTTPMiddleware``); the immutable reads
(catalogue, schema, materials) are rendered once into ``app.state.answers``
(:mod:`twinline.api.cache`, ETag and 304).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from twinline.api.errors import ApiError
from twinline.spec.errors import TwinlineError

log = logging.getLogger("twinline.api")

API_PREFIX = "/api/v1"
#: Static files of the browser pages.
STATIC_DIR = Path(__file__).with_name("web") / "static"


def status_of(err: TwinlineError) -> int:
    """HTTP status of a library error: 422 for input that cannot be run or stored (recipe,
    material, process, structure, cell, ingestion), 400 for the rest; an
    :class:`ApiError` names its own."""
    from twinline.spec.errors import (
        CellError,
        MaterialError,
        ProcessError,
        RecipeError,
        StructureError,
    )
    from twinline.twin.errors import IngestError

    if isinstance(err, ApiError):
        return err.status
    if isinstance(err, RecipeError | MaterialError | ProcessError | StructureError | CellError
                  | IngestError):
        return 422
    return 400


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    """``{"error": one line, ...}``."""
    from twinline.spec.errors import one_line

    return {"error": one_line(message), **extra}


def _validation_line(err: RequestValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        got = e.get("input")
        shown = ""
        if got is not None and not isinstance(got, dict | list):
            from twinline.spec.errors import quote

            shown = f" (got {quote(got)})"
        parts.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}{shown}")
    return "; ".join(parts) or "invalid request"


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(TwinlineError)
    async def _twinline(_request: Request, err: TwinlineError) -> JSONResponse:
        status = status_of(err)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(str(err)), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, err: RequestValidationError) -> JSONResponse:
        from fastapi.encoders import jsonable_encoder

        detail = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")}
                  for e in err.errors()]
        return JSONResponse(error_body(_validation_line(err), detail=jsonable_encoder(detail)),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(err.detail)), status_code=err.status_code,
                            headers=getattr(err, "headers", None))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _err: ClientDisconnect) -> JSONResponse:
        # nobody reads this answer; a load generator stopping mid-request is not a crash
        log.info("%s %s: the client disconnected before its body arrived", request.method,
                 request.url.path)
        return JSONResponse(error_body("the client disconnected before the request body "
                                       "arrived"), status_code=400)

    @app.exception_handler(Exception)
    async def _crash(request: Request, err: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(error_body("internal error; the server's log has the details"),
                            status_code=500)


def create_app(*, db: str | Path | None = None, token: str | None = None, workers: int = 2,
               max_pending: int = 64, keep_runs: int = 200, recover: bool = True) -> FastAPI:
    """The twinline server app.

    Parameters
    ----------
    db
        The line's database (SQLite path or SQLAlchemy URL, :meth:`Store.open`), created
        when missing; enables the ``/api/v1/line`` endpoints and keeps jobs and runs across
        restarts (jobs found queued/running are marked failed). ``None``: memory only.
    token
        Bearer token of the writes; ``None`` draws a random one (``app.state.token``), so
        that an app is never open for writing by accident.
    workers
        Threads running jobs at once.
    max_pending
        Jobs queued or running before new ones are refused (503).
    keep_runs
        Finished runs kept in memory (report, TIFF); older ones are rebuilt from ``db``.
    recover
        Mark the database's queued/running jobs failed at start (:meth:`JobQueue.recover`).
        ``False`` for the worker processes of a multi-process server, whose parent
        recovers once before starting them (a worker started later must not fail the
        jobs its siblings are running).
    """
    from twinline.api.cache import AnswerCache
    from twinline.api.jobs import JobQueue
    from twinline.api.routes import catalogue, jobs, line, materials, runs, twin
    from twinline.api.security import BodyLimit, new_token

    store = None
    if db is not None:
        from twinline.twin.store import Store

        store = Store.open(db, create=True)
    queue = JobQueue(workers=workers, max_pending=max_pending,
                     engine=None if store is None else store.engine)
    interrupted = queue.recover() if recover else 0
    if interrupted:
        log.warning("%d job(s) of a previous server were marked failed", interrupted)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        queue.close()
        if store is not None:
            store.close()

    from twinline import __version__

    app = FastAPI(title="twinline", version=__version__, lifespan=lifespan,
                  description="A digital twin of lithium-ion cell manufacturing: the data "
                              "specification, the material library, the process chain, 3D "
                              "structures and the line's data. Reads are open; writes need "
                              "'Authorization: Bearer <token>' (the token of twinline serve).")
    app.state.token = token or new_token()
    app.state.store = store
    app.state.jobs = queue
    app.state.runs = runs.RunCache(keep_runs)
    app.state.interrupted = interrupted
    app.state.answers = AnswerCache()
    _install_handlers(app)
    for module in (catalogue, materials, runs, jobs, line, twin):
        app.include_router(module.router, prefix=API_PREFIX)
    if importlib.util.find_spec("twinline.api.pages") is not None:
        pages = importlib.import_module("twinline.api.pages")
        app.include_router(pages.router)
    if STATIC_DIR.is_dir():
        from fastapi.staticfiles import StaticFiles

        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodyLimit)
    return app



def app_from_env() -> FastAPI:
    """:func:`create_app` configured by the environment, for ``uvicorn --factory`` (several
    worker processes): ``TWINLINE_API_DB`` (database), ``TWINLINE_API_TOKEN`` (required),
    ``TWINLINE_API_JOB_WORKERS`` (threads per process, default 2),
    ``TWINLINE_API_RECOVER`` (``0``: leave interrupted jobs to the parent, which marked
    them failed before starting the workers; default ``1``).

    With several processes each keeps its own jobs in memory; a job or run is found by the
    others through the database only (set ``TWINLINE_API_DB``), its TIFF not at all.
    """
    import os

    from twinline.api.security import TOKEN_ENV

    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ApiError(f"{TOKEN_ENV} is not set; app_from_env needs the token")
    return create_app(db=os.environ.get("TWINLINE_API_DB") or None, token=token,
                      workers=int(os.environ.get("TWINLINE_API_JOB_WORKERS", "2")),
                      recover=os.environ.get("TWINLINE_API_RECOVER", "1") != "0")
