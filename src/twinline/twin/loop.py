r"""The twin loop over the line's store: predict before measure, learn, watch.

:class:`TwinLoop` ties the store (:mod:`twinline.twin.store`), the calibration
(:mod:`twinline.twin.calibration`) and SPC (:mod:`twinline.twin.spc`) together:

* :meth:`TwinLoop.predict_object` — the object's **effective recipe** (:func:`effective_recipe`:
  its own settings over its ancestors' over the base recipe, the stored parameters mapped back
  onto recipe paths), its **groups** (the slurry batch it descends from is its ``batch``
  group, the nearest electrode roll its ``roll`` group), and
  :func:`~twinline.twin.calibration.predict` with the *active* calibration; every catalogue
  output's mean and standard deviation (SI) is stored with the calibration version
  (``predictions``).
* :meth:`TwinLoop.observe` — for each new measurement: its prediction (the latest stored one
  of the object, parameter and conditions; computed now when there is none), the residual
  (measured − predicted, SI) and its z-score against both uncertainties (``residuals``); then
  **one** calibration update from all of them (a new stored, active version); then SPC over
  the z-scores of each parameter (centre 0, sigma 1: they are standardised by the predictive
  uncertainty) and over the raw measurements of each (parameter, conditions) (phase-I centre
  and moving-range sigma from the first :data:`PHASE_ONE` points): new alarms are stored, old
  ones are not stored twice (their natural key is unique and the charts of a longer series
  give the same signals at the old points; so a loop judges only the points it has not
  judged yet, from the charts' kept states and a bounded look-back,
  :mod:`twinline.twin.charts` and :mod:`twinline.twin.tails`: a step's cost does not grow
  with the history); and, when the base recipe states ``spec_limits``, the measurements
  outside them and a running :math:`C_{pk}` below 1.33 (:mod:`twinline.twin.capability`).
* :meth:`TwinLoop.rollback` — make an earlier version active again; predictions made after it
  use it (the version's content is stored, so any past prediction can be reproduced).

**Viscosity at a shear rate.** The chain reports the slurry's viscosity at the coater's shear
rate :math:`\dot\gamma = u/G` (comma coater: web speed over gap). A viscosity measured with the
condition ``shear_rate=<γ> 1/s`` is predicted with the same chain and a recipe whose comma gap
is :math:`u/\dot\gamma` (only the viscosity of that run is used; the rheology is
:mod:`twinline.process.mixing`'s Krieger–Cross model). A slot die's recipe is left alone (its
shear rate is not set by the gap): the viscosity is then predicted at its coating shear rate.

**Replicates share the model's error.** The chain's structural error at one set of
settings is the same for every replicate measured there (8 discs of one coated gap): it is not
averaged out by measuring more discs. Each output has a *shared* structural sd :math:`s`
(:data:`SHARED_NOISE`) besides the independent scatter :math:`r` (the calibration's
:data:`~twinline.twin.calibration.MODEL_NOISE` and the measurement's own uncertainty). The
:math:`k`-th replicate of the same (output, conditions, effective recipe, groups) enters the
update with the variance :math:`v_k = 1/\Delta_k`, :math:`\Delta_1 = 1/(s^2+r^2)`,
:math:`\Delta_k = 1/(s^2+r^2/k) - 1/(s^2+r^2/(k-1))`, so that :math:`n` replicates carry
exactly the information of their mean, :math:`1/(s^2 + r^2/n)`; and every prediction's sd
includes :math:`s`. (Replicates are counted by the loop object: a new loop counts anew.)
Where the calibration has a **strip offset** for the output (a constant with a ``roll``
group term, e.g. the wet-film ratio's coated-roll offset of
:func:`~twinline.twin.calibration.default_constants`) and the object belongs to a roll, the
shared error is a state of the calibration instead (learnt from the roll's first objects,
its prior sd in every prediction of an unseen roll): :data:`SHARED_NOISE` is then not added
and each replicate enters with its own noise (:meth:`TwinLoop.shared_table`).

**The prior's date.** The drift of the constants (a random walk in time) counts from the
calibration's time; a prior created before any measurement is re-dated to the first
measurement it meets (same mean and covariance), so the years before the first data do not
inflate its variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np

from twinline.twin.calibration import (
    Calibration,
    ChainModel,
    ConstantSpec,
    Observation,
    OutputNoise,
    _is_log,
    _noise_sd,
    predict,
    update,
    z_score,
)
from twinline.twin.errors import TwinError

#: Monte Carlo samples over the machine tolerances per prediction (issue 15: a prediction's
#: uncertainty is the model's plus the propagated machine tolerances; 64 samples give the sd
#: to about ±9 % (1/sqrt(2·64)) for a few ms per prediction).
DEFAULT_SAMPLES = 64
#: Points of a raw measurement series that fix its centre and sigma (phase I).
PHASE_ONE = 20
#: Nelson rules applied (1: beyond 3σ, 2: nine on one side, 3: trend of six, 5: two of three
#: beyond 2σ, 6: four of five beyond 1σ). Rules 4, 7 and 8 test for stratification and
#: over-control, which a standardised residual does not have to show.
SPC_RULES = (1, 2, 3, 5, 6)
#: Group kind whose offsets are the error replicates share (:meth:`TwinLoop.shared_table`).
SHARED_GROUP = "roll"
#: Shared structural error per output (catalogue id without electrode; SI, ln units for a
#: viscosity), see the module docstring: the error the objects of one coated strip share,
#: used where the calibration has no strip offset for the object (no ``roll`` group, or
#: constants without one). AM loading 2.3 % and porosity after drying 1.1 points: the same
#: values as the strip offsets of :func:`~twinline.twin.calibration.default_constants`
#: (ARTISTIC: the sd of the 66 strips' means about their batch's level and gap offset, resp.
#: their batch's mean). Viscosity (per shear rate): assumed equal to its within-batch
#: scatter, 0.02 in log10 η.
SHARED_NOISE: dict[str, OutputNoise] = {
    "coating.am_loading": OutputNoise(relative=0.023),
    "coating.loading": OutputNoise(relative=0.023),
    "coating.wet_film_thickness": OutputNoise(relative=0.023),
    "coating.areal_capacity": OutputNoise(relative=0.023),
    "drying.porosity": OutputNoise(absolute=0.011),
    "mixing.viscosity": OutputNoise(absolute=0.02 * math.log(10.0)),
}
#: Kinds of object whose id is an electrode roll (the ``roll`` group), nearest first.
ROLL_KINDS = ("calendered_roll", "dried_roll", "coated_roll")
#: Kind whose id is the ``batch`` group.
BATCH_KIND = "slurry_batch"


def _short(parameter: str) -> str:
    return parameter.split(".", 1)[1] if parameter.count(".") >= 2 else parameter


def shared_sd(parameter: str, mean: float, table: Mapping[str, OutputNoise] | None = None
              ) -> float:
    """The shared structural sd of ``parameter`` at prediction ``mean``, in SI
    (:data:`SHARED_NOISE`; 0 for an output it does not list)."""
    n = (SHARED_NOISE if table is None else table).get(_short(parameter))
    if n is None:
        return 0.0
    if _is_log(parameter):
        return math.hypot(n.absolute, n.relative) * abs(mean)
    return n.sd(mean)


def shared_table(constants: Iterable[ConstantSpec], groups: Mapping[str, str],
                 table: Mapping[str, OutputNoise] | None = None) -> dict[str, OutputNoise]:
    """The shared structural noise (:data:`SHARED_NOISE` or ``table``) of an object of
    ``groups``, without the outputs that an offset of its :data:`SHARED_GROUP` in
    ``constants`` already carries (module docstring)."""
    base = dict(SHARED_NOISE if table is None else table)
    if SHARED_GROUP not in groups:
        return base
    covered = {_short(o) for spec in constants for kind, sd in spec.group_terms()
               if kind == SHARED_GROUP and sd > 0 for o in spec.outputs}
    return {k: v for k, v in base.items() if k not in covered}


def with_shared(parameter: str, prediction: tuple[float, float],
                table: Mapping[str, OutputNoise] | None = None) -> tuple[float, float]:
    """``(mean, std)`` with the shared structural sd added in quadrature."""
    mean, std = prediction
    return mean, math.hypot(std, shared_sd(parameter, mean, table))


def replicate_std(parameter: str, value: float, measured_std: float, predicted: float, k: int,
                  table: Mapping[str, OutputNoise] | None = None) -> float:
    """The measurement sd (SI) that makes the ``k``-th replicate (1, 2, ...) carry its share
    of the information of a mean of replicates (module docstring), given the calibration's
    independent model noise at ``predicted``."""
    log = _is_log(parameter)
    scale = abs(value) if log else 1.0
    meas = measured_std / scale if scale > 0 else 0.0
    r2 = _noise_sd(parameter, predicted, None) ** 2 + meas ** 2
    s = shared_sd(parameter, predicted, table)
    s2 = (s / abs(predicted)) ** 2 if log and predicted else s ** 2
    if s2 == 0.0:
        return measured_std
    info = 1.0 / (s2 + r2) if k <= 1 else 1.0 / (s2 + r2 / k) - 1.0 / (s2 + r2 / (k - 1))
    extra = max(1.0 / info - r2, 0.0)
    return math.sqrt(meas ** 2 + extra) * scale


# ----------------------------------------------------------------------------- settings
@cache
def _catalogue_paths() -> dict[str, tuple[str, ...]]:
    """Stored parameter (catalogue id with electrode) → recipe path(s) it sets.

    Built from :func:`twinline.spec.fields.recipe_fields`, whose catalogue ids already
    include :data:`~twinline.spec.fields.FIELD_ALIASES` (``cathode.drying.line_speed`` →
    ``cathode.drying.web_speed``). A dryer-zone field keeps its ``*``: it sets every zone.
    """
    from twinline.spec.fields import recipe_fields

    out: dict[str, list[str]] = {}
    for spec in recipe_fields():
        if spec.catalogue_id is None:
            continue
        head = spec.path.split(".", 1)[0]
        key = f"{head}.{spec.catalogue_id}" if head in ("cathode", "anode") else spec.catalogue_id
        out.setdefault(key, []).append(spec.path)
    return {k: tuple(v) for k, v in out.items()}


def setting_paths(parameter: str) -> tuple[str, ...]:
    """The recipe path(s) a stored setting sets (empty: none, e.g. a catalogue output).

    A recipe path names itself (``cathode.formulation.active_material.mass_fraction``,
    ``cathode.drying.zones.1.temperature``, a text setting such as
    ``cathode.formulation.active_material.material``); a catalogue id with electrode prefix
    names the recipe field that is that catalogue row (``cathode.drying.line_speed`` →
    ``cathode.drying.web_speed``; a zone field → every zone, ``*``).
    """
    from twinline.spec.errors import RecipeError
    from twinline.spec.fields import field_at
    from twinline.twin.ingest.parameters import TEXT_SUFFIXES

    try:
        field_at(parameter)
        return (parameter,)
    except RecipeError:
        pass
    if parameter in _catalogue_paths():
        return _catalogue_paths()[parameter]
    if parameter.endswith(TEXT_SUFFIXES) and parameter.split(".", 1)[0] in ("cathode", "anode"):
        return (parameter,)
    return ()


def _set(model: Any, parts: Sequence[str], value: Any) -> Any:
    """A copy of pydantic ``model`` with the value at ``parts`` replaced (``*``: every list
    item); a path the model lacks raises KeyError."""
    name, rest = parts[0], parts[1:]
    if isinstance(model, list):
        idx = range(len(model)) if name == "*" else [int(name)]
        items = list(model)
        for i in idx:
            items[i] = _set(items[i], rest, value) if rest else value
        return items
    if not hasattr(model, name):
        raise KeyError(name)
    current = getattr(model, name)
    if not rest:
        return model.model_copy(update={name: value})
    if current is None:
        raise KeyError(name)
    return model.model_copy(update={name: _set(current, rest, value)})


FORMULATION_ROLES = ("active_material", "conductive_additive", "binder")


def apply_settings(recipe: Any, settings: Mapping[str, Mapping[str, Any]]
                   ) -> tuple[Any, list[str], list[str]]:
    """The recipe with stored ``settings`` (``parameter → {"value" | "text"}``, SI) applied.

    Returns ``(recipe, applied, skipped)``: ``skipped`` lists the parameters that set no
    recipe field (a catalogue output stored as a setting, an electrode the recipe lacks).
    Values are not re-validated here (ingestion checked their range). When some of an
    electrode's formulation mass fractions are set and they no longer sum to 1, the
    fractions *not* set are scaled to close the sum (ARTISTIC: the AM % is given, C65 and
    PVDF share the rest as in the base recipe).
    """
    applied: list[str] = []
    skipped: list[str] = []
    fractions_set: dict[str, set[str]] = {}
    for parameter in sorted(settings):
        entry = settings[parameter]
        value = entry.get("text") if entry.get("value") is None else float(entry["value"])
        name, zone = _split_key(parameter)
        paths = setting_paths(name)
        if zone is not None:  # one dryer zone (1-based) of a zone field
            paths = tuple(p.replace(".zones.*.", f".zones.{zone - 1}.") for p in paths)
        if not paths or value is None:
            skipped.append(parameter)
            continue
        done = False
        for path in paths:
            parts = path.split(".")
            if parts[0] in ("cathode", "anode") and getattr(recipe, parts[0], None) is None:
                continue
            try:
                recipe = recipe.model_copy(update={parts[0]: _set(getattr(recipe, parts[0]),
                                                                  parts[1:], value)})
            except (KeyError, IndexError, ValueError, AttributeError):
                continue
            done = True
            if len(parts) == 4 and parts[1] == "formulation" and parts[3] == "mass_fraction":
                fractions_set.setdefault(parts[0], set()).add(parts[2])
        (applied if done else skipped).append(parameter)
    for electrode, given in fractions_set.items():
        recipe = _close_fractions(recipe, electrode, given)
    return recipe, applied, skipped


def _close_fractions(recipe: Any, electrode: str, given: set[str]) -> Any:
    form = getattr(recipe, electrode).formulation
    fr = {r: float(getattr(form, r).mass_fraction) for r in FORMULATION_ROLES}
    free = [r for r in FORMULATION_ROLES if r not in given]
    rest = 1.0 - sum(fr[r] for r in FORMULATION_ROLES if r in given)
    if not free or abs(sum(fr.values()) - 1.0) < 1e-9:
        return recipe
    total_free = sum(fr[r] for r in free)
    if rest < 0 or total_free <= 0:
        raise TwinError(f"{electrode}.formulation: the stored mass fractions "
                        f"{ {r: fr[r] for r in given} } leave {rest:g} for the others; the "
                        "fractions must sum to 1")
    for r in free:
        recipe = recipe.model_copy(update={electrode: _set(
            getattr(recipe, electrode), ["formulation", r, "mass_fraction"],
            fr[r] * rest / total_free)})
    return recipe


def prediction_conditions(parameter: str, conditions: str) -> str:
    """The conditions a prediction of ``parameter`` is stored under: a viscosity's shear rate
    (its value depends on it), nothing for every other output."""
    if parameter.endswith(".mixing.viscosity") and "shear_rate=" in conditions:
        return conditions
    return ""


def at_shear_rate(recipe: Any, parameter: str, conditions: str) -> Any:
    """The recipe whose chain run gives ``parameter`` (a ``<e>.mixing.viscosity``) at the
    shear rate of ``conditions`` (``shear_rate=<γ> 1/s``): the comma gap set to speed/γ.
    Any other parameter, no shear rate, or a slot die: ``recipe`` unchanged."""
    if not parameter.endswith(".mixing.viscosity") or "shear_rate=" not in conditions:
        return recipe
    from twinline.spec.errors import RecipeError
    from twinline.spec.units import parse_quantity

    electrode = parameter.split(".", 1)[0]
    el = getattr(recipe, electrode, None)
    if el is None or el.coating.method != "comma":
        return recipe
    text = next(p.split("=", 1)[1] for p in conditions.split("; ")
                if p.startswith("shear_rate="))
    try:
        gamma = parse_quantity(text, "1/s", name="shear_rate")
    except RecipeError as err:
        raise TwinError(f"{parameter} [{conditions}]: {err}") from None
    if not gamma > 0:
        raise TwinError(f"{parameter} [{conditions}]: the shear rate must be > 0 1/s")
    gap = float(el.coating.speed) / gamma
    return recipe.model_copy(update={electrode: _set(el, ["coating", "gap"], gap)})


@dataclass
class ObjectContext:
    """An object as the twin sees it: ``recipe`` (effective), ``groups`` (``batch``,
    ``roll``), the settings ``applied`` and ``skipped``, and the ``settings`` themselves."""

    object_id: str
    kind: str
    recipe: Any
    groups: dict[str, str]
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def setting_key(parameter: str, conditions: str = "") -> str:
    """The key of a stored setting in an object's settings: the parameter, with its dryer
    zone when the record names one (``cathode.drying.temperature[zone=2]``: a zone's set
    point sets that zone only, not every zone)."""
    for part in (conditions or "").split("; "):
        if part.startswith("zone="):
            return f"{parameter}[{part}]"
    return parameter


def _split_key(key: str) -> tuple[str, int | None]:
    if key.endswith("]") and "[zone=" in key:
        parameter, zone = key[:-1].split("[zone=", 1)
        try:
            return parameter, int(zone)
        except ValueError:
            return key, None
    return key, None


def effective_recipe(store: Any, object_id: str, base_recipe: Any, *,
                     batch_ids: Mapping[str, str] | None = None,
                     visible: Callable[[str, Mapping[str, Any]], bool] | None = None
                     ) -> ObjectContext:
    """The object's effective recipe and groups (see the module docstring).

    Settings: the object's own over its ancestors' (nearest first, then the latest) over
    ``base_recipe`` (:meth:`~twinline.twin.store.Store.effective_settings`); a setting
    with a dryer zone sets that zone (:func:`setting_key`). ``visible(object_id, setting)``
    (optional) hides the settings it returns False for: the live loop sees only what had
    arrived before the step it predicts (:mod:`twinline.twin.live`). Groups: the nearest
    ``slurry_batch`` in the lineage (the object itself included) is the ``batch`` group
    (its id, or ``batch_ids[id]`` when given) and the nearest electrode roll
    (:data:`ROLL_KINDS`) the ``roll`` group.
    """
    lineage = store.trace(object_id)
    best: dict[str, tuple[tuple[int, str], dict[str, Any]]] = {}
    groups: dict[str, str] = {}
    for entry in lineage:  # sorted by depth
        for s in entry.settings:
            if visible is not None and not visible(entry.object_id, s):
                continue
            rank = (-entry.depth, s["time"])
            key = setting_key(s["parameter"], s.get("conditions", ""))
            if key not in best or rank > best[key][0]:
                best[key] = (rank, {"value": s["value"], "text": s["text"],
                                               "object": entry.object_id,
                                               "depth": entry.depth})
        if entry.kind == BATCH_KIND and "batch" not in groups:
            groups["batch"] = (batch_ids or {}).get(entry.object_id, entry.object_id)
        if entry.kind in ROLL_KINDS and "roll" not in groups:
            groups["roll"] = entry.object_id
    settings = {k: v for k, (_, v) in best.items()}
    recipe, applied, skipped = apply_settings(base_recipe, settings)
    return ObjectContext(object_id, lineage[0].kind, recipe, groups, settings, applied,
                         skipped)


def keep_recent_groups(calibration: Calibration, kept: int) -> Calibration:
    r"""The calibration with only the ``kept`` most recently added group offsets of each
    group kind (``batch``, ``roll``); the others are marginalised out.

    The state is Gaussian, :math:`(x_a, x_b) \sim N(\mu, \Sigma)`; the marginal of the kept
    components :math:`x_a` is :math:`N(\mu_a, \Sigma_{aa})` — deleting the rows and columns
    of the dropped offsets is exact: the line-wide constants and the kept offsets keep
    their posterior. A dropped group seen again starts from its prior offset (variance
    :math:`	au^2`) like a new one. Group offsets are added in the order the groups are
    first seen, so the last ones are the most recent. Without anything to drop the same
    version is returned.
    """
    from twinline.twin.calibration import _make

    n = len(calibration.constants)
    by_kind: dict[str, list[int]] = {}
    for j in range(n, len(calibration.labels)):
        kind = calibration.labels[j].split("@", 1)[1].split("=", 1)[0]
        by_kind.setdefault(kind, []).append(j)
    groups_of: dict[str, list[str]] = {}
    for kind, idx in by_kind.items():
        for j in idx:
            gid = calibration.labels[j].split("=", 1)[1]
            if gid not in groups_of.setdefault(kind, []):
                groups_of[kind].append(gid)
    drop = set()
    for kind, idx in by_kind.items():
        old = set(groups_of[kind][:-kept])
        drop |= {j for j in idx if calibration.labels[j].split("=", 1)[1] in old}
    if not drop:
        return calibration
    keep = [j for j in range(len(calibration.labels)) if j not in drop]
    return _make(calibration.parent_id, calibration.time, calibration.constants,
                 tuple(calibration.labels[j] for j in keep), calibration.mean[keep],
                 calibration.cov[np.ix_(keep, keep)], calibration.measurements)


def _epoch(t: datetime) -> float:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def _model_versions(samples: int, seed: int) -> dict[str, Any]:
    from twinline import __version__
    from twinline.twin.calibration import FORMAT

    return {"twinline": __version__, "calibration": FORMAT, "chain_samples": samples,
            "seed": seed}


@dataclass
class Observed:
    """What one :meth:`TwinLoop.observe` did: ``residuals`` stored (dicts: record, object,
    parameter, conditions, measured, predicted, std, residual, z, calibration), the
    ``calibration`` version made (None without usable measurements), ``alarms`` new ones,
    ``skipped`` measurements the chain does not predict."""

    residuals: list[dict[str, Any]] = field(default_factory=list)
    calibration: str | None = None
    alarms: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class TwinLoop:
    """The loop of one line's store (see the module docstring).

    Parameters
    ----------
    store : Store
        The line's database (migrated).
    base_recipe : Recipe
        The recipe the stored settings override.
    constants : sequence of ConstantSpec, optional
        The calibrated constants (default
        :func:`~twinline.twin.calibration.default_constants` of the recipe's electrodes); used
        only when the store holds no calibration yet (then the prior is stored, active).
    seed : int
        Seed of the chain's Monte Carlo over the machine tolerances (with ``samples`` > 0).
    samples : int
        Monte Carlo samples over the machine tolerances of each prediction (default
        :data:`DEFAULT_SAMPLES`; 0: the tolerances are not propagated, the uncertainty is the
        calibration's and the model's only).
    batch_ids : mapping, optional
        Slurry-batch object id → batch group id (default: the object id).
    update : bool
        Learn from the measurements (False: predict, residuals and SPC only).
    policy : AlarmPolicy, optional
        Watch the residuals with the line's alarm policy
        (:class:`~twinline.twin.spc.AlarmPolicy`: one stored alarm per event) instead of
        :meth:`watch`'s charts over every residual and raw series.
    groups_kept : int, optional
        Keep the offsets of only this many most recent groups of each kind (batch, roll)
        in the calibration: older ones are marginalised out (:func:`keep_recent_groups`).
        Default: all (a line that runs for days would grow its state without bound).
    """

    def __init__(self, store: Any, base_recipe: Any, *,
                 constants: Sequence[ConstantSpec] | None = None, seed: int = 0,
                 samples: int = DEFAULT_SAMPLES, batch_ids: Mapping[str, str] | None = None,
                 learn: bool = True, materials: Any = None,
                 shared: Mapping[str, OutputNoise] | None = None,
                 policy: Any = None, groups_kept: int | None = None) -> None:
        self.store, self.base_recipe = store, base_recipe
        self.policy = policy
        if groups_kept is not None and groups_kept < 1:
            raise TwinError(f"groups kept = {groups_kept}: must be >= 1")
        self.groups_kept = groups_kept
        self.shared = SHARED_NOISE if shared is None else dict(shared)
        self._replicates: dict[Any, int] = {}
        # the judged tails of the charts and specification series (twin.tails): each watch
        # judges only the points not judged before
        self._chart_tails: dict[tuple[str, str, str], Any] = {}
        self._flat_heads: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._specs: Any = None
        self.seed, self.samples, self.learn = int(seed), int(samples), learn
        self.batch_ids = dict(batch_ids or {})
        self.materials = materials
        self.model = ChainModel(materials=materials)
        state = store.calibration_state()
        if state is None:
            cal = Calibration.initial(base_recipe, constants, materials=materials)
            store.add_calibration(cal.to_dict(), active=True)
        else:
            cal = Calibration.from_dict(state)
        self.calibration = cal

    # ------------------------------------------------------------------ predict
    def context(self, object_id: str,
                visible: Callable[[str, Mapping[str, Any]], bool] | None = None
                ) -> ObjectContext:
        """:func:`effective_recipe` of ``object_id`` in this loop's store (``visible``: the
        settings it may see)."""
        return effective_recipe(self.store, object_id, self.base_recipe,
                                batch_ids=self.batch_ids, visible=visible)

    def _predict(self, ctx: ObjectContext, calibration: Calibration, *,
                 outputs: Iterable[str] | None = None, conditions: str = "",
                 parameter: str = "") -> dict[str, tuple[float, float]]:
        recipe = at_shear_rate(ctx.recipe, parameter, conditions) if conditions else ctx.recipe
        out = predict(recipe, calibration, group_ids=ctx.groups, samples=self.samples,
                      seed=self.seed, outputs=outputs, materials=self.materials)
        table = self.shared_table(ctx.groups, calibration)
        return {k: with_shared(k, v, table) for k, v in out.items()}

    def shared_table(self, groups: Mapping[str, str],
                     calibration: Calibration | None = None) -> dict[str, OutputNoise]:
        """This loop's shared noise for an object of ``groups`` (:func:`shared_table` with
        the constants of ``calibration``, default the active one)."""
        cal = calibration or self.calibration
        return shared_table(cal.constants, groups, self.shared)

    def predict_object(self, object_id: str, *, store: bool = True,
                       context: ObjectContext | None = None
                       ) -> dict[str, tuple[float, float]]:
        """Every catalogue output of ``object_id`` with the active calibration:
        ``{id: (mean, std)}`` in SI; stored (``predictions``) with the calibration version
        when ``store``."""
        ctx = context or self.context(object_id)
        result = self._predict(ctx, self.calibration)
        if store:
            self._store_predictions(object_id, result, "")
        return result

    def predict_measurement(self, object_id: str, parameter: str, conditions: str = "", *,
                            context: ObjectContext | None = None, store: bool = True
                            ) -> tuple[float, float]:
        """The prediction of one measurement (``parameter`` under ``conditions``) with the
        active calibration, stored when ``store``. A viscosity with a shear rate is
        predicted at that shear rate (module docstring). Raises :class:`TwinError` when the
        chain does not predict ``parameter``."""
        ctx = context or self.context(object_id)
        conditions = prediction_conditions(parameter, conditions)
        if conditions:
            result = self._predict(ctx, self.calibration, outputs=[parameter],
                                   conditions=conditions, parameter=parameter)
            if store and parameter in result:
                self._store_predictions(object_id, {parameter: result[parameter]},
                                        conditions)
        else:
            result = self.predict_object(object_id, store=store, context=ctx)
        if parameter not in result:
            raise TwinError(f"the chain predicts no {parameter!r} for object {object_id} "
                            "(a catalogue output with electrode prefix, e.g. "
                            "cathode.coating.am_loading)")
        return result[parameter]

    def _store_predictions(self, object_id: str, result: Mapping[str, tuple[float, float]],
                           conditions: str) -> dict[tuple[str, str, str, str], int]:
        models = _model_versions(self.samples, self.seed)
        return self.store.add_predictions(
            [{"object": object_id, "parameter": k, "conditions": conditions, "mean": m,
              "std": s, "calibration": self.calibration.id, "models": models}
             for k, (m, s) in result.items() if math.isfinite(m) and math.isfinite(s)])

    # ------------------------------------------------------------------ observe
    def _stored_prediction(self, object_id: str, parameter: str, conditions: str
                           ) -> dict[str, Any] | None:
        for p in self.store.predictions(object_id):  # newest first
            if p["parameter"] == parameter and p["conditions"] == conditions:
                return p
        return None

    def observe(self, records: Sequence[Mapping[str, Any]] | None = None, *,
                contexts: Mapping[str, ObjectContext] | None = None) -> Observed:
        """Learn from new measurements (``store.measurements()`` dicts; default: every stored
        measurement without a residual yet). See the module docstring. ``contexts``: the
        objects' contexts as predicted (default: computed from the store now)."""
        if records is None:
            records = self.unobserved()
        out = Observed()
        if not records:
            return out
        observations: list[Observation] = []
        contexts = dict(contexts or {})
        residual_rows = []
        for rec in records:
            obj, par = rec["object"], rec["parameter"]
            cond = prediction_conditions(par, rec.get("conditions", ""))
            ctx = contexts.get(obj) or contexts.setdefault(obj, self.context(obj))
            pred = self._stored_prediction(obj, par, cond)
            if pred is None:
                try:
                    self.predict_measurement(obj, par, cond, context=ctx)
                except TwinError:
                    out.skipped.append(par)
                    continue
                pred = self._stored_prediction(obj, par, cond)
                if pred is None:
                    out.skipped.append(par)
                    continue
            meas_sd = float(rec.get("uncertainty") or 0.0)
            value = float(rec["value"])
            resid = value - pred["mean"]
            z = z_score(value, meas_sd, pred["mean"], pred["std"])
            if not math.isfinite(z):
                z = math.copysign(1e9, resid)
            residual_rows.append({"record": rec["pk"], "prediction": pred["pk"],
                                  "residual": resid, "z": z})
            out.residuals.append({"record": rec["pk"], "object": obj, "parameter": par,
                                  "conditions": cond, "measured": value,
                                  "predicted": pred["mean"], "std": pred["std"],
                                  "residual": resid, "z": z, "time": rec["time"],
                                  "calibration": pred["calibration"]})
            recipe = at_shear_rate(ctx.recipe, par, cond)
            key = (par, cond, recipe.model_dump_json(), tuple(sorted(ctx.groups.items())))
            k = self._replicates[key] = self._replicates.get(key, 0) + 1
            eff_sd = replicate_std(par, value, meas_sd, pred["mean"], k,
                                   self.shared_table(ctx.groups))
            observations.append(Observation(par, value, eff_sd, recipe=recipe,
                                             groups=dict(ctx.groups), object_id=obj,
                                             time=_epoch(rec["time"])))
        self.store.add_residuals(residual_rows)
        for r in out.residuals:  # a residual learnt again for a record before the kept tail
            key = ("residual", r["parameter"], "")
            tail = self._chart_tails.get(key)
            if tail is not None and tail.keys:
                try:
                    before = (r["time"], r["record"]) < tail.keys[0][:2]
                except TypeError:  # a time without zone given by the caller: judge all
                    before = True
                if before:
                    del self._chart_tails[key]
        if observations and self.learn:
            out.calibration = self._learn(observations)
        if self.policy is not None:
            out.alarms = self.watch_policy(out.residuals)
        else:
            out.alarms = self.watch(sorted({r["parameter"] for r in out.residuals}))
        out.alarms += self.watch_specs({r["parameter"] for r in records})
        return out

    def unobserved(self) -> list[dict[str, Any]]:
        """Stored measurements without a residual, in time order."""
        from sqlalchemy import func, select

        from twinline.twin.store.schema import residuals

        with self.store.engine.connect() as conn:
            done = set(conn.execute(select(residuals.c.record_pk).group_by(
                residuals.c.record_pk).having(func.count() > 0)).scalars())
        return [r for r in self.store.measurements() if r["pk"] not in done]

    def _learn(self, observations: list[Observation]) -> str:
        cal = self.calibration
        first = min(o.time for o in observations)
        if cal.parent_id is None and cal.time < first:  # re-date the prior (docstring)
            cal = Calibration.initial(constants=cal.constants, time=first)
            self.store.add_calibration(cal.to_dict(), active=True)
        new = update(cal, observations, model=self.model)
        if self.groups_kept is not None:
            new = keep_recent_groups(new, self.groups_kept)
        self.store.add_calibration(new.to_dict(), active=True)
        self.calibration = new
        return new.id

    # ------------------------------------------------------------------ watch
    def watch(self, parameters: Iterable[str]) -> list[dict[str, Any]]:
        """SPC over the residual z-scores and the raw measurements of ``parameters``; stores
        and returns the alarms not stored before.

        The charts of a series are judged at the points this loop has not judged yet only
        (:func:`twinline.twin.charts.judge_chart`: the EWMA and CUSUM states kept, the run
        rules' look-back and the phase-I head read; the whole series once when the loop
        starts or the series changed before the kept tail); the alarms are those of
        :func:`~twinline.twin.spc.chart_alarms` over the whole series."""
        rows: list[dict[str, Any]] = []
        for par in parameters:
            rows += self._residual_chart(par)
            rows += self._measurement_charts(par)
        return self.store.insert_alarms(rows) if rows else []

    def _residual_chart(self, par: str) -> list[dict[str, Any]]:
        from twinline.twin.charts import judge_chart

        key = ("residual", par, "")
        tail = self._chart_tails.get(key)

        def judge(series: list[dict[str, Any]], first: int, total: int, tail: Any) -> Any:
            z = [max(min(s["z"], 1e6), -1e6) for s in series]
            keys = [(s["time"], s["record"], s["z"]) for s in series]
            return judge_chart(z, keys, first, total, tail, centre=0.0, sigma=1.0,
                               rules=SPC_RULES)

        got = None
        if tail is not None:
            count = self.store.series_count(par, "residual")
            total, series = self.store.residual_window(par, tail=count - tail.n
                                                       + len(tail.keys), count=True)
            total = int(total or 0)
            first = total - len(series)
            got = judge(series, first, total, tail) if series else None
        if got is None:
            series = self.store.residual_series(par)
            if not series:
                return []
            first, total = 0, len(series)
            got = judge(series, 0, total, None)
        alarms, self._chart_tails[key] = got
        rows = []
        for al in alarms:
            s = series[al.index - first]
            rows.append({"object": s["object"], "parameter": par, "series": "residual",
                         "rule": al.rule, "time": s["time"], "value": s["residual"],
                         "message": f"{par} residual z = {s['z']:.3g} at "
                                    f"{s['object']}: {al.message}"})
        return rows

    def _measurement_charts(self, par: str) -> list[dict[str, Any]]:
        from twinline.twin.charts import judge_chart
        from twinline.twin.spc import moving_range_sigma

        found = []
        for cond in self.store.measurement_conditions(par):
            tail = self._chart_tails.get(("measurement", par, cond))
            flat = self._flat_heads.get((par, cond))
            count = self.store.series_count(par, "measurement", cond)
            if count < PHASE_ONE:
                continue
            want = 0 if flat is not None else (
                None if tail is None else count - tail.n + len(tail.keys))
            total, head, last = self.store.measurement_window(par, cond, head=PHASE_ONE,
                                                              tail=want)
            if total < PHASE_ONE or len(head) < PHASE_ONE:
                continue
            hkeys = tuple((m["time"], m["pk"], float(m["value"])) for m in head)
            if flat is not None:
                if flat == hkeys:
                    continue  # the phase-I points have no spread: this chart is not drawn
                del self._flat_heads[(par, cond)]
                total, _, last = self.store.measurement_window(par, cond, tail=None)
            found.append(((head[0]["time"], head[0]["pk"]), cond, total, hkeys, last))
        rows: list[dict[str, Any]] = []
        for _, cond, total, hkeys, ms in sorted(found, key=lambda f: f[0]):
            phase = [h[2] for h in hkeys]
            sigma = moving_range_sigma(phase)
            if not sigma > 0:
                self._flat_heads[(par, cond)] = hkeys
                self._chart_tails.pop(("measurement", par, cond), None)
                continue
            centre = sum(phase) / len(phase)
            key = ("measurement", par, cond)

            def judge(ms: list[dict[str, Any]], first: int, total: int, tail: Any,
                      centre: float = centre, sigma: float = sigma,
                      hkeys: tuple[Any, ...] = hkeys) -> Any:
                return judge_chart([m["value"] for m in ms],
                                   [(m["time"], m["pk"], float(m["value"])) for m in ms],
                                   first, total, tail, centre=centre, sigma=sigma,
                                   rules=SPC_RULES, head=hkeys)

            first = total - len(ms)
            got = judge(ms, first, total, self._chart_tails.get(key))
            if got is None:
                total, _, ms = self.store.measurement_window(par, cond, tail=None)
                first, total = 0, len(ms)
                got = judge(ms, 0, total, None)
            alarms, self._chart_tails[key] = got
            label = f"{par} [{cond}]" if cond else par
            for al in alarms:
                m = ms[al.index - first]
                rows.append({"object": m["object"], "parameter": par,
                             "series": "measurement", "rule": al.rule, "time": m["time"],
                             "value": m["value"],
                             "message": f"{label} = {m['value']:.4g} (SI) at "
                                        f"{m['object']}: {al.message}"})
        return rows

    def watch_specs(self, parameters: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Specification-limit and capability alarms (:mod:`twinline.twin.capability`) of
        ``parameters`` against the base recipe's ``spec_limits``; stores and returns the new
        ones (judging only the measurements this loop has not judged yet:
        :class:`~twinline.twin.capability.SpecWatch`)."""
        from twinline.twin.capability import SpecWatch

        limits = getattr(self.base_recipe, "spec_limits", None) or {}
        if not limits:
            return []
        if self._specs is None:
            self._specs = SpecWatch()
        return self._specs.watch(self.store, limits, parameters)

    def capability(self) -> list[Any]:
        """:math:`C_p`, :math:`C_{pk}` of every measured parameter with specification limits
        (:func:`twinline.twin.capability.capability_table`)."""
        from twinline.twin.capability import capability_table

        return capability_table(self.store, getattr(self.base_recipe, "spec_limits", {}) or {})

    def watch_policy(self, residuals: Sequence[Mapping[str, Any]], *, close: bool = False
                     ) -> list[dict[str, Any]]:
        """Feed new residuals (:meth:`observe`'s dicts) to the alarm policy; stores and
        returns the alarm of each new event (series ``event``; the correlated series of the
        event are named in its message). ``close``: judge every series' last object too
        (the end of a stream)."""
        from twinline.twin.spc import RULES_POLICY

        signals = []
        for r in residuals:
            signals += self.policy.add(r["parameter"], r["conditions"], r["object"], r["z"],
                                       r["time"], r["residual"])
        if close:
            signals += self.policy.close()
        rows = []
        for sig in signals:
            if not sig.opens:
                continue
            label = f"{sig.parameter} [{sig.conditions}]" if sig.conditions else sig.parameter
            rows.append({"object": sig.object, "parameter": sig.parameter, "series": "event",
                         "rule": sig.rule, "time": sig.time, "value": sig.value,
                         "message": f"event {sig.event}: {label} residual at {sig.object}: "
                                    f"{RULES_POLICY[sig.rule]} ({sig.value:+.3g} sigma)"})
        if not rows:
            return []
        self.store.add_alarms(rows)
        return rows

    def restore_policy(self) -> int:
        """Bring a fresh alarm policy up to date with the residuals already stored (a
        restarted live loop), storing nothing; returns the residuals fed."""
        from sqlalchemy import select

        from twinline.twin.store.schema import records, residuals

        with self.store.engine.connect() as conn:
            params = sorted(conn.execute(select(records.c.parameter).distinct().join(
                residuals, residuals.c.record_pk == records.c.pk)).scalars())
        rows = []
        for par in params:
            for s in self.store.residual_series(par):
                rows.append((s["time"], s["record"], par, s))
        rows.sort(key=lambda x: (x[0], x[1]))
        for _, _, par, s in rows:
            self.policy.add(par, prediction_conditions(par, s["conditions"]), s["object"],
                            s["z"], s["time"], s["residual"])
        return len(rows)

    # ------------------------------------------------------------------ versions
    def rollback(self, version: str) -> Calibration:
        """Make stored calibration ``version`` the active one (and this loop's)."""
        state = self.store.calibration_state(version)
        self.store.activate_calibration(version)
        self.calibration = Calibration.from_dict(state)
        return self.calibration

