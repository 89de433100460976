"""twinline.learn: learning from the chain.

Modules (each imports its heavy dependencies inside its functions):

* :mod:`~twinline.learn.campaign` — designs of experiments (full factorial, Latin hypercube,
  Sobol) evaluated point by point with per-point seeds and replicates, resumable;
* :mod:`~twinline.learn.dataset` — the Parquet dataset folder (atomic part files, manifest);
* :mod:`~twinline.learn.executors` — serial, local Dask cluster or an existing scheduler;
* :mod:`~twinline.learn.recipe_points` — campaign points written into recipes; the chain as
  an evaluation (:class:`~twinline.learn.recipe_points.ChainEvaluator`);
* :mod:`~twinline.learn.surrogate` — Gaussian process, gradient boosting and MLP
  surrogates; :func:`~twinline.learn.surrogate.register_surrogate` makes one a step model;
* :mod:`~twinline.learn.symbolic` — SISSO-style symbolic regression (readable equations);
* :mod:`~twinline.learn.sensitivity` — Sobol indices (SALib) and the correlation map;
* :mod:`~twinline.learn.inverse` — multi-objective inverse design (Optuna NSGA-II);
* :mod:`~twinline.learn.study` — the in-silico calendering study of Duquesnoy et al. 2020.

The evaluation protocol shared by all of them is
``evaluate(point: dict[str, float], seed: int) -> dict[str, float]`` (SI units).
"""
