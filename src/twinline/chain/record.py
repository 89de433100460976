"""The Run record: one evaluation of the chain, as plain data with a JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from twinline.atomic import write_atomic
from twinline.spec.errors import TwinlineError


@dataclass
class Run:
    """One evaluation of the chain for one recipe (plain data: pickles, JSON round trip).

    Attributes
    ----------
    recipe_name : str
    inputs : dict
        The recipe as JSON-able data (quantities in SI, with units).
    models : dict
        ``"cathode.mixing"`` → model name (``"cell.formation"`` for the cell steps).
    outputs : dict
        Catalogue id with electrode prefix → ``{"value", "unit", "std", ...}``; Monte Carlo
        adds ``mean``, ``p5``, ``p50``, ``p95``. Cell outputs have no prefix.
    products : dict
        ``"cathode"`` → ``{"slurry", "wet_film", "dry", "calendered", "slit", "finished"}``
        (+ ``"structure"`` with ``structure=True``); ``"cell"`` → ``{"cell", "filled",
        "formed"}`` with ``cell=True`` (the product keys of the step table).
    steps : list of dict
        Every step evaluated, in order: ``{"step", "scope", "model", "product",
        "seconds"}`` (``scope`` is the electrode name or ``"cell"``).
    warnings : list of str
        Validity warnings (step, parameter, value, range), in order, without repeats.
    timings : dict
        Seconds per step (``"cathode.drying"``), ``"monte_carlo"``, ``"total"``.
    versions, citations, seed, samples, sensitivity, cell, created
    """

    recipe_name: str
    inputs: dict[str, Any]
    models: dict[str, str]
    outputs: dict[str, dict[str, Any]]
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    citations: list[str] = field(default_factory=list)
    seed: int = 0
    samples: int = 0
    sensitivity: list[dict[str, Any]] = field(default_factory=list)
    cell: Any = None
    created: str = ""
    #: ``electrode → {"porosity_total", "resolved_pore_fraction", "unresolved_pore_fraction",
    #: "source", "sentence"}``: the total porosity against the pore fraction a 3D image
    #: resolves (the CBD holds the rest), see :func:`twinline.chain.structure.porosity_note`.
    porosity_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: 3D images (``electrode → Mesostructure``) of a ``structure=True`` run; kept in memory
    #: and in pickles for figures, not written to JSON (the analysis is, in ``products``).
    mesostructures: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (products and the cell as nested dicts of SI floats)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "mesostructures":
                continue
            if f.name == "products":
                value = {e: {k: to_plain(p) for k, p in prods.items()}
                         for e, prods in value.items()}
            else:
                value = to_plain(value)
            out[f.name] = value
        return out

    def to_jsonable(self) -> dict[str, Any]:
        """What ``json.loads(run.to_json())`` returns, without writing and reading the text:
        :meth:`to_dict` with NaN and ±inf as ``None`` (the server answers with it)."""
        return _nan_to_none(self.to_dict())

    def to_json(self, indent: int | None = 2) -> str:
        """The run as JSON text (NaN written as ``null``)."""
        return json.dumps(self.to_jsonable(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        """Inverse of :meth:`to_dict`: products are rebuilt as product dataclasses."""
        kwargs = {f.name: data[f.name] for f in fields(cls)
                  if f.name in data and f.name != "mesostructures"}
        kwargs["products"] = {e: {k: product_from_dict(k, v) for k, v in prods.items()}
                              for e, prods in data.get("products", {}).items()}
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Run:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        """Write ``run.json`` atomically."""
        write_atomic(path, self.to_json())

    # -- convenience ------------------------------------------------------------------
    def value(self, key: str) -> float:
        """The value of an output (``"cathode.calendering.porosity"``) in its unit."""
        return self.outputs[key]["value"]

    def table(self) -> list[dict[str, Any]]:
        """Outputs as rows ``{id, value, unit, std}`` sorted by id."""
        return [{"id": k, **v} for k, v in sorted(self.outputs.items())]


def load_run(path: str | Path) -> Run:
    """Read a ``run.json`` written by :meth:`Run.save`."""
    p = Path(path)
    try:
        return Run.from_json(p.read_text("utf-8"))
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise TwinlineError(f"{p}: not a twinline run.json ({err})") from None


_PLAIN = frozenset({float, int, str, bool, type(None)})


def to_plain(value: Any) -> Any:
    """JSON-able copy of a product, dataclass, array or container (SI floats)."""
    if type(value) in _PLAIN:   # exact types: a NumPy scalar (a float subclass) goes on
        return value
    if hasattr(value, "to_dict"):
        return to_plain(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _product_classes() -> dict[str, type]:
    """Product key of the step table → product class."""
    import importlib

    from twinline.process import products
    from twinline.spec.steps import steps

    out: dict[str, type] = {}
    for s in steps():
        module, _, name = s.product_type.rpartition(":")
        out[s.product] = getattr(importlib.import_module(module) if module else products, name)
    return out


def product_from_dict(key: str, data: Any) -> Any:
    """Rebuild a product dataclass (recursively) from its dict; unknown keys stay dicts."""
    cls = _product_classes().get(key)
    if cls is None or not isinstance(data, dict):
        return data
    return _rebuild(cls, data)


def _rebuild(cls: type, data: dict[str, Any]) -> Any:
    from twinline.process.products import ProductBase

    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    kwargs = {}
    for k, v in data.items():
        if k not in names:
            continue
        hint = hints.get(k)
        if isinstance(hint, type) and issubclass(hint, ProductBase) and isinstance(v, dict):
            v = _rebuild(hint, v)
        elif isinstance(v, list):
            v = tuple(v)
        elif v is None and k not in ("warnings",):
            v = float("nan")
        kwargs[k] = v
    return cls(**kwargs)
