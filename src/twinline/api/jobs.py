"""A small job queue inside the server process: long runs become jobs.

A job (:class:`Job`) has an ``id``, a ``kind`` (``run``, ``structure``, ``analyse``), a
``state`` — ``queued`` → ``running`` → ``done`` or ``failed`` — a ``progress`` 0..1 with the
current ``stage``, the one-line ``message`` of a failure and, when done, a JSON ``result``.
:class:`JobQueue` runs them on a bounded pool of worker threads (``workers``, default 2)
and refuses new work with 503 when ``max_pending`` jobs already wait or run.

Jobs are kept in memory and, when the server has a database (``twinline serve --db``), in
its ``jobs`` table (:data:`twinline.twin.store.schema.jobs`): every change of state, and the
progress at most every :data:`PROGRESS_EVERY` seconds. A server that starts on a database
holding ``queued``/``running`` jobs marks them ``failed`` with the message
:data:`INTERRUPTED` (:meth:`JobQueue.recover`): a job killed with its server is reported
failed, never silently lost.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twinline.api.errors import ApiError
from twinline.twin.store.rows import utc

log = logging.getLogger("twinline.api")

#: States of a job.
STATES = ("queued", "running", "done", "failed")
#: Seconds between two progress writes to the database.
PROGRESS_EVERY = 0.5
#: Message of a job found queued or running when the server starts.
INTERRUPTED = "the server stopped while this job was queued or running; submit it again"
#: Jobs kept in memory (oldest finished ones are dropped first; the database keeps all).
KEEP = 500

#: ``fn(progress)`` → JSON-able result; ``progress(stage, fraction)`` reports progress.
Work = Callable[[Callable[[str, float], None]], dict[str, Any]]


def _now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh job/run id (32 hex digits)."""
    return uuid.uuid4().hex


@dataclass
class Job:
    """One job; see the module docstring."""

    id: str
    kind: str
    state: str = "queued"
    progress: float = 0.0
    stage: str = ""
    message: str = ""
    created: datetime = field(default_factory=_now)
    updated: datetime = field(default_factory=_now)
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state,
                "progress": self.progress, "stage": self.stage, "message": self.message,
                "created": self.created.isoformat(), "updated": self.updated.isoformat(),
                "result": self.result}


class JobQueue:
    """Jobs of one server: a bounded thread pool, in memory and in ``engine``'s ``jobs``."""

    def __init__(self, *, workers: int = 2, max_pending: int = 64, engine: Any = None) -> None:
        if workers < 1:
            raise ApiError(f"workers = {workers}: a job queue needs at least 1 worker")
        self.engine = engine
        self.max_pending = max_pending
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="twinline-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------ database
    def _save(self, job: Job, *, new: bool = False) -> None:
        if self.engine is None:
            return
        from sqlalchemy import insert, update

        from twinline.twin.store.schema import jobs

        row = {"kind": job.kind, "state": job.state, "progress": job.progress,
               "stage": job.stage[:200], "message": job.message, "created": job.created,
               "updated": job.updated,
               "params": json.dumps(job.params, default=str),
               "result": None if job.result is None else json.dumps(job.result, default=str)}
        try:
            with self.engine.begin() as conn:
                if new:
                    conn.execute(insert(jobs).values(job_id=job.id, **row))
                else:
                    conn.execute(update(jobs).where(jobs.c.job_id == job.id).values(**row))
        except Exception:  # the job goes on in memory; the log says why the DB missed it
            log.exception("job %s: could not be written to the database", job.id)

    def _load(self, job_id: str) -> Job | None:
        if self.engine is None:
            return None
        from sqlalchemy import select

        from twinline.twin.store.schema import jobs

        with self.engine.connect() as conn:
            r = conn.execute(select(jobs).where(jobs.c.job_id == job_id)).mappings().first()
        if r is None:
            return None
        return Job(id=r["job_id"], kind=r["kind"], state=r["state"],
                   progress=float(r["progress"]), stage=r["stage"], message=r["message"],
                   created=utc(r["created"]), updated=utc(r["updated"]),
                   params=json.loads(r["params"] or "{}"),
                   result=None if r["result"] is None else json.loads(r["result"]))

    def recover(self) -> int:
        """Mark the database's ``queued``/``running`` jobs failed (:data:`INTERRUPTED`);
        returns how many. Called once when the server starts."""
        if self.engine is None:
            return 0
        from sqlalchemy import update

        from twinline.twin.store.schema import jobs

        with self.engine.begin() as conn:
            res = conn.execute(update(jobs).where(jobs.c.state.in_(("queued", "running")))
                               .values(state="failed", message=INTERRUPTED, updated=_now()))
        return int(res.rowcount or 0)

    # ------------------------------------------------------------------ jobs
    def _keep(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                old = next((k for k, j in self._jobs.items()
                            if j.state in ("done", "failed")), None)
                if old is None:
                    break
                del self._jobs[old]

    def pending(self) -> int:
        """Jobs queued or running."""
        with self._lock:
            return sum(j.state in ("queued", "running") for j in self._jobs.values())

    def record(self, kind: str, result: dict[str, Any], *, params: dict[str, Any] | None = None,
               job_id: str | None = None) -> Job:
        """Keep a finished piece of work done in the request (a fast run) as a done job."""
        job = Job(id=job_id or new_id(), kind=kind, state="done", progress=1.0, stage="done",
                  params=params or {}, result=result)
        self._keep(job)
        self._save(job, new=True)
        return job

    def submit(self, kind: str, work: Work, *, params: dict[str, Any] | None = None,
               job_id: str | None = None,
               on_done: Callable[[Job], None] | None = None) -> Job:
        """Queue ``work``; returns the queued :class:`Job` (503 :class:`ApiError` when full)."""
        if self._closed:
            raise ApiError("the server is shutting down; submit the job again later", 503)
        if self.pending() >= self.max_pending:
            raise ApiError(f"{self.max_pending} jobs are queued or running (the limit); "
                           "poll them and submit again later", status=503)
        job = Job(id=job_id or new_id(), kind=kind, params=params or {})
        self._keep(job)
        self._save(job, new=True)
        self._pool.submit(self._run, job, work, on_done)
        return job

    def _run(self, job: Job, work: Work, on_done: Callable[[Job], None] | None) -> None:
        from twinline.spec.errors import TwinlineError

        if job.state == "failed":   # cancelled by close() as it was handed to this worker
            return
        job.state, job.stage, job.updated = "running", "starting", _now()
        self._save(job)
        last = [time.monotonic()]

        def progress(stage: str, fraction: float) -> None:
            job.stage = str(stage)
            job.progress = min(max(float(fraction), job.progress), 1.0)
            job.updated = _now()
            if time.monotonic() - last[0] >= PROGRESS_EVERY:
                last[0] = time.monotonic()
                self._save(job)

        try:
            result = work(progress)
        except TwinlineError as err:
            from twinline.spec.errors import one_line

            job.state, job.message = "failed", one_line(str(err))
        except Exception as err:  # a bug: the job fails, the server lives, the log has it
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.state = "failed"
            job.message = f"internal error ({type(err).__name__}); see the server's log"
        else:
            job.state, job.result, job.progress, job.stage = "done", result, 1.0, "done"
        job.updated = _now()
        self._save(job)
        if on_done is not None:
            try:
                on_done(job)
            except Exception:
                log.exception("job %s: on_done failed", job.id)

    def get(self, job_id: str) -> Job:
        """The job ``job_id`` (memory, then database); 404 :class:`ApiError` if unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            job = self._load(job_id)
        if job is None:
            from twinline.spec.errors import quote

            raise ApiError(f"job {quote(job_id)} is not known to this server", status=404)
        return job

    def close(self, *, wait: bool = False) -> None:
        """Stop taking jobs: with ``wait``, finish every job first; else cancel the queued
        ones (marked failed) and return at once (running ones end with the process)."""
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
        with self._lock:
            queued = [j for j in self._jobs.values() if j.state == "queued"]
        for j in queued:
            j.state, j.message, j.updated = "failed", INTERRUPTED, _now()
            self._save(j)


def recover_store(db: Any) -> int:
    """Mark the queued/running jobs of the database ``db`` failed (:meth:`JobQueue.recover`)
    and return how many: what a multi-process ``twinline serve --workers N`` does once, in
    its parent, before the worker processes start (each is created with ``recover=False``,
    so that a worker started later never fails the jobs its siblings are running)."""
    from twinline.twin.store import Store

    with Store.open(db, create=True) as store:
        queue = JobQueue(workers=1, engine=store.engine)
        try:
            return queue.recover()
        finally:
            queue.close()
