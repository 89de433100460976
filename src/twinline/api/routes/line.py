"""The line's data: ``POST /line/ingest`` (long format as CSV, Parquet or JSON rows), ``GET
/line/objects``, ``/line/objects/{id}/trace``, ``/line/objects/{id}/track``,
``/line/stats`` — the same functions as ``twinline ingest|trace|track|db stats``.

Ingestion checks every row like ``twinline ingest`` (:mod:`twinline.twin.ingest.files`:
unit against the catalogue, number, range, time, kind, parent, no cycle) and stores all or
nothing; a bad row is a 422 listing the bad rows as ``NAME:LINE: reason``. Re-posting the
same data under the same ``name`` adds nothing (the name is the rows' source).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from twinline.api.errors import ApiError
from twinline.api.models import ERRORS, WRITE_ERRORS, IngestOut, LineageOut, LineObjectOut, StatsOut
from twinline.api.routes import WRITE
from twinline.spec.errors import quote

router = APIRouter(tags=["line"], responses=ERRORS)

CSV_TYPES = ("text/csv", "application/csv", "text/plain")
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet",
                 "application/octet-stream")

_INGEST_BODY = {
    "required": True,
    "description": "the line's rows in the long format (columns time, object, kind, parent, "
                   "parameter, value, unit, role, conditions; optional uncertainty, method, "
                   "quantity, quantity_unit): CSV text, a Parquet file, or a JSON list of "
                   "row objects; at most 50 MiB",
    "content": {"text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string",
                                                              "format": "binary"}},
                "application/json": {"schema": {"type": "array", "items": {
                    "type": "object", "additionalProperties": {
                        "type": ["string", "number", "null"]}}}}},
}


def _store(request: Request) -> Any:
    store = request.app.state.store
    if store is None:
        raise ApiError("this server has no line database; start it with twinline serve "
                       "--db DB", status=404)
    return store


def _json_rows_frame(body: bytes, name: str) -> Any:
    """A JSON list of long-format rows as a DataFrame of strings."""
    import pandas as pd

    from twinline.twin.errors import IngestError
    from twinline.twin.ingest.files import LONG_COLUMNS, OPTIONAL_COLUMNS

    try:
        rows = json.loads(body)
    except (ValueError, RecursionError):
        raise IngestError(f"{name}: not valid JSON; allowed: a list of row objects") from None
    if isinstance(rows, dict) and isinstance(rows.get("rows"), list):
        rows = rows["rows"]
    if not isinstance(rows, list) or not rows:
        raise IngestError(f"{name}: expected a non-empty JSON list of row objects, got "
                          f"{type(rows).__name__}")
    allowed = set(LONG_COLUMNS) | set(OPTIONAL_COLUMNS)
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise IngestError(f"{name}:{i}: a row must be an object with the columns "
                              f"{', '.join(LONG_COLUMNS)}; got {type(row).__name__}")
        extra = set(row) - allowed
        if extra:
            raise IngestError(f"{name}:{i}: unknown columns {sorted(extra)}; allowed: "
                              f"{', '.join(LONG_COLUMNS + OPTIONAL_COLUMNS)}")
        for k, v in row.items():
            if (v is not None and not isinstance(v, str | int | float)) or isinstance(v, bool):
                raise IngestError(f"{name}:{i}: column {k} = {quote(v)} must be text, a "
                                  "number or null")
    cols = [c for c in (*LONG_COLUMNS, *OPTIONAL_COLUMNS) if any(c in r for r in rows)]
    return pd.DataFrame([{c: "" if r.get(c) is None else str(r.get(c)) for c in cols}
                         for r in rows], columns=cols)


def _ingest(store: Any, body: bytes, ctype: str, name: str, source: str | None) -> Any:
    import re
    import tempfile
    from pathlib import Path

    from twinline.twin.errors import IngestError
    from twinline.twin.ingest.files import prepare, store_prepared

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}", name):
        raise IngestError(f"name = {quote(name)}: allowed: 1-100 letters, digits, '_', '.', "
                          "'-' (a file name without folders)")
    if not body:
        raise IngestError(f"{name}: the request body is empty")
    stem = Path(name).stem if Path(name).suffix.lower() in (".csv", ".parquet", ".json") \
        else name
    with tempfile.TemporaryDirectory(prefix="twinline-ingest-") as tmp:
        if ctype == "application/json":
            path = Path(tmp) / f"{stem}.parquet"
            _json_rows_frame(body, name).to_parquet(path)
        elif ctype in CSV_TYPES:
            path = Path(tmp) / f"{stem}.csv"
            path.write_bytes(body)
        elif ctype in PARQUET_TYPES:
            path = Path(tmp) / f"{stem}.parquet"
            path.write_bytes(body)
        else:
            raise ApiError(f"Content-Type {quote(ctype)}: allowed: text/csv, "
                           "application/vnd.apache.parquet, application/json", status=415)
        prep = prepare(path, source=source or name)
    return store_prepared(store, prep)


@router.post("/line/ingest", response_model=IngestOut, dependencies=WRITE,
             responses={**WRITE_ERRORS, 415: {"description": "not CSV, Parquet or JSON"}},
             openapi_extra={"requestBody": _INGEST_BODY},
             summary="Store the line's settings and measurements (long format)")
async def post_ingest(
    request: Request,
    name: str = Query("upload", max_length=100, description="the data's name: the source of "
                      "its rows (re-posting under the same name adds nothing) and the file "
                      "named in errors"),
    source: str | None = Query(None, max_length=200, description="source of the rows "
                               "(default: name)"),
) -> Any:
    """``twinline ingest`` over HTTP: every row checked, all or nothing, idempotent. For
    JSON rows the LINE of an error is the row number (first row 1)."""
    store = _store(request)
    body = await request.body()
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    result = await run_in_threadpool(_ingest, store, body, ctype, name, source)
    return JSONResponse(result.to_dict())


@router.get("/line/objects", response_model=list[LineObjectOut],
            summary="The line's objects, newest first")
def list_objects(request: Request,
                 kind: str | None = Query(None, max_length=40, description="only this kind, "
                                          "e.g. coated_roll"),
                 limit: int = Query(1000, ge=1, le=10_000),
                 offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Objects of the line database (id, kind, created, source)."""
    return JSONResponse(_store(request).objects(kind=kind, limit=limit, offset=offset))


def _lineage(request: Request, object_id: str, *, up: bool) -> Any:
    from twinline.twin.errors import StoreError

    store = _store(request)
    try:
        entries = store.trace(object_id) if up else store.track(object_id)
    except StoreError as err:
        if "is not in the store" in str(err):
            raise ApiError(str(err), status=404) from None
        raise
    return JSONResponse(json.loads(json.dumps([e.to_dict() for e in entries], default=str)))


@router.get("/line/objects/{object_id}/trace", response_model=list[LineageOut],
            summary="An object and its ancestors with settings and measurements")
def trace(request: Request, object_id: str) -> Any:
    """``twinline trace --json``: depth 0 the object, 1 its parents ..."""
    return _lineage(request, object_id, up=True)


@router.get("/line/objects/{object_id}/track", response_model=list[LineageOut],
            summary="An object and its descendants")
def track(request: Request, object_id: str) -> Any:
    """``twinline track --json``: depth 0 the object, 1 its children ..."""
    return _lineage(request, object_id, up=False)


@router.get("/line/stats", response_model=StatsOut, summary="Counts of the line database")
def stats(request: Request) -> Any:
    """``twinline db stats --json``: objects, edges, settings, measurements."""
    return JSONResponse(_store(request).stats())
