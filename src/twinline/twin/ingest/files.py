"""Ingestion of a line's files (CSV or Parquet) into the store: ``twinline ingest FILE``.

Long format
-----------
One row per value, with the columns (header names exactly, any order)::

    time, object, kind, parent, parameter, value, unit, role, conditions

and optionally ``uncertainty`` (one standard deviation, in ``unit``), ``method`` (a catalogue
technique), ``quantity`` and ``quantity_unit`` (how much of ``parent`` the object took).

``time``
    ISO 8601 (``2026-11-30T08:00:00Z``; without an offset the time is UTC). A time more than
    :data:`CLOCK_SKEW` in the future is refused.
``object``, ``kind``
    The line's id of the object and its kind (:data:`twinline.twin.kinds.KINDS`).
``parent``
    Empty, or the id of the object it was made from: an edge parent → object. The parent must
    be an ``object`` of the file or be in the store already. Several rows may name several
    parents of one object (converging flow).
``parameter``, ``value``, ``unit``
    A catalogue id with electrode prefix (``cathode.coating.am_loading``) or a recipe path
    (``cathode.formulation.active_material.mass_fraction``), checked and converted to SI by
    :func:`twinline.twin.ingest.parameters.to_si`. A row with empty ``parameter`` and ``value``
    only declares the object (and its edge).
``role``
    ``setting`` (machine parameter, recipe value) or ``measurement``.
``conditions``
    Empty, or ``name=value unit`` pairs separated by ``;`` (``shear_rate=12.5 1/s``).

Wide format and its map
-----------------------
A wide file has one row per object and one column per parameter. It is read with a YAML map
(``--map``; example ``examples/line_data/coating_wide.map.yaml``)::

    object: roll_id          # column with the object id               (required)
    kind: coated_roll        # the kind of every object ...            (kind or kind_column)
    kind_column: kind        # ... or a column holding it
    parent: batch_id         # column with the parent id               (optional)
    time: timestamp          # column with the time                    (required)
    columns:                 # column -> what it holds
      gap_um:    {parameter: cathode.coating.gap, unit: um, role: setting}
      loading:   {parameter: cathode.coating.am_loading, unit: mg/cm^2, role: measurement,
                  method: weighing, conditions: "position=center"}

Each mapped cell becomes one long row; an empty cell is skipped.

Policy: a file is one transaction
---------------------------------
Every row is checked before anything is written: the time, the kind, the role, the parameter,
the unit's dimension, that the value is a finite number inside the parameter's valid range,
that an object keeps one kind, that a parent exists and that no edge makes an object its own
ancestor. Any bad row rejects the whole file: nothing of it is stored, and the error lists up
to :data:`MAX_LISTED` bad rows as ``FILE:LINE: reason`` (LINE counts the header of a CSV file
as line 1; in a Parquet file it is the row number, first row 1). A crash or ``kill -9`` in the
middle leaves the store as it was before the file (the database transaction is not committed).

Ingestion is idempotent: a record's natural key is (source, object, parameter, time,
conditions), the source being the file's name (its basename) unless given, so ingesting the
same file again adds nothing.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from twinline.twin.errors import IngestError, StoreError

#: Columns every long file has.
LONG_COLUMNS = ("time", "object", "kind", "parent", "parameter", "value", "unit", "role",
                "conditions")
#: Columns a long file may have.
OPTIONAL_COLUMNS = ("uncertainty", "method", "quantity", "quantity_unit")
#: A time further than this in the future is refused.
CLOCK_SKEW = timedelta(minutes=5)
#: Bad rows listed in the error.
MAX_LISTED = 20
ROLES = ("setting", "measurement")


@dataclass
class IngestResult:
    """What an ingestion did: ``rows`` values read, ``new`` stored, ``already`` stored
    before; ``objects``/``edges`` new ones; ``seconds`` wall time."""

    file: str
    source: str
    rows: int
    new: int
    already: int
    objects: int
    edges: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Bad:
    """Bad rows collected while checking: (line, reason)."""

    file: str
    rows: list[tuple[int, str]] = field(default_factory=list)

    def add(self, lines: Any, reason: str | Any) -> None:
        if isinstance(reason, str):
            self.rows.extend((int(n), reason) for n in lines)
        else:
            self.rows.extend((int(n), str(r)) for n, r in zip(lines, reason, strict=True))

    def raise_if_any(self) -> None:
        if not self.rows:
            return
        rows = sorted(set(self.rows))
        listed = " | ".join(f"{self.file}:{n}: {r}" for n, r in rows[:MAX_LISTED])
        more = len(rows) - MAX_LISTED
        raise IngestError(listed + (f" | ... and {more} more bad rows" if more > 0 else "")
                          + f"; nothing of {self.file} was stored ({len(rows)} bad rows)")


# ------------------------------------------------------------------------------ reading
def _read_table(path: Path):
    """The file as a DataFrame of strings (CSV) or of its own types (Parquet), and the line
    number of each row."""
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
            first = 1
        elif suffix in (".csv", ".txt", ".tsv"):
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                             sep="\t" if suffix == ".tsv" else ",")
            first = 2
        else:
            raise IngestError(f"{path}: not a CSV or Parquet file (suffix {suffix or 'none'});"
                              " name it .csv or .parquet")
    except IngestError:
        raise
    except FileNotFoundError:
        raise IngestError(f"{path}: no such file") from None
    except Exception as err:  # pandas/pyarrow parsers raise many types
        raise IngestError(f"{path}: cannot be read as {suffix[1:]} "
                          f"({type(err).__name__}: {str(err).strip().splitlines()[0]})"
                          ) from None
    df.columns = [str(c).strip() for c in df.columns]
    df["_line"] = range(first, first + len(df))
    return df


@dataclass(frozen=True)
class WideMap:
    """A map of a wide file (see the module docstring)."""

    object: str
    time: str
    columns: dict[str, dict[str, str]]
    kind: str = ""
    kind_column: str = ""
    parent: str = ""


def load_map(path: str | Path) -> WideMap:
    """Read a wide-file map (YAML; format in the module docstring)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise IngestError(f"--map {path}: no such file") from None
    except yaml.YAMLError as err:
        raise IngestError(f"--map {path}: not YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise IngestError(f"--map {path}: expected a mapping with object, time, columns")
    allowed = {"object", "time", "columns", "kind", "kind_column", "parent"}
    extra = set(data) - allowed
    if extra:
        raise IngestError(f"--map {path}: unknown keys {sorted(extra)}; allowed "
                          f"{sorted(allowed)}")
    for key in ("object", "time", "columns"):
        if not data.get(key):
            raise IngestError(f"--map {path}: '{key}' is missing")
    if bool(data.get("kind")) == bool(data.get("kind_column")):
        raise IngestError(f"--map {path}: give exactly one of 'kind' and 'kind_column'")
    columns: dict[str, dict[str, str]] = {}
    if not isinstance(data["columns"], dict):
        raise IngestError(f"--map {path}: 'columns' must map column -> {{parameter, unit, "
                          "role}}")
    for col, spec in data["columns"].items():
        if not isinstance(spec, dict) or "parameter" not in spec:
            raise IngestError(f"--map {path}: column {col!r} needs at least 'parameter'")
        bad = set(spec) - {"parameter", "unit", "role", "method", "conditions"}
        if bad:
            raise IngestError(f"--map {path}: column {col!r} has unknown keys {sorted(bad)}")
        role = spec.get("role", "measurement")
        if role not in ROLES:
            raise IngestError(f"--map {path}: column {col!r} role {role!r}; choose from "
                              f"{', '.join(ROLES)}")
        columns[str(col)] = {"parameter": str(spec["parameter"]),
                             "unit": str(spec.get("unit", "") or ""), "role": role,
                             "method": str(spec.get("method", "") or ""),
                             "conditions": str(spec.get("conditions", "") or "")}
    return WideMap(object=str(data["object"]), time=str(data["time"]), columns=columns,
                   kind=str(data.get("kind") or ""),
                   kind_column=str(data.get("kind_column") or ""),
                   parent=str(data.get("parent") or ""))


def _wide_to_long(df, wmap: WideMap, file: str):
    """Melt a wide table into the long columns (one row per non-empty mapped cell)."""
    import pandas as pd

    need = [wmap.object, wmap.time, *wmap.columns]
    need += [c for c in (wmap.kind_column, wmap.parent) if c]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise IngestError(f"{file}: columns {missing} named in the map are not in the file "
                          f"(it has {[c for c in df.columns if c != '_line']})")
    base = pd.DataFrame({
        "time": df[wmap.time].astype(str), "object": df[wmap.object].astype(str),
        "kind": df[wmap.kind_column].astype(str) if wmap.kind_column else wmap.kind,
        "parent": df[wmap.parent].astype(str) if wmap.parent else "", "_line": df["_line"]})
    parts = [base.assign(parameter="", value="", unit="", role="setting", conditions="",
                         method="")]
    for col, spec in wmap.columns.items():
        values = df[col]
        keep = values.notna() & (values.astype(str).str.strip() != "")
        part = base[keep].assign(parameter=spec["parameter"], value=values[keep],
                                 unit=spec["unit"], role=spec["role"],
                                 conditions=spec["conditions"], method=spec["method"])
        part["parent"] = ""
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------ checking
def _text(series):
    """A column as stripped strings, missing values as ''."""
    return series.fillna("").astype(str).str.strip().replace({"nan": "", "None": "",
                                                              "NaT": ""})


def _affine(parameter: str, unit: str, si_unit: str):
    """(slope, offset) with SI = slope * value + offset for ``unit`` (degC has an offset);
    raises IngestError naming the parameter and unit for a unit of the wrong dimension."""
    from twinline.spec.errors import RecipeError
    from twinline.spec.units import parse_quantity

    def conv(x: float) -> float:
        try:
            return parse_quantity(f"{x!r} {unit}" if unit else x, si_unit, name=parameter)
        except RecipeError as err:
            raise IngestError(str(err)) from None

    offset = conv(0.0)
    slope = conv(1.0) - offset
    if not math.isclose(conv(1000.0), offset + 1000.0 * slope, rel_tol=1e-9, abs_tol=1e-12):
        raise IngestError(f"{parameter}: unit {unit!r} does not convert linearly")
    return slope, offset


@dataclass
class Prepared:
    """A checked file, ready to store: ``objects`` (id → (kind, created)), ``edges``
    (parent, child) → (quantity, unit, line), ``records`` a DataFrame of record columns."""

    file: str
    source: str
    objects: dict[str, tuple[str, datetime, int]]
    edges: dict[tuple[str, str], tuple[float | None, str, int]]
    records: Any
    rows: int


def prepare(path: str | Path, *, wide_map: str | Path | WideMap | None = None,
            source: str | None = None, now: datetime | None = None) -> Prepared:
    """Read and check ``path`` (long format, or wide with ``wide_map``) without touching a
    store; raises :class:`IngestError` listing the bad rows (``FILE:LINE: reason``).

    Values are converted to SI once per (parameter, unit) group, vectorised.
    """
    import numpy as np
    import pandas as pd

    from twinline.twin.ingest.parameters import resolve
    from twinline.twin.kinds import KINDS, check_kind
    from twinline.twin.store.rows import canonical_conditions

    path = Path(path)
    file = path.name
    source = source if source else file
    df = _read_table(path)
    if wide_map is not None:
        wmap = wide_map if isinstance(wide_map, WideMap) else load_map(wide_map)
        df = _wide_to_long(df, wmap, file)
    else:
        missing = [c for c in LONG_COLUMNS if c not in df.columns]
        if missing:
            raise IngestError(f"{file}: the long format needs the columns "
                              f"{', '.join(LONG_COLUMNS)}; missing {', '.join(missing)} (a "
                              "wide file needs --map)")
    bad = _Bad(file)
    line = df["_line"].to_numpy()
    obj = _text(df["object"])
    kind = _text(df["kind"])
    parent = _text(df["parent"])
    parameter = _text(df["parameter"])
    role = _text(df["role"]).str.lower()
    unit = _text(df["unit"])
    method = _text(df["method"]) if "method" in df else pd.Series("", index=df.index)
    conditions_raw = _text(df["conditions"])

    # time
    raw_time = df["time"]
    if pd.api.types.is_datetime64_any_dtype(raw_time):
        t = raw_time.dt.tz_localize("UTC") if raw_time.dt.tz is None else raw_time.dt.tz_convert(
            "UTC")
    else:
        t = pd.to_datetime(_text(raw_time), utc=True, errors="coerce", format="ISO8601")
    nat = t.isna().to_numpy()
    bad.add(line[nat], [f"time {v!r} is not an ISO 8601 time (2026-11-30T08:00:00Z)"
                        for v in _text(raw_time)[nat]])
    limit = pd.Timestamp(now or datetime.now(UTC)) + CLOCK_SKEW
    future = (t > limit).fillna(False).to_numpy()
    bad.add(line[future], [f"time {v.isoformat()} is in the future (now + "
                           f"{CLOCK_SKEW.seconds // 60} min is {limit.isoformat()})"
                           for v in t[future]])
    # object, kind, role
    empty = (obj == "").to_numpy()
    bad.add(line[empty], "object is empty")
    for k in set(kind.unique()) - set(KINDS):
        try:
            check_kind(k)
        except StoreError as err:
            bad.add(line[(kind == k).to_numpy()], str(err))
    has_param = (parameter != "").to_numpy()
    bad_role = has_param & ~role.isin(ROLES).to_numpy()
    bad.add(line[bad_role], [f"role {r!r}; choose from setting, measurement"
                             for r in role[bad_role]])
    # objects keep one kind within the file
    first = pd.DataFrame({"object": obj, "kind": kind, "line": line, "time": t})
    kinds_per = first.groupby("object")["kind"].nunique()
    for oid in kinds_per[kinds_per > 1].index:
        sel = first[first["object"] == oid]
        k0 = sel["kind"].iloc[0]
        clash = sel[sel["kind"] != k0]
        bad.add(clash["line"], f"object {oid!r} is a {k0} on line {sel['line'].iloc[0]} "
                               f"and a {clash['kind'].iloc[0]} here")
    # values: one conversion per (parameter, unit)
    value_si = np.full(len(df), np.nan)
    text = np.full(len(df), None, dtype=object)
    unc_si = np.full(len(df), np.nan)
    raw_value = df["value"]
    num = pd.to_numeric(raw_value, errors="coerce").to_numpy(dtype=float)
    raw_unc = (pd.to_numeric(df["uncertainty"], errors="coerce").to_numpy(dtype=float)
               if "uncertainty" in df else np.full(len(df), np.nan))
    if "uncertainty" in df:
        unc_text = _text(df["uncertainty"]).to_numpy()
        bad_unc = (unc_text != "") & ~np.isfinite(raw_unc)
        bad.add(line[bad_unc], [f"uncertainty {u!r} is not a number" for u in unc_text[bad_unc]])
    empty_value = _text(raw_value).to_numpy() == ""
    decl = ~has_param
    stray = decl & ~empty_value
    bad.add(line[stray], "a value without a parameter")
    groups = pd.DataFrame({"p": parameter, "u": unit}).loc[has_param].groupby(
        ["p", "u"], sort=False).indices
    idx_has = np.flatnonzero(has_param)
    for (p, u), pos in groups.items():
        rows_ = idx_has[pos]
        try:
            info = resolve(p)
        except IngestError as err:
            bad.add(line[rows_], str(err))
            continue
        if info.text:
            text[rows_] = _text(raw_value).to_numpy()[rows_]
            continue
        try:
            slope, offset = _affine(p, u, info.si_unit)
        except IngestError as err:
            bad.add(line[rows_], str(err))
            continue
        v = num[rows_]
        nonnum = ~np.isfinite(v)
        if nonnum.any():
            shown = _text(raw_value).to_numpy()[rows_][nonnum]
            bad.add(line[rows_][nonnum], [f"{p} = {s!r}: not a finite number" for s in shown])
        si = slope * v + offset
        out = np.isfinite(si) & ~((si >= info.low) & (si <= info.high))
        if out.any():
            bad.add(line[rows_][out], [
                f"{p} = {x:g} {u}".rstrip() + f": outside the valid range [{info.low:g}, "
                f"{info.high:g}] {info.si_unit or '(dimensionless)'}" for x in v[out]])
        value_si[rows_] = si
        unc_si[rows_] = raw_unc[rows_] * abs(slope)
    # conditions, canonical once per distinct text
    cond_map: dict[str, str] = {}
    for c in conditions_raw.unique():
        try:
            cond_map[c] = canonical_conditions(c)
        except Exception as err:
            cond_map[c] = ""
            bad.add(line[(conditions_raw == c).to_numpy()], f"conditions {c!r}: {err}")
    conditions = conditions_raw.map(cond_map)
    # objects and edges
    objects: dict[str, tuple[str, datetime, int]] = {}
    ok_obj = first[~empty & ~nat]
    if len(ok_obj):
        agg = ok_obj.groupby("object", sort=False).agg(kind=("kind", "first"),
                                                       created=("time", "min"),
                                                       line=("line", "first"))
        objects = {o: (r.kind, r.created.to_pydatetime(), int(r.line))
                   for o, r in agg.iterrows()}
    edges: dict[tuple[str, str], tuple[float | None, str, int]] = {}
    has_parent = (parent != "").to_numpy() & ~empty
    if has_parent.any():
        q = (pd.to_numeric(df["quantity"], errors="coerce").to_numpy(dtype=float)
             if "quantity" in df else np.full(len(df), np.nan))
        qu = _text(df["quantity_unit"]).to_numpy() if "quantity_unit" in df else None
        for i in np.flatnonzero(has_parent):
            key = (parent.iat[i], obj.iat[i])
            if key in edges:
                continue
            qty, qunit = None, ""
            if math.isfinite(q[i]):
                qunit = str(qu[i]) if qu is not None else ""
                qty = _quantity_si(q[i], qunit, file, int(line[i]), bad)
            if key[0] == key[1]:
                bad.add([line[i]], f"object {key[1]!r} names itself as its parent "
                                   "(a genealogy cycle)")
            edges[key] = (qty, qunit, int(line[i]))
        _file_cycles(edges, bad)
    bad.raise_if_any()
    keep = has_param
    records = pd.DataFrame({
        "object": obj[keep].to_numpy(), "role": role[keep].to_numpy(),
        "parameter": parameter[keep].to_numpy(), "value": value_si[keep],
        "text": text[keep], "unit": unit[keep].to_numpy(), "uncertainty": unc_si[keep],
        "method": method[keep].to_numpy(),
        "time": t[keep].dt.tz_localize(None).to_numpy(),
        "conditions": conditions[keep].to_numpy(), "line": line[keep]})
    return Prepared(file=file, source=source, objects=objects, edges=edges, records=records,
                    rows=int(keep.sum()))


def _quantity_si(value: float, unit: str, file: str, line: int, bad: _Bad) -> float | None:
    """An edge quantity in SI base units (a count without unit stays as is)."""
    from twinline.spec.units import ureg

    if not unit:
        return float(value)
    try:
        return float(ureg().Quantity(float(value), unit).to_base_units().magnitude)
    except Exception as err:
        bad.add([line], f"quantity unit {unit!r} is not a unit ({type(err).__name__})")
        return None


def _file_cycles(edges: dict[tuple[str, str], tuple[float | None, str, int]],
                 bad: _Bad) -> None:
    """Report the first edge of each genealogy cycle among the file's own edges."""
    children: dict[str, list[str]] = {}
    for p, c in edges:
        if p != c:
            children.setdefault(p, []).append(c)
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in list(children):
        if state.get(start):
            continue
        stack = [(start, iter(children.get(start, ())))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                bad.add([edges[(node, nxt)][2]], f"genealogy {node} -> {nxt}: {nxt} is already "
                                                 f"an ancestor of {node} (a genealogy cycle)")
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(children.get(nxt, ()))))


# ------------------------------------------------------------------------------ storing
def store_prepared(store: Any, prep: Prepared) -> IngestResult:
    """Write a :class:`Prepared` file into ``store`` in one transaction (all or nothing)."""
    import numpy as np
    from sqlalchemy import select

    from twinline.twin.store.rows import EdgeRow, ObjectRow
    from twinline.twin.store.schema import objects as objects_t

    t0 = _time.perf_counter()
    bad = _Bad(prep.file)
    with store.engine.begin() as conn:
        # the file's objects against the store: same kind; parents that must exist
        file_ids = list(prep.objects)
        parents_only = sorted({p for p, _ in prep.edges} - set(prep.objects))
        known: dict[str, str] = {}
        ids = file_ids + parents_only
        for i in range(0, len(ids), 900):
            known.update(conn.execute(select(objects_t.c.object_id, objects_t.c.kind).where(
                objects_t.c.object_id.in_(ids[i:i + 900]))).all())
        for oid, (kind, _, line) in prep.objects.items():
            if oid in known and known[oid] != kind:
                bad.add([line], f"object {oid!r} is a {known[oid]} in the store; it cannot "
                                f"also be a {kind}")
        for (p, c), (_, _, line) in prep.edges.items():
            if p not in prep.objects and p not in known:
                bad.add([line], f"parent {p!r} of {c!r} is neither an object of the file nor "
                                "in the store")
        bad.raise_if_any()
        n_obj = store.add_objects([ObjectRow(o, k, created, prep.source)
                                   for o, (k, created, _) in prep.objects.items()], conn=conn)
        # An edge to an object new to the store cannot close a cycle through the store (it
        # has no descendants there), and the file's own edges are acyclic (checked in
        # prepare): those go in one batch; edges to known objects are checked one by one.
        # An edge already stored is skipped (a re-ingest).
        stored = _stored_edges(store, conn, sorted({c for _, c in prep.edges if c in known}))
        fresh = [EdgeRow(p, c, qty, qunit) for (p, c), (qty, qunit, _) in prep.edges.items()
                 if c not in known]
        n_edge = store.add_edges(fresh, conn=conn, check_cycles=False)
        for (p, c), (qty, qunit, line) in prep.edges.items():
            if c not in known or (p, c) in stored:
                continue
            try:
                n_edge += store.add_edges([EdgeRow(p, c, qty, qunit)], conn=conn)
            except StoreError as err:
                raise IngestError(f"{prep.file}:{line}: {err}; nothing of {prep.file} was "
                                  "stored") from None
        rec = prep.records
        new = 0
        if len(rec):
            pks = store._pks(conn, rec["object"].unique().tolist())
            value = rec["value"].to_numpy()
            unc = rec["uncertainty"].to_numpy()
            cols = {
                "object_pk": rec["object"].map(pks).to_numpy().tolist(),
                "role": rec["role"].tolist(), "parameter": rec["parameter"].tolist(),
                "value": np.where(np.isfinite(value), value, None).tolist(),
                "text": rec["text"].tolist(), "unit": rec["unit"].tolist(),
                "uncertainty": np.where(np.isfinite(unc), unc, None).tolist(),
                "method": rec["method"].tolist(), "source": [prep.source] * len(rec),
                "time": rec["time"].to_numpy(), "conditions": rec["conditions"].tolist()}
            new = store.insert_record_columns(cols, conn=conn)
    return IngestResult(file=prep.file, source=prep.source, rows=prep.rows, new=new,
                        already=prep.rows - new, objects=n_obj, edges=n_edge,
                        seconds=_time.perf_counter() - t0)


def _stored_edges(store: Any, conn: Any, children: list[str]) -> set[tuple[str, str]]:
    """The stored edges (parent id, child id) into ``children``."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from twinline.twin.store.schema import genealogy, objects

    par, chi = aliased(objects), aliased(objects)
    out: set[tuple[str, str]] = set()
    for i in range(0, len(children), 900):
        out.update(conn.execute(
            select(par.c.object_id, chi.c.object_id)
            .join(genealogy, genealogy.c.parent_pk == par.c.pk)
            .join(chi, genealogy.c.child_pk == chi.c.pk)
            .where(chi.c.object_id.in_(children[i:i + 900]))).all())
    return out


def ingest_file(store: Any, path: str | Path, *, wide_map: str | Path | WideMap | None = None,
                source: str | None = None, now: datetime | None = None) -> IngestResult:
    """Check and store one file (long format, or wide with ``wide_map``), all or nothing.

    Returns the counts (``new`` rows stored, ``already`` stored before). Raises
    :class:`IngestError` listing up to :data:`MAX_LISTED` bad rows as ``FILE:LINE: reason``
    when any row is bad; then nothing of the file is stored.
    """
    t0 = _time.perf_counter()
    prep = prepare(path, wide_map=wide_map, source=source, now=now)
    result = store_prepared(store, prep)
    result.seconds = _time.perf_counter() - t0
    return result


def synthetic_long_table(n: int, *, seed: int, start: datetime | None = None,
                         per_roll: int = 1000):
    """A seeded synthetic long-format table of about ``n`` rows (for tests, benchmarks,
    demos): slurry batches (solid content, viscosity at two shear rates) feeding coated
    rolls (gap setting), each roll with ``per_roll`` areal-loading gauge readings one second
    apart (mg/cm², ~20 ± 0.4). Times start at ``start`` (default 2026-01-01 UTC)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start or datetime(2026, 1, 1, tzinfo=UTC))
    n_rolls = max(1, math.ceil(n / per_roll))
    cols: dict[str, list[Any]] = {c: [] for c in LONG_COLUMNS}
    for b in range(math.ceil(n_rolls / 20)):
        sb = f"SB-{b:05d}"
        tb = (t0 + pd.Timedelta(hours=b)).isoformat()
        for par, val, unit, role, cond in (
                ("cathode.mixing.solid_content", 65 + rng.normal(0, 1), "%", "setting", ""),
                ("cathode.mixing.viscosity", 4 + rng.normal(0, .2), "Pa*s", "measurement",
                 "shear_rate=10 1/s"),
                ("cathode.mixing.viscosity", 2 + rng.normal(0, .1), "Pa*s", "measurement",
                 "shear_rate=100 1/s")):
            for c, v in zip(LONG_COLUMNS, (tb, sb, "slurry_batch", "", par, f"{val:.4f}",
                                           unit, role, cond), strict=True):
                cols[c].append(v)
    rolls = np.arange(n_rolls)
    m = n_rolls * per_roll
    roll_of = np.repeat(rolls, per_roll)
    secs = np.arange(m)
    times = (t0 + pd.to_timedelta(secs, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ")
    gauge = pd.DataFrame({
        "time": times, "object": np.char.add("CR-", np.char.zfill(roll_of.astype(str), 6)),
        "kind": "coated_roll", "parent": "", "parameter": "cathode.coating.am_loading",
        "value": np.round(20 + rng.normal(0, 0.4, m), 4).astype(str), "unit": "mg/cm^2",
        "role": "measurement", "conditions": ""})
    first = np.arange(n_rolls) * per_roll
    setting = pd.DataFrame({
        "time": times[first], "object": gauge["object"].to_numpy()[first],
        "kind": "coated_roll",
        "parent": np.char.add("SB-", np.char.zfill((rolls // 20).astype(str), 5)),
        "parameter": "cathode.coating.gap",
        "value": np.round(200 + rng.normal(0, 2, n_rolls), 2).astype(str), "unit": "um",
        "role": "setting", "conditions": ""})
    return pd.concat([pd.DataFrame(cols), setting, gauge], ignore_index=True)
