"""Where campaign tasks run: in this process, on a local Dask cluster or on a scheduler.

Every executor offers ``map_unordered(fn, tasks)``, an iterator over ``fn(task)`` results in
completion order. Tasks carry their own seeds, so the results (and the sorted dataset) do
not depend on the executor. Dask is an optional extra (``twinline[dist]``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from twinline.spec.errors import RecipeError, require


class SerialExecutor:
    """Run tasks one after the other in this process."""

    name = "serial"
    workers = 1

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        for task in tasks:
            yield fn(task)

    def close(self) -> None:
        """Nothing to release."""


class DaskExecutor:
    """Run tasks on a Dask ``distributed`` client (local cluster or remote scheduler)."""

    def __init__(self, client: Any, cluster: Any = None, name: str = "dask") -> None:
        self.client = client
        self.cluster = cluster
        self.name = name
        info = client.scheduler_info()
        self.workers = max(1, len(info.get("workers", {})))

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        distributed = require("distributed", "dist")
        futures = [self.client.submit(fn, t, pure=False) for t in tasks]
        try:
            for fut in distributed.as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()

    def close(self) -> None:
        """Close the client and the cluster this executor started (not a remote one)."""
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


def make_executor(*, workers: int = 0, scheduler: str | None = None,
                  processes: bool = True) -> SerialExecutor | DaskExecutor:
    """Pick the executor: ``scheduler`` address > ``workers`` ≥ 1 local Dask > serial.

    Parameters
    ----------
    workers : int
        0 → serial in this process; N ≥ 1 → ``LocalCluster(n_workers=N,
        threads_per_worker=1)``, each worker process limited to one numba/OpenMP/BLAS thread.
    scheduler : str, optional
        Address of an existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    processes : bool
        Local cluster with worker processes (default) or threads (quick to start; for tests).
    """
    if workers < 0:
        raise RecipeError(f"workers = {workers}: must be >= 0 (0 runs serially)")
    if scheduler:
        distributed = require("distributed", "dist")
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise RecipeError(f"scheduler = {scheduler!r}: expected an address such as "
                              "tcp://host:8786")
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except OSError as err:
            raise RecipeError(f"scheduler = {scheduler!r}: cannot connect ({err})") from None
        return DaskExecutor(client, None, name=f"dask scheduler {scheduler}")
    if workers == 0:
        return SerialExecutor()
    distributed = require("distributed", "dist")
    # one compute thread per worker process: numba/OpenMP/BLAS pools of their own would put
    # 2 × N threads on N cores, and parallel regions then wait on each other's barriers
    one = {k: "1" for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                            "OPENBLAS_NUM_THREADS")}
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=processes, dashboard_address=":0",
                                       silence_logs=40, **({"env": one} if processes else {}))
    client = distributed.Client(cluster)
    return DaskExecutor(client, cluster, name=f"dask local x{workers}")
