r"""Calibration of the chain against the line: predict with uncertainty, learn from residuals.

The twin corrects a small, documented set of **model constants** (:class:`ConstantSpec`,
:func:`default_constants`) from the residuals of the line's measurements with a sequential
Bayesian update, and predicts every catalogue output of an object with the current state of
knowledge (:func:`predict`).

**State.** The constants live in a transformed space :math:`z` (``log`` for positive
constants, ``logit`` for fractions, ``identity``), where their prior is normal with the
library's value as mean. The state of a :class:`Calibration` is the joint normal posterior
of

.. math:: x = [\theta_1 \dots \theta_n,\; b_{i,g} \dots]

the line-wide constants :math:`\theta_i` and the **group offsets** :math:`b_{i,g}` of the
constants that vary per group (a slurry batch, a calender roll): an object of group
:math:`g` sees :math:`z_i = \theta_i + b_{i,g}`, with :math:`b_{i,g} \sim \mathcal N(0,
\tau_i^2)` a priori (hierarchical model, exchangeable groups). The first measurements of a
batch inform :math:`\theta_i + b_{i,g}` and therefore that batch's next objects strongly;
:math:`\theta_i` (the value a *new* batch starts from) only by the share
:math:`\sigma_\theta^2/(\sigma_\theta^2+\tau^2)`. A constant may have a second, nested
offset (``subgroup``, e.g. the coated roll — the strip coated at one gap — inside its slurry
batch): :math:`z_i = \theta_i + b_{i,g} + c_{i,s}`, :math:`c_{i,s} \sim \mathcal N(0,
\sigma_{c,i}^2)`, so the first discs of a strip inform its next discs, the strips of a batch
inform its next strip through :math:`b_{i,g}`, and a batch the next batches through
:math:`\theta_i` (a three-level normal hierarchy, Gelman et al. 2013, Ch. 5 and 15). Priors
per constant are documented in :func:`default_constants`.

**Update** (:func:`update`). Measurements :math:`y` (SI; ``log`` for outputs in
:data:`LOG_OUTPUTS`), the chain's prediction :math:`h(x)` at the current mean and the
Jacobian :math:`J = \partial h/\partial x` by central finite differences of the chain
(step :data:`FD_STEP` × the constant's prior sd in :math:`z`; a group offset has the
Jacobian of its constant for the objects of its group and 0 for the others), the
measurement noise :math:`R = \mathrm{diag}(\sigma_{meas}^2 + \sigma_{model}^2)`
(:data:`MODEL_NOISE`: the model's structural error, e.g. the replicate scatter of the
line). Linear-Gaussian (Kalman) update, iterated (IEKF, Bell & Cathey 1993) when
``iterations`` > 1:

.. math::
    K = P_0 J^T (J P_0 J^T + R)^{-1},\qquad
    x_{k+1} = x_0 + K\,[y - h(x_k) - J (x_0 - x_k)],\qquad
    P = (I - KJ) P_0 (I - KJ)^T + K R K^T

(Joseph form; Simon 2006, Ch. 5 and 13). For a linear model and one iteration it is the
exact conjugate posterior (tested against the closed form). **Drift**: before each update
the line-wide constants get random-walk process noise :math:`Q = \mathrm{diag}(q_i^2)\,
\Delta t` (``drift_sd`` :math:`q_i` in :math:`z` per √s, :math:`\Delta t` the time since the
previous version), so a slowly wearing roll is followed instead of being averaged out.

**Versions.** Every update returns a new immutable :class:`Calibration` (content-hash id,
parent id, time, posterior mean and covariance, the measurements it used);
:class:`CalibrationLog` keeps them for reproduction and rollback; ``to_dict``/``from_dict``
give JSON for storage.

**Predict** (:func:`predict`). The chain is run with the calibrated constants of the
object's groups (unseen groups: the line-wide value with the group variance added). The
standard deviation of each output combines, as independent contributions, (i) the
posterior of the constants, propagated by linearisation (:math:`g^T C g`, :math:`g` the
finite-difference gradient, :math:`C` the posterior covariance of the object's effective
constants), (ii) the machine tolerances, by the chain's own Monte Carlo (``samples``), and
(iii) the model's structural noise (:data:`MODEL_NOISE`).

References
----------
Bell, B. M. & Cathey, F. W., The iterated Kalman filter update as a Gauss–Newton method,
IEEE Trans. Autom. Control 38 (1993) 294–297.
Simon, D., Optimal State Estimation, Wiley (2006).
Gelman, A. et al., Bayesian Data Analysis, 3rd ed., CRC (2013), Ch. 2 (normal–normal
conjugate update) and Ch. 5 (hierarchical normal model).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from twinline.spec.errors import TwinlineError
from twinline.twin.errors import TwinError

Transform = Literal["log", "logit", "identity"]

#: Outputs whose residuals are taken in ln space (their spread is multiplicative).
LOG_OUTPUTS: frozenset[str] = frozenset({"mixing.viscosity"})

#: Finite-difference step, as a fraction of the constant's prior sd in transformed space.
FD_STEP = 1e-3

#: Format of :meth:`Calibration.to_dict`.
FORMAT = "twinline-calibration/1"

SECONDS_PER_DAY = 86400.0


# ----------------------------------------------------------------------------- noise
@dataclass(frozen=True)
class OutputNoise:
    """Structural noise of a model output: ``absolute`` (SI; ln units for
    :data:`LOG_OUTPUTS`) and ``relative`` (fraction of the prediction) sds, added in
    quadrature."""

    absolute: float = 0.0
    relative: float = 0.0

    def sd(self, predicted: float) -> float:
        return math.hypot(self.absolute, self.relative * abs(predicted))


#: Model noise per output (catalogue id without the electrode): the scatter of single
#: objects (discs) about their strip. Sources: the replicate scatter of the ARTISTIC line
#: (Duquesnoy et al. 2020, LRCS data; 528 discs, 8 per strip): AM loading, the pooled
#: within-strip sd of ln(loading), 2.4 % (the mean CV is 1.7 %; a few strips scatter 4-6 %,
#: and the pooled sd is the one a normal predictive interval needs); porosity after drying,
#: pooled within-strip SD 0.7 points; viscosity within a batch about 0.02 in log10 η
#: (0.046 in ln); calendering porosity 0.5 points (assumption).
MODEL_NOISE: dict[str, OutputNoise] = {
    "mixing.viscosity": OutputNoise(absolute=0.02 * math.log(10.0)),
    "coating.wet_film_thickness": OutputNoise(relative=0.024),
    "coating.loading": OutputNoise(relative=0.024),
    "coating.am_loading": OutputNoise(relative=0.024),
    "coating.areal_capacity": OutputNoise(relative=0.024),
    "drying.porosity": OutputNoise(absolute=0.007),
    "drying.thickness": OutputNoise(relative=0.024),
    "calendering.porosity": OutputNoise(absolute=0.005),
    "calendering.thickness": OutputNoise(relative=0.01),
    "formation.coulombic_efficiency": OutputNoise(absolute=0.005),
}
#: Model noise of an output :data:`MODEL_NOISE` does not list (assumption: 2 %).
DEFAULT_NOISE = OutputNoise(relative=0.02)


def _noise_of(pid: str, noise: Mapping[str, OutputNoise] | None) -> OutputNoise:
    table = MODEL_NOISE if noise is None else noise
    short = pid.split(".", 1)[1] if pid.count(".") >= 2 else pid
    found = table.get(pid) or table.get(short)
    if found is not None:
        return found
    return DEFAULT_NOISE if noise is None else OutputNoise()


def _noise_sd(pid: str, predicted: float, noise: Mapping[str, OutputNoise] | None) -> float:
    """Model-noise sd in observation space (ln units for :data:`LOG_OUTPUTS`)."""
    n = _noise_of(pid, noise)
    return math.hypot(n.absolute, n.relative) if _is_log(pid) else n.sd(predicted)


def _is_log(pid: str) -> bool:
    short = pid.split(".", 1)[1] if pid.count(".") >= 2 else pid
    return pid in LOG_OUTPUTS or short in LOG_OUTPUTS


# ----------------------------------------------------------------------------- constants
@dataclass(frozen=True)
class ConstantSpec:
    """One model constant the line's data can correct.

    ``name`` (``cathode.coating.wet_film_ratio``), ``step``, ``electrode`` (whose materials
    and sections it applies to), ``target`` (``<role>.<property>`` of the electrode's
    material of that role — ``active_material``, ``binder``, ``solvent``,
    ``conductive_additive`` — overridden through
    :meth:`~twinline.materials.MaterialLibrary.with_properties`; or ``coater.<field>``, a
    field of the comma coater's correlation: ``coater.ratio`` its wet-film ratio
    :math:`r_0`, ``coater.gap_exponent`` its gap exponent :math:`p`), ``transform``,
    ``prior_sd`` (in transformed space), ``outputs`` (the catalogue ids it acts on),
    ``group`` (the kind of group with its own offset, ``batch`` or ``roll``, or None)
    with ``group_sd`` :math:`\\tau`, ``subgroup`` with ``subgroup_sd`` :math:`\\sigma_c` (a
    second, nested offset: the coated ``roll`` of a batch; None for none),
    ``drift_sd`` (random-walk sd in transformed space per √s), ``prior_mean`` (natural units,
    SI; None: the library's value, filled by :meth:`Calibration.initial`) and ``source``.
    """

    name: str
    step: str
    electrode: str
    target: str
    transform: Transform
    prior_sd: float
    outputs: tuple[str, ...]
    group: str | None = None
    group_sd: float = 0.0
    drift_sd: float = 0.0
    prior_mean: float | None = None
    source: str = ""
    subgroup: str | None = None
    subgroup_sd: float = 0.0

    def group_terms(self) -> tuple[tuple[str, float], ...]:
        """The kinds of group with their own offset and their prior sds: ``(group,
        group_sd)`` then ``(subgroup, subgroup_sd)`` (a group nested in the first, e.g. the
        coated roll of a slurry batch)."""
        return tuple((k, sd) for k, sd in ((self.group, self.group_sd),
                                           (self.subgroup, self.subgroup_sd)) if k)

    def to_z(self, value: float) -> float:
        """Natural (SI) value → transformed."""
        v = float(value)
        if self.transform == "log":
            if not v > 0:
                raise TwinError(f"calibration constant {self.name} = {v:g} must be > 0 "
                                "(log transform)")
            return math.log(v)
        if self.transform == "logit":
            if not 0 < v < 1:
                raise TwinError(f"calibration constant {self.name} = {v:g} must be in (0, 1) "
                                "(logit transform)")
            return math.log(v / (1.0 - v))
        return v

    def from_z(self, z: float) -> float:
        """Transformed → natural (SI) value."""
        if self.transform == "log":
            return math.exp(z)
        if self.transform == "logit":
            return 1.0 / (1.0 + math.exp(-z))
        return float(z)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outputs"] = list(self.outputs)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ConstantSpec:
        return cls(**{**d, "outputs": tuple(d.get("outputs", ()))})


_DAY = 1.0 / math.sqrt(SECONDS_PER_DAY)

#: Calibration fields of the comma coater that :class:`~twinline.process.coating.CommaCoater`
#: does not hold, with their uncalibrated values (SI): ``gap_offset`` :math:`\delta` [m],
#: the difference between the gap the film sees and the set gap (0: the set gap).
COATER_EXTRA: dict[str, float] = {"gap_offset": 0.0}
#: SI units of the coater's calibrated fields (the wet-film ratio and the gap exponent are
#: dimensionless; the gap offset is a length).
COATER_UNITS: dict[str, str] = {"ratio": "", "gap_exponent": "", "gap_offset": "m"}


def constant_unit(target: str) -> str:
    """SI unit of a calibrated constant's ``target`` (``role.property``): the coater's from
    :data:`COATER_UNITS`, a material property's from the library's ``PROPERTY_UNITS``."""
    from twinline.materials import PROPERTY_UNITS

    role, _, prop = target.partition(".")
    if role == "coater":
        return COATER_UNITS.get(prop, "")
    return PROPERTY_UNITS.get(prop, "") or ""


def default_constants(electrode: str = "cathode", *, formation: bool = False,
                      gap_exponent: bool = False, gap_offset: bool = True,
                      strips: bool = True) -> tuple[ConstantSpec, ...]:
    r"""The documented constants of one electrode's steps (and optionally formation's).

    Defaults and their sources (prior sds in transformed space; ARTISTIC = the prototype-line
    data of Duquesnoy et al. 2020, LRCS, fitted in ``benchmarks/validate_artistic.py``):

    * ``<e>.mixing.rheology_level`` — the solvent's ``viscosity`` [Pa s] (log). In the
      Krieger–Cross model the whole flow curve is proportional to it, so it is the level of
      the slurry's rheology. Prior sd 0.13 (the fit's leave-one-batch-out RMSE, 0.058 in
      log10 η); per ``batch`` τ = 0.12 (repeat batches of one formulation differ by up to
      0.12 in log10 η, i.e. a between-batch sd of about 0.05 log10). Acts on
      ``mixing.viscosity``.
    * ``<e>.coating.wet_film_ratio`` — the comma coater's wet-film/gap ratio :math:`r_0`
      (:class:`~twinline.process.coating.CommaCoater`, 0.937) (log): prior sd 0.05 (median
      absolute AM-loading error 3.3 % leave-one-batch-out ≈ 0.67 sd); per ``batch`` τ = 0.04
      (repeat batches differ by about 5 % in wet-film/gap ratio). Applied as the recipe's
      ``gap_to_wet_ratio`` = the correlation at :math:`r_0` (so under Monte Carlo the wet
      film scales with the gap as :math:`G^1` instead of :math:`G^{0.875}`, a difference of
      0.1 % for a 1 % gap change). Acts on the wet film, loadings and all later thicknesses.
      Drift 0.005 per √day (blade wear; assumption). With ``strips``, each coated ``roll``
      (the strip coated at one gap setting) has its own offset within its batch, σ_c = 0.023
      (ARTISTIC: sd of the 66 strips' mean loading about their batch's level-and-gap-offset
      line, 2.3 %; the strip's own film: web tension, the bar's setting, the slurry's state
      during that strip). Its discs then learn their strip, and the discs' shared error is
      part of the state instead of noise (:data:`twinline.twin.loop.SHARED_NOISE` is not
      added for an output a strip offset covers).
    * ``<e>.coating.gap_offset`` (``gap_offset=True``) — the comma coater's gap offset
      :math:`\delta` [m] (identity; prior mean 0): the film sees the gap :math:`G + \delta`
      instead of the set gap :math:`G`, so the wet film is
      :math:`r_0 G_{ref} ((G+\delta)/G_{ref})^p e^{k(w_{CBD}-w_{ref})}` and the relative error
      of the film, :math:`p\,\delta/G`, is largest at the smallest gaps. Physically the
      bar's zero as set with feeler gauges, its deflection under the slurry's pressure and the
      roll's runout: an absolute error, set anew for each coating session. Line-wide prior sd
      5 µm (assumption: a feeler-gauge zero); per ``batch`` τ = 9 µm (ARTISTIC: per-batch
      least-squares δ of the 16 batches with ≥ 3 gaps, mean −1.3 µm, sd 9.0 µm; with it the
      batches' wet-film levels spread 3.0 % instead of 4.9 %). This is the batch's **gap
      response**: the first gap of a batch informs its level and (weakly) its δ, the second
      gap separates them.
    * ``<e>.drying.consolidation_porosity`` — the AM's ``consolidation_porosity`` (logit):
      prior sd 0.07 (1.75 points at 0.47: MAE 1.4 points leave-one-batch-out); per ``batch``
      τ = 0.04 (1 point; the replicate SD is 0.5 points). Acts on ``drying.porosity`` and
      everything after it. With ``strips`` a coated ``roll`` offset σ_c = 0.045 (1.1 points:
      ARTISTIC sd of the strips' mean porosity about their batch's mean).
    * ``<e>.calendering.porosity_min`` — the AM's ``porosity_min`` (logit): prior sd 0.125
      (2.4 points; leave-one-row-out MAE 0.019 on the lab calender).
    * ``<e>.calendering.compaction_pressure`` — the AM's ``compaction_pressure`` [Pa] (log):
      prior sd 0.2 (assumption: 10 fitted rows); per ``roll`` τ = 0.1 and drift 0.01 per √day
      (roll wear and roughness change the effective nip; assumption).
    * ``<e>.coating.gap_exponent`` (``gap_exponent=True``) — the comma coater's gap exponent
      :math:`p` (0.875) (identity): prior sd 0.1 (assumption: between 0.75 and 1, a film
      that scales less or exactly with the gap), line-wide. Lets the line's data correct how
      the wet film follows the gap, which a wet-film ratio cannot.
    * ``formation.first_cycle_efficiency`` (``formation=True``) — the anode AM's
      ``first_cycle_efficiency`` (logit): prior sd 0.2 (about 1.8 points at 0.90; the
      library's values are typical half-cell figures, Örüm Aydin et al. 2023). Acts on the
      formation outputs, which need the cell walk (``cell=True``, PyBaMM).
    """
    e = electrode
    after_coating = ("coating.wet_film_thickness", "coating.loading", "coating.am_loading",
                     "coating.areal_capacity", "drying.thickness", "drying.porosity",
                     "calendering.thickness", "calendering.porosity")
    specs = [
        ConstantSpec(f"{e}.mixing.rheology_level", "mixing", e, "solvent.viscosity", "log",
                     0.13, (f"{e}.mixing.viscosity",), group="batch",
                     group_sd=0.12, source="ARTISTIC rheology fit (Duquesnoy2020)"),
        ConstantSpec(f"{e}.coating.wet_film_ratio", "coating", e, "coater.ratio", "log", 0.05,
                     tuple(f"{e}.{p}" for p in after_coating), group="batch", group_sd=0.04,
                     drift_sd=0.005 * _DAY,
                     source="ARTISTIC comma-coater fit (Duquesnoy2020)",
                     subgroup="roll" if strips else None, subgroup_sd=0.023 if strips else 0.0),
        ConstantSpec(f"{e}.drying.consolidation_porosity", "drying", e,
                     "active_material.consolidation_porosity", "logit", 0.07,
                     tuple(f"{e}.{p}" for p in after_coating[4:]), group="batch",
                     group_sd=0.04, source="ARTISTIC drying-porosity fit (Duquesnoy2020)",
                     subgroup="roll" if strips else None, subgroup_sd=0.045 if strips else 0.0),
        ConstantSpec(f"{e}.calendering.porosity_min", "calendering", e,
                     "active_material.porosity_min", "logit", 0.125,
                     (f"{e}.calendering.thickness", f"{e}.calendering.porosity"),
                     source="ARTISTIC calendering fit (Duquesnoy2020)"),
        ConstantSpec(f"{e}.calendering.compaction_pressure", "calendering", e,
                     "active_material.compaction_pressure", "log", 0.2,
                     (f"{e}.calendering.thickness", f"{e}.calendering.porosity"),
                     group="roll", group_sd=0.1, drift_sd=0.01 * _DAY,
                     source="ARTISTIC calendering fit (Duquesnoy2020); roll terms assumed"),
    ]
    if gap_offset:
        specs.append(ConstantSpec(
            f"{e}.coating.gap_offset", "coating", e, "coater.gap_offset", "identity", 5e-6,
            tuple(f"{e}.{p}" for p in after_coating), group="batch", group_sd=9e-6,
            source="ARTISTIC per-batch gap offsets (Duquesnoy2020 data); line-wide sd assumed"))
    if gap_exponent:
        specs.append(ConstantSpec(
            f"{e}.coating.gap_exponent", "coating", e, "coater.gap_exponent", "identity", 0.1,
            tuple(f"{e}.{p}" for p in after_coating),
            source="CommaCoater gap exponent (Duquesnoy2020 fit); prior sd assumed"))
    if formation:
        specs.append(ConstantSpec(
            "formation.first_cycle_efficiency", "formation", "anode",
            "active_material.first_cycle_efficiency", "logit", 0.2,
            ("formation.coulombic_efficiency", "formation.initial_capacity_loss",
             "formation.sei_lithium_loss"), source="OrumAydin2023 (graphite ICE ~90 %)"))
    return tuple(specs)


# ----------------------------------------------------------------------------- applying
def _composition(recipe: Any, electrode: str, materials: Any) -> Any:
    from twinline.chain.runner import POLARITY
    from twinline.process.composition import resolve_composition

    return resolve_composition(recipe.electrodes()[electrode], materials, POLARITY[electrode])


def _material_of(recipe: Any, spec: ConstantSpec, materials: Any) -> str:
    role = spec.target.split(".", 1)[0]
    comp = _composition(recipe, spec.electrode, materials)
    name = getattr(comp, role, None)
    if not isinstance(name, str):
        raise TwinError(f"calibration constant {spec.name}: target {spec.target!r} names no "
                        "material role; use active_material, conductive_additive, binder, "
                        "solvent or coater.<field> (ratio, gap_exponent)")
    return name


def library_value(recipe: Any, spec: ConstantSpec, materials: Any = None) -> float:
    """The uncalibrated value of a constant for ``recipe`` (SI): the material library's, or
    the :class:`~twinline.process.coating.CommaCoater` default for ``coater.<field>``."""
    from twinline.chain.steps import resolve_materials

    if spec.target.startswith("coater."):
        from twinline.process.coating import CommaCoater

        field_name = spec.target.split(".", 1)[1]
        if field_name in COATER_EXTRA:
            return COATER_EXTRA[field_name]
        return float(getattr(CommaCoater(), field_name))
    mats = resolve_materials(recipe, materials)
    if spec.electrode not in recipe.electrodes():
        raise TwinError(f"calibration constant {spec.name}: the recipe {recipe.name!r} has no "
                        f"{spec.electrode}")
    name = _material_of(recipe, spec, mats)
    prop = spec.target.split(".", 1)[1]
    value = mats[name].get(prop, None)
    if not isinstance(value, int | float):
        raise TwinError(f"calibration constant {spec.name}: material {name!r} has no numeric "
                        f"property {prop!r}; add it in a materials file")
    return float(value)


def apply_constants(recipe: Any, values: Mapping[str, float],
                    constants: Sequence[ConstantSpec], materials: Any = None
                    ) -> tuple[Any, Any]:
    """The recipe and material library of a run with the constants ``values`` (SI).

    Material constants become properties of the electrode's material
    (:meth:`~twinline.materials.MaterialLibrary.with_properties`, source ``calibration``);
    ``coater.<field>`` constants (``ratio``, ``gap_exponent``) become the comma coater's
    ``gap_to_wet_ratio`` in a copy of the
    recipe (a recipe that sets one has it scaled by :math:`r/r_0`; a slot die is left alone).
    Constants of an electrode the recipe lacks are skipped.
    """
    from twinline.chain.steps import resolve_materials

    mats = resolve_materials(recipe, materials)
    coater: dict[str, dict[str, float]] = {}
    for spec in constants:
        if spec.name not in values or spec.electrode not in recipe.electrodes():
            continue
        v = float(values[spec.name])
        if spec.target.startswith("coater."):
            coater.setdefault(spec.electrode, {})[spec.target.split(".", 1)[1]] = v
        else:
            name = _material_of(recipe, spec, mats)
            mats = mats.with_properties(name, {spec.target.split(".", 1)[1]: v},
                                        source=f"calibration {spec.name}")
    for electrode, fields in coater.items():
        recipe = _with_coater(recipe, electrode, fields, mats)
    return recipe, mats


def effective_gap(gap: float, offset: float) -> float:
    r"""The comma gap the film sees [m]: the set ``gap`` plus the calibrated ``offset``
    :math:`\delta` [m], not below 1 % of the set gap (a guard for extreme iterates)."""
    return max(float(gap) + float(offset), 0.01 * float(gap))


def _with_coater(recipe: Any, electrode: str, fields: Mapping[str, float],
                 materials: Any) -> Any:
    r"""The recipe with the comma coater's correlation at ``fields`` (``ratio``,
    ``gap_exponent``, ``gap_offset`` [m]) written as its ``gap_to_wet_ratio``.

    The gap offset :math:`\delta` evaluates the correlation at the effective gap
    :math:`G + \delta` (:func:`effective_gap`): :math:`h_{wet} = r_0 G_{ref}
    ((G+\delta)/G_{ref})^p e^{k(w_{CBD}-w_{ref})}`, written as the ratio :math:`h_{wet}/G` of
    the set gap :math:`G`."""
    from twinline.process.coating import CommaCoater, comma_wet_thickness

    el = recipe.electrodes()[electrode]
    coating = el.coating
    if coating.method != "comma" or coating.gap is None:
        return recipe
    gap = float(coating.gap)
    fields = dict(fields)
    g_eff = effective_gap(gap, fields.pop("gap_offset", 0.0))
    if coating.gap_to_wet_ratio is not None:
        base = CommaCoater()
        ratio = fields.get("ratio", base.ratio) / base.ratio
        p_new = fields.get("gap_exponent", base.gap_exponent)
        p = p_new - base.gap_exponent
        r = (float(coating.gap_to_wet_ratio) * ratio * (gap / base.gap_ref) ** p
             * (g_eff / gap) ** p_new)
    else:
        comp = _composition(recipe, electrode, materials)
        cbd = float(comp.conductive_mass_fraction) + float(comp.binder_mass_fraction)
        r = float(comma_wet_thickness(g_eff, cbd, replace(CommaCoater(), **fields))) / gap
    el = el.model_copy(update={"coating": coating.model_copy(update={"gap_to_wet_ratio": r})})
    return recipe.model_copy(update={electrode: el})


def chain_outputs(recipe: Any, values: Mapping[str, float], constants: Sequence[ConstantSpec],
                  *, materials: Any = None, samples: int = 0, seed: int = 0,
                  cell: bool = False) -> dict[str, tuple[float, float]]:
    """Run the chain with the constants ``values``: ``{catalogue id: (SI value, SI std)}``
    (std from the Monte Carlo over the machine tolerances, 0 without ``samples``)."""
    import warnings

    from twinline.chain import run_chain
    from twinline.chain.outputs import display_unit
    from twinline.spec.errors import ValidityWarning

    rec, mats = apply_constants(recipe, values, constants, materials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ValidityWarning)
        run = run_chain(rec, materials=mats, samples=samples, seed=seed, cell=cell)
    out: dict[str, tuple[float, float]] = {}
    for key, entry in run.outputs.items():
        value = entry.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        pid = key.split(".", 1)[1] if key.count(".") >= 2 else key
        si = _si_unit(key, pid)
        a, b = 1.0, 0.0
        if si is not None:
            try:
                _, a, b = display_unit(pid, si)
            except KeyError:  # not a catalogue id: the run's unit is its SI unit
                a, b = 1.0, 0.0
        std = entry.get("std")
        std = 0.0 if std is None else float(std)
        out[key] = ((float(value) - b) / a, abs(std / a))
    return out


def _si_unit(key: str, pid: str) -> str | None:
    from twinline.chain.outputs import electrode_output_units

    if key.split(".", 1)[0] in ("cathode", "anode"):
        return electrode_output_units().get(pid)
    from twinline.process.registry import step_outputs

    step = key.split(".", 1)[0]
    try:
        spec = step_outputs(step).get(key)
    except TwinlineError:  # a non-step output (cell performance) keeps its unit
        return None
    return None if spec is None else spec.si_unit


# ----------------------------------------------------------------------------- observations
@dataclass(frozen=True)
class Observation:
    """One measurement of an object: ``output`` (catalogue id with electrode,
    ``cathode.coating.am_loading``), ``value`` and ``std`` (its measurement uncertainty, SI),
    the object's ``recipe`` (effective settings; what the forward model runs), its
    ``groups`` (``{"batch": "96/70.84", "roll": "R1"}``), ``object_id`` and ``time``
    [s since the epoch]."""

    output: str
    value: float
    std: float
    recipe: Any = None
    groups: Mapping[str, str] = field(default_factory=dict)
    object_id: str = ""
    time: float = 0.0

    def record(self) -> dict[str, Any]:
        """JSON-able record (without the recipe)."""
        return {"object": self.object_id, "output": self.output, "value": float(self.value),
                "std": float(self.std), "time": float(self.time),
                "groups": dict(sorted(self.groups.items()))}


#: A forward model: ``(recipe, {constant: SI value}, constants) → {output id: SI value}``.
Forward = Callable[[Any, Mapping[str, float], Sequence[ConstantSpec]], Mapping[str, float]]


class ChainModel:
    """The chain as the forward model of :func:`update` (deterministic runs, cached)."""

    def __init__(self, *, materials: Any = None, cell: bool = False, cache_size: int = 256):
        self.materials, self.cell = materials, cell
        # key: the recipe's id; each entry holds the recipe itself, so that a cached recipe
        # cannot be freed and its id reused by another recipe (that returned another recipe's
        # outputs, depending on the allocator)
        self._cache: dict[Any, tuple[Any, dict[str, float]]] = {}
        self._size = cache_size

    def __call__(self, recipe: Any, values: Mapping[str, float],
                 constants: Sequence[ConstantSpec]) -> dict[str, float]:
        key = (id(recipe), tuple(sorted((k, float(v)) for k, v in values.items())))
        entry = self._cache.get(key)
        if entry is not None and entry[0] is recipe:
            return entry[1]
        hit = {k: v for k, (v, _) in chain_outputs(
            recipe, values, constants, materials=self.materials, cell=self.cell).items()}
        if len(self._cache) >= self._size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (recipe, hit)
        return hit


# ----------------------------------------------------------------------------- the state
def _label(spec: ConstantSpec, group_id: str, kind: str | None = None) -> str:
    return f"{spec.name}@{kind or spec.group}={group_id}"


@dataclass(frozen=True)
class Calibration:
    """One immutable version of the calibration (see the module docstring).

    ``labels`` name the state's components: the constants' names, then one
    ``<constant>@<group kind>=<group id>`` per group offset seen; ``mean`` and ``cov`` are
    the posterior in transformed space; ``measurements`` the records of the update that made
    this version; ``time`` [s since the epoch].
    """

    id: str
    parent_id: str | None
    time: float
    constants: tuple[ConstantSpec, ...]
    labels: tuple[str, ...]
    mean: np.ndarray
    cov: np.ndarray
    measurements: tuple[dict[str, Any], ...] = ()

    # -- construction
    @classmethod
    def initial(cls, recipe: Any = None, constants: Iterable[ConstantSpec] | None = None, *,
                materials: Any = None, time: float = 0.0) -> Calibration:
        """The prior: each constant at its ``prior_mean`` (else the library's value for
        ``recipe``) with its ``prior_sd``, independent; no groups yet.

        ``constants`` defaults to :func:`default_constants` of the recipe's electrodes,
        keeping those whose material has the property.
        """
        if constants is None:
            if recipe is None:
                raise TwinError("Calibration.initial needs a recipe or the constants")
            specs = []
            for e in recipe.electrodes():
                for spec in default_constants(e):
                    try:
                        specs.append(replace(spec, prior_mean=library_value(recipe, spec,
                                                                            materials)))
                    except TwinError:
                        continue
        else:
            specs = []
            for spec in constants:
                if spec.prior_mean is None:
                    if recipe is None:
                        raise TwinError(f"calibration constant {spec.name} has no prior_mean "
                                        "and no recipe to take it from")
                    spec = replace(spec, prior_mean=library_value(recipe, spec, materials))
                specs.append(spec)
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise TwinError(f"calibration constants must have distinct names, got {names}")
        mean = np.array([s.to_z(s.prior_mean) for s in specs], dtype=float)
        cov = np.diag([float(s.prior_sd) ** 2 for s in specs])
        return _make(None, float(time), tuple(specs), tuple(names), mean, cov, ())

    # -- reading
    def spec(self, name: str) -> ConstantSpec:
        for s in self.constants:
            if s.name == name:
                return s
        raise TwinError(f"unknown calibration constant {name!r}; known: "
                        f"{[s.name for s in self.constants]}")

    def effective(self, groups: Mapping[str, str] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance (transformed space) of the constants an object of ``groups``
        sees: line-wide value plus its groups' offsets (a group not seen yet: offset 0 with
        variance τ²)."""
        groups = dict(groups or {})
        index = {lab: i for i, lab in enumerate(self.labels)}
        n = len(self.constants)
        a = np.zeros((n, len(self.labels)))
        extra = np.zeros(n)
        for i, spec in enumerate(self.constants):
            a[i, i] = 1.0
            for kind, sd in spec.group_terms():
                if kind not in groups:
                    continue
                j = index.get(_label(spec, str(groups[kind]), kind))
                if j is None:
                    extra[i] += sd ** 2
                else:
                    a[i, j] = 1.0
        return a @ self.mean, a @ self.cov @ a.T + np.diag(extra)

    def values(self, groups: Mapping[str, str] | None = None) -> dict[str, float]:
        """The constants' posterior-mean values (SI) for an object of ``groups``."""
        z, _ = self.effective(groups)
        return {s.name: s.from_z(float(zi)) for s, zi in zip(self.constants, z, strict=True)}

    def sd(self, label: str) -> float:
        """Posterior sd (transformed space) of one state component."""
        return float(math.sqrt(self.cov[self.labels.index(label), self.labels.index(label)]))

    # -- storage
    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (floats written with ``repr`` precision: a round trip is exact)."""
        return {"format": FORMAT, "id": self.id, "parent_id": self.parent_id,
                "time": self.time, "constants": [s.to_dict() for s in self.constants],
                "labels": list(self.labels), "mean": [float(x) for x in self.mean],
                "cov": [[float(x) for x in row] for row in self.cov],
                "measurements": [dict(m) for m in self.measurements]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibration:
        if d.get("format") != FORMAT:
            raise TwinError(f"calibration: format {d.get('format')!r} is not {FORMAT!r}")
        try:
            specs = tuple(ConstantSpec.from_dict(s) for s in d["constants"])
            mean = _frozen(np.asarray(d["mean"], dtype=float))
            cov = _frozen(np.asarray(d["cov"], dtype=float))
            labels = tuple(str(x) for x in d["labels"])
            if mean.shape != (len(labels),) or cov.shape != (len(labels), len(labels)):
                raise ValueError("mean/cov/labels sizes differ")
            return cls(id=str(d["id"]), parent_id=d.get("parent_id"), time=float(d["time"]),
                       constants=specs, labels=labels, mean=mean, cov=cov,
                       measurements=tuple(dict(m) for m in d.get("measurements", ())))
        except (KeyError, TypeError, ValueError) as err:
            raise TwinError(f"calibration {d.get('id', '?')}: cannot be read: {err}") from None


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _make(parent_id: str | None, time: float, specs: tuple[ConstantSpec, ...],
          labels: tuple[str, ...], mean: np.ndarray, cov: np.ndarray,
          measurements: tuple[dict[str, Any], ...]) -> Calibration:
    body = {"parent_id": parent_id, "time": time, "constants": [s.to_dict() for s in specs],
            "labels": list(labels), "mean": [float(x) for x in mean],
            "cov": [[float(x) for x in row] for row in cov],
            "measurements": list(measurements)}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return Calibration(id=digest, parent_id=parent_id, time=time, constants=specs,
                       labels=labels, mean=_frozen(mean), cov=_frozen(cov),
                       measurements=measurements)


class CalibrationLog:
    """The versions of a calibration, in memory: add, get, list, rollback."""

    def __init__(self, versions: Iterable[Calibration] = ()):
        self._versions: dict[str, Calibration] = {}
        for v in versions:
            self.add(v)

    def add(self, version: Calibration) -> Calibration:
        self._versions[version.id] = version
        return version

    def get(self, version_id: str) -> Calibration:
        try:
            return self._versions[version_id]
        except KeyError:
            raise TwinError(f"unknown calibration version {version_id!r}; known: "
                            f"{list(self._versions)[-5:]}") from None

    def list(self) -> list[Calibration]:
        return sorted(self._versions.values(), key=lambda c: c.time)

    def rollback(self, version_id: str) -> Calibration:
        """The parent of ``version_id`` (the state before that update), exactly."""
        version = self.get(version_id)
        if version.parent_id is None:
            raise TwinError(f"calibration version {version_id} is the prior; it has no parent "
                            "to roll back to")
        return self.get(version.parent_id)


# ----------------------------------------------------------------------------- update
def _obs_space(pid: str, value: float) -> float:
    if _is_log(pid):
        if not value > 0:
            raise TwinError(f"measurement {pid} = {value:g} must be > 0 (its residual is "
                            "taken in log space)")
        return math.log(value)
    return float(value)


def update(calibration: Calibration, observations: Sequence[Observation], *,
           model: Forward | None = None, time: float | None = None, iterations: int = 1,
           noise: Mapping[str, OutputNoise] | None = None) -> Calibration:
    """A new calibration version from ``observations`` (see the module docstring).

    Parameters
    ----------
    calibration : Calibration
        The current version (the prior of this update).
    observations : sequence of Observation
        Measurements (SI) with the recipes of their objects and their groups.
    model : callable, optional
        Forward model (default :class:`ChainModel`). If it has a method ``jacobian(recipe,
        values, constants) -> {output: {constant: ∂y/∂value}}`` that is used instead of
        finite differences.
    time : float, optional
        Time of the update [s since the epoch]; default the latest observation's time (not
        before the calibration's). Drift noise is added for the time since ``calibration``.
    iterations : int
        Gauss–Newton iterations of the IEKF (1: the extended Kalman update).
    noise : mapping, optional
        Model noise per output (default :data:`MODEL_NOISE`; outputs a given mapping lacks
        get none).

    Returns
    -------
    Calibration
        Child of ``calibration``; ``measurements`` holds the observations' records.
    """
    if not observations:
        raise TwinError("a calibration update needs at least one measurement")
    if iterations < 1:
        raise TwinError(f"iterations = {iterations} must be >= 1")
    model = model or ChainModel()
    specs = calibration.constants
    t_new = max([calibration.time] + [float(o.time) for o in observations]) \
        if time is None else float(time)
    dt = max(t_new - calibration.time, 0.0)

    labels = list(calibration.labels)
    x0 = list(calibration.mean)
    index = {lab: i for i, lab in enumerate(labels)}
    new_var: list[float] = []
    for obs in observations:
        for spec in specs:
            for kind, sd in spec.group_terms():
                if kind not in obs.groups:
                    continue
                lab = _label(spec, str(obs.groups[kind]), kind)
                if lab not in index:
                    index[lab] = len(labels)
                    labels.append(lab)
                    x0.append(0.0)
                    new_var.append(sd ** 2)
    n_old = len(calibration.labels)
    p0 = np.zeros((len(labels), len(labels)))
    p0[:n_old, :n_old] = calibration.cov
    p0[n_old:, n_old:] = np.diag(new_var) if new_var else 0.0
    for i, spec in enumerate(specs):
        p0[i, i] += spec.drift_sd ** 2 * dt
    x0a = np.asarray(x0, dtype=float)

    # objects: observations sharing recipe and groups share the forward runs
    objects: dict[Any, list[int]] = {}
    for k, obs in enumerate(observations):
        key = (id(obs.recipe), tuple(sorted(obs.groups.items())))
        objects.setdefault(key, []).append(k)
    y = np.array([_obs_space(o.output, o.value) for o in observations])
    meas_sd = np.array([o.std / o.value if _is_log(o.output) else o.std
                        for o in observations], dtype=float)

    x = x0a.copy()
    for _ in range(iterations):
        h, jac, pred = _linearise(x, labels, index, specs, observations, objects, model)
        model_sd = np.array([_noise_sd(o.output, pred[k], noise)
                             for k, o in enumerate(observations)])
        r = np.diag(meas_sd ** 2 + model_sd ** 2)
        s = jac @ p0 @ jac.T + r
        gain = np.linalg.solve(s, jac @ p0).T
        x_next = x0a + gain @ (y - h - jac @ (x0a - x))
        done = np.allclose(x_next, x, rtol=0.0, atol=1e-10)
        x = x_next
        if done:
            break
    ikh = np.eye(len(labels)) - gain @ jac
    p = ikh @ p0 @ ikh.T + gain @ r @ gain.T
    p = 0.5 * (p + p.T)
    records = tuple(o.record() for o in observations)
    return _make(calibration.id, t_new, specs, tuple(labels), x, p, records)


def _linearise(x: np.ndarray, labels: list[str], index: dict[str, int],
               specs: tuple[ConstantSpec, ...], observations: Sequence[Observation],
               objects: dict[Any, list[int]], model: Forward
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prediction in observation space, its Jacobian wrt the state, and SI predictions."""
    h = np.zeros(len(observations))
    pred = np.zeros(len(observations))
    jac = np.zeros((len(observations), len(labels)))
    for members in objects.values():
        obs0 = observations[members[0]]
        cols = []  # per constant: state columns its effective value sums
        z = np.zeros(len(specs))
        for i, spec in enumerate(specs):
            c = [i]
            for kind, _ in spec.group_terms():
                if kind in obs0.groups:
                    c.append(index[_label(spec, str(obs0.groups[kind]), kind)])
            cols.append(c)
            z[i] = sum(x[j] for j in c)
        values = {s.name: s.from_z(float(zi)) for s, zi in zip(specs, z, strict=True)}
        wanted = {observations[k].output for k in members}
        out = model(obs0.recipe, values, specs)
        missing = wanted - set(out)
        if missing:
            raise TwinError(f"the model predicts no {sorted(missing)[0]!r} for object "
                            f"{obs0.object_id or '?'}; check the output id (catalogue id with "
                            "the electrode, e.g. cathode.coating.am_loading)")
        grads = _gradients(z, values, specs, wanted, out, obs0.recipe, model)
        for k in members:
            pid = observations[k].output
            pred[k] = float(out[pid])
            h[k] = _obs_space(pid, pred[k])
            scale = 1.0 / pred[k] if _is_log(pid) else 1.0
            for i, g in grads.get(pid, {}).items():
                for j in cols[i]:
                    jac[k, j] += g * scale
    return h, jac, pred


def _gradients(z: np.ndarray, values: Mapping[str, float], specs: tuple[ConstantSpec, ...],
               wanted: set[str], out: Mapping[str, float], recipe: Any, model: Forward
               ) -> dict[str, dict[int, float]]:
    """∂y/∂z_i (SI per transformed unit) of the wanted outputs."""
    grads: dict[str, dict[int, float]] = {pid: {} for pid in wanted}
    jacobian = getattr(model, "jacobian", None)
    if jacobian is not None:
        d = jacobian(recipe, values, specs)
        for i, spec in enumerate(specs):
            dv_dz = _dvalue_dz(spec, float(z[i]))
            for pid in wanted:
                g = float(d.get(pid, {}).get(spec.name, 0.0))
                if g:
                    grads[pid][i] = g * dv_dz
        return grads
    for i, spec in enumerate(specs):
        if spec.outputs and not wanted & set(spec.outputs):
            continue
        step = FD_STEP * max(spec.prior_sd, 1e-6)
        plus, minus = dict(values), dict(values)
        plus[spec.name] = spec.from_z(float(z[i]) + step)
        minus[spec.name] = spec.from_z(float(z[i]) - step)
        up, down = model(recipe, plus, specs), model(recipe, minus, specs)
        for pid in wanted:
            g = (float(up[pid]) - float(down[pid])) / (2.0 * step)
            if g:
                grads[pid][i] = g
    return grads


def _dvalue_dz(spec: ConstantSpec, z: float) -> float:
    if spec.transform == "log":
        return math.exp(z)
    if spec.transform == "logit":
        v = 1.0 / (1.0 + math.exp(-z))
        return v * (1.0 - v)
    return 1.0


# ----------------------------------------------------------------------------- predict
def predict(recipe: Any, calibration: Calibration, *,
            group_ids: Mapping[str, str] | None = None, samples: int = 0, seed: int = 0,
            outputs: Iterable[str] | None = None, materials: Any = None, cell: bool = False,
            noise: Mapping[str, OutputNoise] | None = None, model_noise: bool = True
            ) -> dict[str, tuple[float, float]]:
    """Every catalogue output of an object, with its uncertainty: ``{id: (mean, std)}`` (SI).

    The mean is the chain's deterministic value with the calibrated constants of the
    object's groups (``group_ids``: ``{"batch": ..., "roll": ...}``); the std combines the
    posterior of the constants (linearised, central differences), the machine tolerances
    (the chain's Monte Carlo with ``samples`` and ``seed``; none with 0) and, with
    ``model_noise``, the model's structural noise (``noise``, default :data:`MODEL_NOISE`).
    ``outputs`` restricts the linearisation (and the result) to some ids.
    """
    specs = calibration.constants
    z, cov = calibration.effective(group_ids)
    values = {s.name: s.from_z(float(zi)) for s, zi in zip(specs, z, strict=True)}
    base = chain_outputs(recipe, values, specs, materials=materials, samples=samples,
                         seed=seed, cell=cell)
    keys = [k for k in base if outputs is None or k in set(outputs)]
    grad = np.zeros((len(keys), len(specs)))
    for i, spec in enumerate(specs):
        if spec.outputs and not set(keys) & set(spec.outputs):
            continue
        step = FD_STEP * max(spec.prior_sd, 1e-6)
        plus, minus = dict(values), dict(values)
        plus[spec.name] = spec.from_z(float(z[i]) + step)
        minus[spec.name] = spec.from_z(float(z[i]) - step)
        up = chain_outputs(recipe, plus, specs, materials=materials, cell=cell)
        down = chain_outputs(recipe, minus, specs, materials=materials, cell=cell)
        for r, key in enumerate(keys):
            if key in up and key in down:
                grad[r, i] = (up[key][0] - down[key][0]) / (2.0 * step)
    var_model = np.einsum("ri,ij,rj->r", grad, cov, grad)
    result: dict[str, tuple[float, float]] = {}
    for r, key in enumerate(keys):
        mean, std_mc = base[key]
        var = max(float(var_model[r]), 0.0) + std_mc ** 2
        if model_noise:
            sd = _noise_sd(key, mean, noise)
            var += (sd * abs(mean)) ** 2 if _is_log(key) else sd ** 2
        result[key] = (float(mean), math.sqrt(var))
    return result


def z_score(measured: float, measured_std: float, predicted: float,
            predicted_std: float) -> float:
    """Residual in units of the combined uncertainty:
    :math:`(y - \\hat y)/\\sqrt{\\sigma_y^2 + \\sigma_{\\hat y}^2}` (inf for a nonzero residual
    without any uncertainty, 0 for none)."""
    resid = float(measured) - float(predicted)
    scale = math.hypot(float(measured_std), float(predicted_std))
    if scale == 0.0:
        return 0.0 if resid == 0.0 else math.copysign(math.inf, resid)
    return resid / scale
