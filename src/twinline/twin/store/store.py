"""The store: a line's database behind one small API, on SQLite or PostgreSQL.

:meth:`Store.open` takes a file path (an SQLite file, WAL mode, foreign keys on) or any
SQLAlchemy URL (``postgresql+psycopg://user@host:port/db``). A new, empty database is created
at the newest schema; a database at an older schema is refused with the command that migrates
it (``twinline db upgrade``, :meth:`Store.upgrade`, Alembic).

Writes are idempotent: objects are keyed by their line id, edges by (parent, child), records
by their natural key (source, object, parameter, time, conditions) — storing a row twice
stores it once, and the count of rows actually added is returned. Lineage queries
(:meth:`Store.trace`, :meth:`Store.track`) are recursive SQL (common table expressions), one
query per direction, not Python loops.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from twinline.twin.errors import StoreError
from twinline.twin.store.rows import EdgeRow, ObjectRow, RecordRow, now, utc

#: Lineage deeper than this is refused as a probable cycle.
MAX_DEPTH = 64
#: Rows per INSERT batch.
BATCH = 5000
#: A residual series over all conditions is read as the merge of one indexed range per
#: conditions up to this many conditions (:meth:`Store.residual_window`).
MERGE_CONDITIONS = 32
DEFAULT_DB = "twinline.db"


def database_url(db: str | Path | None = None) -> str:
    """SQLAlchemy URL of ``db``: a URL as is, a path as an SQLite file (default
    ``twinline.db`` in the working folder)."""
    text = str(db) if db is not None else DEFAULT_DB
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return cfg


def head_revision() -> str:
    """The newest schema revision this twinline knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


#: Count the numeric measurements stored after record pk ``?`` into ``series_counts``
#: (SQLite; :meth:`Store.insert_record_columns`).
_COUNT_ADDED_RECORDS = (
    "INSERT INTO series_counts (parameter, conditions, series, n) "
    "SELECT parameter, conditions, 'measurement', count(*) FROM records "
    "WHERE pk > ? AND role = 'measurement' AND value IS NOT NULL "
    "GROUP BY parameter, conditions "
    "ON CONFLICT (parameter, conditions, series) DO UPDATE SET n = n + excluded.n")
#: ``series_counts`` counted over the history: (parameter, conditions, series, n).
_SERIES_COUNTED = (
    "SELECT parameter, conditions, 'measurement', count(*) FROM records "
    "WHERE role = 'measurement' AND value IS NOT NULL GROUP BY parameter, conditions "
    "UNION ALL SELECT r.parameter, r.conditions, 'residual', count(*) FROM records r "
    "WHERE EXISTS (SELECT 1 FROM residuals s WHERE s.record_pk = r.pk) "
    "GROUP BY r.parameter, r.conditions")


def _engine(url: str):
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError

    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as err:
        raise StoreError(f"--db {url}: not a database twinline can open ({err})") from None
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()
    return engine


def _current_revision(conn) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


@dataclass
class LineageEntry:
    """One object of a trace or a track: ``depth`` generations away (0: the object itself),
    its ``parents`` within the lineage, and its settings and measurements."""

    object_id: str
    kind: str
    depth: int
    created: datetime
    source: str
    parents: list[str] = field(default_factory=list)
    settings: list[dict[str, Any]] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.object_id, "kind": self.kind, "depth": self.depth,
                "created": self.created.isoformat(), "source": self.source,
                "parents": self.parents, "settings": self.settings,
                "measurements": self.measurements}


class Store:
    """A line's database. Open with :meth:`open`; close with :meth:`close` (or ``with``)."""

    def __init__(self, engine: Any, url: str) -> None:
        self.engine = engine
        self.url = url

    # ------------------------------------------------------------------ opening, migrating
    @classmethod
    def open(cls, db: str | Path | None = None, *, create: bool = True) -> Store:
        """Open the database ``db`` (path or URL).

        A database without any table is created at the newest schema when ``create``;
        one at an older schema is a :class:`StoreError` naming ``twinline db upgrade``.
        """
        from sqlalchemy import inspect
        from sqlalchemy.exc import OperationalError

        url = database_url(db)
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if not path.exists() and not create:
                raise StoreError(f"--db {path}: no such database")
            if not path.parent.is_dir():
                raise StoreError(f"--db {path}: the folder {path.parent} does not exist")
        engine = _engine(url)
        try:
            with engine.connect() as conn:
                current = _current_revision(conn)
                tables = set(inspect(conn).get_table_names())
        except OperationalError as err:
            engine.dispose()
            raise StoreError(f"--db {url}: cannot connect ({str(err.orig).strip()})") from None
        head = head_revision()
        store = cls(engine, url)
        if current is None and not tables - {"alembic_version"}:
            if not create:
                raise StoreError(f"--db {url}: empty database; run 'twinline db upgrade'")
            store.upgrade()
        elif current is None:
            engine.dispose()
            raise StoreError(f"--db {url}: holds tables but no twinline schema version; it is "
                             "not a twinline database")
        elif current != head:
            engine.dispose()
            raise StoreError(f"--db {url}: the database is at schema revision {current}, this "
                             f"twinline needs {head}; run 'twinline db upgrade --db {db}'")
        return store

    def upgrade(self) -> tuple[str | None, str]:
        """Apply the pending migrations; returns (revision before, revision after)."""
        from alembic import command

        cfg = _alembic_config()
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # Python's sqlite3 opens no transaction before CREATE/ALTER, so each DDL
                # statement would commit on its own: a kill -9 mid-migration left tables
                # without a schema version, a database Store.open then refused for good.
                # An explicit BEGIN makes the migration all or nothing (SQLite DDL is
                # transactional), and IMMEDIATE serialises two processes creating one file.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            before = _current_revision(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return before, head_revision()

    @classmethod
    def upgrade_database(cls, db: str | Path | None = None) -> tuple[str | None, str]:
        """``twinline db upgrade``: migrate ``db`` (created when missing) to the newest schema."""
        url = database_url(db)
        store = cls(_engine(url), url)
        try:
            return store.upgrade()
        finally:
            store.close()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def _insert(self, table):
        """An INSERT that skips rows whose unique key exists (both dialects)."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def _pks(self, conn, object_ids: Iterable[str]) -> dict[str, int]:
        from sqlalchemy import select

        from twinline.twin.store.schema import objects

        ids = sorted(set(object_ids))
        out: dict[str, int] = {}
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            out.update(conn.execute(select(objects.c.object_id, objects.c.pk)
                                    .where(objects.c.object_id.in_(chunk))).all())
        return out

    def add_objects(self, rows: Iterable[ObjectRow], *, conn: Any = None) -> int:
        """Store objects (known ids are kept); returns how many were new.

        Raises :class:`StoreError` when a known id is given with another kind.
        """
        rows = list(rows)
        if not rows:
            return 0
        if conn is None:
            with self.engine.begin() as c:
                return self.add_objects(rows, conn=c)
        from sqlalchemy import select

        from twinline.twin.kinds import check_kind
        from twinline.twin.store.schema import objects

        wanted: dict[str, ObjectRow] = {}
        for r in rows:
            check_kind(r.kind)
            seen = wanted.get(r.object_id)
            if seen is not None and seen.kind != r.kind:
                raise StoreError(f"object {r.object_id!r} is given as {seen.kind} and as "
                                 f"{r.kind}")
            wanted.setdefault(r.object_id, r)
        stmt = self._insert(objects).on_conflict_do_nothing(index_elements=["object_id"])
        params = [{"object_id": r.object_id, "kind": r.kind,
                   "created": utc(r.created or now()), "source": r.source}
                  for r in wanted.values()]
        added = 0
        for i in range(0, len(params), BATCH):
            added += max(conn.execute(stmt.returning(objects.c.pk),
                                      params[i:i + BATCH]).rowcount or 0, 0)
        ids = list(wanted)
        for i in range(0, len(ids), 900):
            for oid, kind in conn.execute(select(objects.c.object_id, objects.c.kind).where(
                    objects.c.object_id.in_(ids[i:i + 900]))):
                if kind != wanted[oid].kind:
                    raise StoreError(f"object {oid!r} is a {kind} in the store; it cannot "
                                     f"also be a {wanted[oid].kind}")
        return added

    def add_edges(self, rows: Iterable[EdgeRow], *, conn: Any = None,
                  check_cycles: bool = True) -> int:
        """Store genealogy edges (known ones are kept); returns how many were new.

        Both objects must exist. An edge that would make an object its own ancestor (a
        genealogy cycle) is a :class:`StoreError` naming the objects. ``check_cycles=False``
        skips that check (one recursive query per edge) and inserts in one batch: only for a
        caller that knows no edge can close a cycle, e.g. edges to children that had no
        descendants (objects new to the store) among edges already checked to be acyclic.
        """
        rows = list(rows)
        if not rows:
            return 0
        if conn is None:
            with self.engine.begin() as c:
                return self.add_edges(rows, conn=c, check_cycles=check_cycles)
        from twinline.twin.store.schema import genealogy

        pks = self._pks(conn, [r.parent for r in rows] + [r.child for r in rows])
        added = 0
        stmt = self._insert(genealogy).on_conflict_do_nothing(
            index_elements=["parent_pk", "child_pk"])
        if not check_cycles:
            for r in rows:
                for oid in (r.parent, r.child):
                    if oid not in pks:
                        raise StoreError(f"genealogy {r.parent} -> {r.child}: object {oid!r} "
                                         "is not in the store")
                if r.parent == r.child:
                    raise StoreError(f"genealogy {r.parent} -> {r.child}: an object cannot "
                                     "be its own parent")
            params = [{"parent_pk": pks[r.parent], "child_pk": pks[r.child],
                       "quantity": r.quantity, "quantity_unit": r.quantity_unit} for r in rows]
            for i in range(0, len(params), BATCH):
                added += len(conn.execute(stmt.returning(genealogy.c.child_pk),
                                          params[i:i + BATCH]).all())
            return added
        for r in rows:
            for oid in (r.parent, r.child):
                if oid not in pks:
                    raise StoreError(f"genealogy {r.parent} -> {r.child}: object {oid!r} is "
                                     "not in the store")
            if r.parent == r.child:
                raise StoreError(f"genealogy {r.parent} -> {r.child}: an object cannot be "
                                 "its own parent")
            if pks[r.child] in self._ancestor_pks(conn, pks[r.parent]):
                raise StoreError(f"genealogy {r.parent} -> {r.child}: {r.child} is already "
                                 f"an ancestor of {r.parent} (a genealogy cycle)")
            res = conn.execute(stmt.returning(genealogy.c.child_pk),
                               [{"parent_pk": pks[r.parent], "child_pk": pks[r.child],
                                 "quantity": r.quantity, "quantity_unit": r.quantity_unit}])
            added += len(res.all())
        return added

    def add_records(self, rows: Iterable[RecordRow], *, conn: Any = None) -> int:
        """Store settings and measurements; returns how many were new (idempotent).

        The objects must exist (:meth:`add_objects` first).
        """
        rows = list(rows)
        if not rows:
            return 0
        if conn is None:
            with self.engine.begin() as c:
                return self.add_records(rows, conn=c)

        pks = self._pks(conn, (r.object_id for r in rows))
        missing = {r.object_id for r in rows} - set(pks)
        if missing:
            raise StoreError(f"records for objects not in the store: {sorted(missing)[:5]}")
        params = [{"object_pk": pks[r.object_id], "role": r.role, "parameter": r.parameter,
                   "value": r.value, "text": r.text, "unit": r.unit,
                   "uncertainty": r.uncertainty, "method": r.method, "source": r.source,
                   "time": utc(r.time), "conditions": r.conditions} for r in rows]
        return self.insert_record_params(params, conn=conn)

    #: Columns of :meth:`insert_record_columns`, in order.
    RECORD_COLUMNS = ("object_pk", "role", "parameter", "value", "text", "unit", "uncertainty",
                      "method", "source", "time", "conditions")

    def insert_record_params(self, params: list[dict[str, Any]], *, conn: Any) -> int:
        """:meth:`insert_record_columns` for rows given as dicts of :data:`RECORD_COLUMNS`."""
        return self.insert_record_columns(
            {c: [p[c] for p in params] for c in self.RECORD_COLUMNS}, conn=conn)

    def insert_record_columns(self, columns: dict[str, Any], *, conn: Any) -> int:
        """Bulk path of :meth:`add_records` (file ingestion): ``columns`` maps each of
        :data:`RECORD_COLUMNS` to a sequence (``object_pk`` resolved, ``value`` SI or None,
        ``time`` aware datetimes or a ``datetime64`` array in UTC); returns how many rows were
        new (rows whose natural key exists are skipped).

        On SQLite the rows go to the driver's ``executemany`` as tuples with the times
        formatted once, vectorised, exactly as SQLAlchemy's ``DateTime`` stores them, and the
        count is the summed row count (``sqlite3`` adds up ``changes()``, which an ignored
        conflict does not increase): ~3x faster than the generic path, which other
        dialects take (``INSERT .. ON CONFLICT DO NOTHING RETURNING``). The rows added
        (record pk above the largest before: SQLite writers are serialised) are then
        counted into ``series_counts`` in one grouped statement; on PostgreSQL a statement
        trigger does it (migration 0005).
        """
        import pandas as pd

        from twinline.twin.store.schema import records

        n = len(columns["object_pk"])
        if not n:
            return 0
        times = pd.DatetimeIndex(columns["time"])
        times = times.tz_convert("UTC") if times.tz is not None else times.tz_localize("UTC")
        added = 0
        if self.engine.dialect.name == "sqlite":
            cols = dict(columns)
            cols["time"] = times.tz_localize(None).strftime("%Y-%m-%d %H:%M:%S.%f").tolist()
            sql = (f"INSERT INTO records ({', '.join(self.RECORD_COLUMNS)}) VALUES "
                   f"({', '.join('?' * len(self.RECORD_COLUMNS))}) ON CONFLICT (source, "
                   "object_pk, parameter, time, conditions) DO NOTHING")
            rows = list(zip(*(cols[c] for c in self.RECORD_COLUMNS), strict=True))
            before = conn.exec_driver_sql("SELECT max(pk) FROM records").scalar() or 0
            for i in range(0, n, BATCH * 4):
                added += max(conn.exec_driver_sql(sql, rows[i:i + BATCH * 4]).rowcount, 0)
            if added:
                conn.exec_driver_sql(_COUNT_ADDED_RECORDS, (before,))
            return added
        cols = dict(columns)
        cols["time"] = list(times.to_pydatetime())
        if self.engine.dialect.name == "postgresql" and self.engine.dialect.driver == "psycopg":
            return self._copy_records(cols, conn)
        stmt = self._insert(records).on_conflict_do_nothing(
            index_elements=["source", "object_pk", "parameter", "time", "conditions"]
        ).returning(records.c.pk)
        params = [dict(zip(self.RECORD_COLUMNS, vals, strict=True))
                  for vals in zip(*(cols[c] for c in self.RECORD_COLUMNS), strict=True)]
        for i in range(0, n, BATCH):
            added += len(conn.execute(stmt, params[i:i + BATCH]).all())
        return added

    def last_record_times(self, source: str) -> dict[tuple[str, str, str], datetime]:
        """The newest record time per (object kind, parameter, conditions) of ``source``:
        where a line feed resumes after a restart (one grouped query)."""
        from sqlalchemy import func, select

        from twinline.twin.store.schema import objects, records

        with self.engine.connect() as conn:
            rows = conn.execute(
                select(objects.c.kind, records.c.parameter, records.c.conditions,
                       func.max(records.c.time))
                .join(objects, objects.c.pk == records.c.object_pk)
                .where(records.c.source == source)
                .group_by(objects.c.kind, records.c.parameter, records.c.conditions)).all()
        return {(k, p, c): utc(t) for k, p, c, t in rows}

    def _copy_records(self, cols: dict[str, Any], conn: Any) -> int:
        """PostgreSQL (psycopg 3) bulk path: ``COPY`` into a temporary table, then one
        ``INSERT .. SELECT .. ON CONFLICT DO NOTHING``; its row count is the rows added."""
        names = ", ".join(self.RECORD_COLUMNS)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS twinline_records_in (object_pk "
                        "integer, role varchar(12), parameter varchar(200), value double "
                        "precision, text varchar(500), unit varchar(40), uncertainty double "
                        "precision, method varchar(200), source varchar(200), time "
                        "timestamptz, conditions varchar(500)) ON COMMIT DROP")
            cur.execute("TRUNCATE twinline_records_in")
            with cur.copy(f"COPY twinline_records_in ({names}) FROM STDIN") as copy:
                for row in zip(*(cols[c] for c in self.RECORD_COLUMNS), strict=True):
                    copy.write_row(row)
            cur.execute(f"INSERT INTO records ({names}) SELECT {names} FROM "
                        "twinline_records_in ON CONFLICT (source, object_pk, parameter, time, "
                        "conditions) DO NOTHING")
            added = max(cur.rowcount, 0)
            cur.execute("TRUNCATE twinline_records_in")
        return added

    # ------------------------------------------------------------------ lineage
    def _ancestor_pks(self, conn, pk: int) -> set[int]:
        from sqlalchemy import literal, select

        from twinline.twin.store.schema import genealogy

        anc = select(literal(pk).label("pk"), literal(0).label("depth")).cte(
            "anc", recursive=True)
        anc = anc.union_all(select(genealogy.c.parent_pk, anc.c.depth + 1)
                            .join(anc, genealogy.c.child_pk == anc.c.pk)
                            .where(anc.c.depth < MAX_DEPTH))
        return {p for (p,) in conn.execute(select(anc.c.pk).distinct())}

    def _lineage(self, object_id: str, *, up: bool) -> list[LineageEntry]:
        from sqlalchemy import func, literal, select

        from twinline.twin.store.schema import genealogy, objects, records

        with self.engine.connect() as conn:
            start = conn.execute(select(objects.c.pk).where(
                objects.c.object_id == object_id)).scalar()
            if start is None:
                raise StoreError(f"object {object_id!r} is not in the store ({self.url})")
            near, far = ((genealogy.c.child_pk, genealogy.c.parent_pk) if up
                         else (genealogy.c.parent_pk, genealogy.c.child_pk))
            walk = select(literal(start).label("pk"), literal(0).label("depth")).cte(
                "walk", recursive=True)
            walk = walk.union_all(select(far, walk.c.depth + 1)
                                  .join(walk, near == walk.c.pk)
                                  .where(walk.c.depth < MAX_DEPTH))
            depth = (select(walk.c.pk, func.min(walk.c.depth).label("depth"))
                     .group_by(walk.c.pk).subquery())
            rows = conn.execute(
                select(objects.c.pk, objects.c.object_id, objects.c.kind, objects.c.created,
                       objects.c.source, depth.c.depth)
                .join(depth, depth.c.pk == objects.c.pk)
                .order_by(depth.c.depth, objects.c.object_id)).all()
            pks = [r.pk for r in rows]
            entries = {r.pk: LineageEntry(r.object_id, r.kind, int(r.depth), utc(r.created),
                                          r.source) for r in rows}
            if max((e.depth for e in entries.values()), default=0) >= MAX_DEPTH:
                raise StoreError(f"the lineage of {object_id!r} is deeper than {MAX_DEPTH} "
                                 "levels: the genealogy holds a cycle (twinline db check)")
            ids = {pk: e.object_id for pk, e in entries.items()}
            for i in range(0, len(pks), 900):
                chunk = pks[i:i + 900]
                for parent, child in conn.execute(
                        select(genealogy.c.parent_pk, genealogy.c.child_pk)
                        .where(genealogy.c.child_pk.in_(chunk))):
                    if parent in ids:
                        entries[child].parents.append(ids[parent])
                for rec in conn.execute(select(records).where(records.c.object_pk.in_(chunk))
                                        .order_by(records.c.parameter, records.c.time)):
                    item = {"parameter": rec.parameter, "value": rec.value, "text": rec.text,
                            "unit": rec.unit, "uncertainty": rec.uncertainty,
                            "method": rec.method, "source": rec.source,
                            "time": utc(rec.time).isoformat(),
                            "conditions": rec.conditions}
                    target = entries[rec.object_pk]
                    (target.settings if rec.role == "setting"
                     else target.measurements).append(item)
        return sorted(entries.values(), key=lambda e: (e.depth, e.object_id))

    def trace(self, object_id: str) -> list[LineageEntry]:
        """The object and every ancestor (depth 1 = parents ...), with settings and
        measurements (one recursive query up the genealogy)."""
        return self._lineage(object_id, up=True)

    def track(self, object_id: str) -> list[LineageEntry]:
        """The object and every descendant (depth 1 = children ...)."""
        return self._lineage(object_id, up=False)

    def effective_settings(self, object_id: str, base: dict[str, Any] | None = None
                           ) -> dict[str, dict[str, Any]]:
        """The settings that hold for an object: its own over its ancestors' (nearest first,
        then the latest) over ``base`` (e.g. a recipe's, ``{path: value}``).

        Returns ``parameter → {"value" | "text", "unit", "object", "depth"}``; a ``base``
        value has ``object`` ``None`` and depth ``-1``.
        """
        out: dict[str, dict[str, Any]] = {
            k: {"value": v, "text": None, "unit": "", "object": None, "depth": -1}
            for k, v in (base or {}).items()}
        best: dict[str, tuple[int, str]] = {}
        for entry in self.trace(object_id):
            for s in entry.settings:
                key = s["parameter"]
                rank = (-entry.depth, s["time"])
                if key not in best or rank > best[key]:
                    best[key] = rank
                    out[key] = {"value": s["value"], "text": s["text"], "unit": s["unit"],
                                "object": entry.object_id, "depth": entry.depth}
        return out

    def objects(self, *, kind: str | None = None, limit: int = 1000,
                offset: int = 0) -> list[dict[str, Any]]:
        """The objects (newest first): ``object``, ``kind``, ``created`` (ISO 8601),
        ``source``; only ``kind`` when given (checked against the kinds)."""
        from sqlalchemy import select

        from twinline.twin.kinds import check_kind
        from twinline.twin.store.schema import objects

        q = select(objects.c.object_id, objects.c.kind, objects.c.created, objects.c.source)
        if kind is not None:
            q = q.where(objects.c.kind == check_kind(kind))
        q = q.order_by(objects.c.created.desc(), objects.c.pk.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [{"object": r.object_id, "kind": r.kind, "created": utc(r.created).isoformat(),
                     "source": r.source} for r in conn.execute(q)]
    # ------------------------------------------------------------------ the twin loop
    def add_calibration(self, state: dict[str, Any], *, active: bool = True,
                        conn: Any = None) -> bool:
        """Store a calibration version (``Calibration.to_dict()``); with ``active`` it becomes
        the only active one. Returns True when the version was new (a known id is kept)."""
        if conn is None:
            with self.engine.begin() as c:
                return self.add_calibration(state, active=active, conn=c)
        import json

        from sqlalchemy import update

        from twinline.twin.store.schema import calibrations

        version = str(state["id"])
        stmt = self._insert(calibrations).on_conflict_do_nothing(index_elements=["version"])
        res = conn.execute(stmt.returning(calibrations.c.pk), [{
            "version": version, "parent": state.get("parent_id") or "",
            "created": _epoch_utc(float(state.get("time", 0.0))),
            "state": json.dumps(state, sort_keys=True),
            "measurements": len(state.get("measurements", ())), "active": False}])
        added = len(res.all()) > 0
        if active:
            conn.execute(update(calibrations).values(active=calibrations.c.version == version))
        return added

    def calibrations(self) -> list[dict[str, Any]]:
        """The stored calibration versions, oldest first: ``version``, ``parent``,
        ``created`` (ISO), ``measurements`` (count), ``active``."""
        from sqlalchemy import select

        from twinline.twin.store.schema import calibrations as c

        with self.engine.connect() as conn:
            rows = conn.execute(select(c.c.version, c.c.parent, c.c.created, c.c.measurements,
                                       c.c.active).order_by(c.c.pk)).all()
        return [{"version": r.version, "parent": r.parent or None,
                 "created": utc(r.created).isoformat(), "measurements": int(r.measurements),
                 "active": bool(r.active)} for r in rows]

    def calibration_state(self, version: str | None = None) -> dict[str, Any] | None:
        """The JSON state of calibration ``version`` (None: the active one; None when there is
        none). An unknown version is a :class:`StoreError` naming the known ones."""
        import json

        from sqlalchemy import select

        from twinline.twin.store.schema import calibrations as c

        with self.engine.connect() as conn:
            if version is None:
                row = conn.execute(select(c.c.state).where(c.c.active.is_(True))).scalar()
                return None if row is None else json.loads(row)
            row = conn.execute(select(c.c.state).where(c.c.version == version)).scalar()
            if row is None:
                known = conn.execute(select(c.c.version).order_by(c.c.pk.desc()).limit(5)
                                     ).scalars().all()
                raise StoreError(f"calibration version {version!r} is not in the store; the "
                                 f"latest are {list(known) or 'none'} (twinline twin "
                                 "calibration list)")
        return json.loads(row)

    def activate_calibration(self, version: str) -> None:
        """Make ``version`` the active calibration (rollback); a :class:`StoreError` when
        unknown."""
        from sqlalchemy import update

        from twinline.twin.store.schema import calibrations as c

        self.calibration_state(version)
        with self.engine.begin() as conn:
            conn.execute(update(c).values(active=c.c.version == version))

    def add_predictions(self, rows: Iterable[dict[str, Any]], *, conn: Any = None
                        ) -> dict[tuple[str, str, str, str], int]:
        """Store predictions: dicts with ``object``, ``parameter``, ``conditions``, ``mean``,
        ``std`` (SI), ``calibration`` (version id, stored), ``models`` (dict) and optional
        ``created``. Known (object, parameter, conditions, calibration) keys are kept.
        Returns ``(object, parameter, conditions, calibration) → prediction pk`` of every
        stored prediction of those objects and versions (new or already stored)."""
        rows = list(rows)
        if not rows:
            return {}
        if conn is None:
            with self.engine.begin() as c:
                return self.add_predictions(rows, conn=c)
        import json

        from sqlalchemy import select

        from twinline.twin.store.schema import calibrations
        from twinline.twin.store.schema import predictions as p

        pks = self._pks(conn, (r["object"] for r in rows))
        cal_pk = dict(conn.execute(select(calibrations.c.version, calibrations.c.pk).where(
            calibrations.c.version.in_({r["calibration"] for r in rows}))).all())
        params = []
        for r in rows:
            if r["object"] not in pks:
                raise StoreError(f"prediction for object {r['object']!r}, which is not in "
                                 "the store")
            if r["calibration"] not in cal_pk:
                raise StoreError(f"prediction with calibration {r['calibration']!r}, which "
                                 "is not in the store")
            params.append({"object_pk": pks[r["object"]], "parameter": r["parameter"],
                           "conditions": r.get("conditions", ""), "mean": float(r["mean"]),
                           "std": float(r["std"]),
                           "calibration_pk": cal_pk[r["calibration"]],
                           "models": json.dumps(r.get("models", {}), sort_keys=True),
                           "created": utc(r.get("created") or now())})
        stmt = self._insert(p).on_conflict_do_nothing(
            index_elements=["object_pk", "parameter", "conditions", "calibration_pk"])
        for i in range(0, len(params), BATCH):
            conn.execute(stmt, params[i:i + BATCH])
        ids = {v: k for k, v in pks.items()}
        versions = {v: k for k, v in cal_pk.items()}
        out: dict[tuple[str, str, str, str], int] = {}
        for obj_pk, c_pk in {(q["object_pk"], q["calibration_pk"]) for q in params}:
            for par, cond, pk in conn.execute(
                    select(p.c.parameter, p.c.conditions, p.c.pk)
                    .where(p.c.object_pk == obj_pk, p.c.calibration_pk == c_pk)):
                out[(ids[obj_pk], par, cond, versions[c_pk])] = pk
        return out

    def predictions(self, object_id: str, *, calibration: str | None = None,
                    parameter: str | None = None) -> list[dict[str, Any]]:
        """The stored predictions of ``object_id`` (all versions, or one ``calibration``; all
        parameters, or one ``parameter``): ``pk``, ``parameter``, ``conditions``, ``mean``,
        ``std``, ``calibration``, ``models``, ``created``; newest first."""
        import json

        from sqlalchemy import select

        from twinline.twin.store.schema import calibrations, objects
        from twinline.twin.store.schema import predictions as p

        q = (select(p.c.pk, p.c.parameter, p.c.conditions, p.c.mean, p.c.std,
                    calibrations.c.version, p.c.models, p.c.created)
             .join(objects, objects.c.pk == p.c.object_pk)
             .join(calibrations, calibrations.c.pk == p.c.calibration_pk)
             .where(objects.c.object_id == object_id).order_by(p.c.pk.desc()))
        if calibration is not None:
            q = q.where(calibrations.c.version == calibration)
        if parameter is not None:
            q = q.where(p.c.parameter == parameter)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{"pk": r.pk, "parameter": r.parameter, "conditions": r.conditions,
                 "mean": r.mean, "std": r.std, "calibration": r.version,
                 "models": json.loads(r.models), "created": utc(r.created).isoformat()}
                for r in rows]

    def measurements(self, *, after_pk: int = 0, parameter: str | None = None
                     ) -> list[dict[str, Any]]:
        """Numeric measurements with record pk > ``after_pk`` (optionally of one
        ``parameter``), in time order: ``pk``, ``object``, ``kind``, ``parameter``, ``value``,
        ``uncertainty``, ``time`` (aware datetime), ``conditions``."""
        from sqlalchemy import select

        from twinline.twin.store.schema import objects
        from twinline.twin.store.schema import records as r

        q = (select(r.c.pk, objects.c.object_id, objects.c.kind, r.c.parameter, r.c.value,
                    r.c.uncertainty, r.c.time, r.c.conditions)
             .join(objects, objects.c.pk == r.c.object_pk)
             .where(r.c.role == "measurement", r.c.pk > after_pk, r.c.value.is_not(None))
             .order_by(r.c.time, r.c.pk))
        if parameter is not None:
            q = q.where(r.c.parameter == parameter)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{"pk": x.pk, "object": x.object_id, "kind": x.kind, "parameter": x.parameter,
                 "value": x.value, "uncertainty": x.uncertainty, "time": utc(x.time),
                 "conditions": x.conditions} for x in rows]

    def add_residuals(self, rows: Iterable[dict[str, Any]], *, conn: Any = None) -> int:
        """Store residuals: dicts with ``record`` (record pk), ``prediction`` (prediction
        pk), ``residual`` (SI) and ``z``; returns how many were new."""
        rows = list(rows)
        if not rows:
            return 0
        if conn is None:
            with self.engine.begin() as c:
                return self.add_residuals(rows, conn=c)
        from twinline.twin.store.schema import residuals

        stmt = self._insert(residuals).on_conflict_do_nothing(
            index_elements=["record_pk", "prediction_pk"]).returning(residuals.c.pk)
        return len(conn.execute(stmt, [{"record_pk": int(r["record"]),
                                        "prediction_pk": int(r["prediction"]),
                                        "residual": float(r["residual"]),
                                        "z": float(r["z"])} for r in rows]).all())

    def residual_series(self, parameter: str) -> list[dict[str, Any]]:
        """The residuals of ``parameter``'s measurements in time order (the latest per
        record): ``record``, ``object``, ``time``, ``conditions``, ``residual``, ``z``,
        ``calibration``."""
        from sqlalchemy import select

        from twinline.twin.store.schema import (
            calibrations,
            objects,
            predictions,
            records,
            residuals,
        )

        q = (select(records.c.pk, objects.c.object_id, records.c.time, records.c.conditions,
                    residuals.c.residual, residuals.c.z, calibrations.c.version,
                    residuals.c.pk.label("rpk"))
             .join(records, records.c.pk == residuals.c.record_pk)
             .join(objects, objects.c.pk == records.c.object_pk)
             .join(predictions, predictions.c.pk == residuals.c.prediction_pk)
             .join(calibrations, calibrations.c.pk == predictions.c.calibration_pk)
             .where(records.c.parameter == parameter)
             .order_by(records.c.time, records.c.pk, residuals.c.pk))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        latest: dict[int, dict[str, Any]] = {}
        for x in rows:
            latest[x.pk] = {"record": x.pk, "object": x.object_id, "time": utc(x.time),
                            "conditions": x.conditions, "residual": x.residual, "z": x.z,
                            "calibration": x.version}
        return list(latest.values())

    # ------------------------------------------------------------------ bounded series reads
    def series_count(self, parameter: str, series: str, conditions: str | None = None,
                     *, conn: Any = None) -> int:
        """Points of ``parameter``'s ``series`` (``"measurement"``: numeric measurements;
        ``"residual"``: measurements with a residual) under ``conditions`` (None: all),
        read from ``series_counts`` (kept as the store writes: triggers, and on SQLite
        :meth:`insert_record_columns`), not counted over the history."""
        if conn is None:
            with self.engine.connect() as c:
                return self.series_count(parameter, series, conditions, conn=c)
        from sqlalchemy import func, select

        from twinline.twin.store.schema import series_counts as sc

        q = select(func.coalesce(func.sum(sc.c.n), 0)).where(sc.c.parameter == parameter,
                                                               sc.c.series == series)
        if conditions is not None:
            q = q.where(sc.c.conditions == conditions)
        return int(conn.execute(q).scalar_one())

    def measurement_conditions(self, parameter: str) -> list[str]:
        """The distinct conditions of ``parameter``'s numeric measurements, sorted (Python's
        string order), from ``series_counts``."""
        from sqlalchemy import select

        from twinline.twin.store.schema import series_counts as sc

        with self.engine.connect() as conn:
            return sorted(conn.execute(select(sc.c.conditions).where(
                sc.c.parameter == parameter, sc.c.series == "measurement", sc.c.n > 0)).scalars())

    def measurement_window(self, parameter: str, conditions: str, *, head: int = 0,
                           tail: int | None = 500) -> tuple[int, list[dict[str, Any]],
                                                            list[dict[str, Any]]]:
        """One (``parameter``, ``conditions``) series of numeric measurements (the rows of
        :meth:`measurements`, time then record order), bounded: ``(count of the series, its
        first head points, its last tail points)``, both lists in time order (``tail=None``:
        every point). Two indexed queries (``ix_records_parameter_conditions_time``) and
        :meth:`series_count`."""
        from sqlalchemy import select

        from twinline.twin.store.schema import objects
        from twinline.twin.store.schema import records as r

        where = (r.c.parameter == parameter, r.c.conditions == conditions,
                 r.c.role == "measurement", r.c.value.is_not(None))
        cols = (r.c.pk, objects.c.object_id, objects.c.kind, r.c.parameter, r.c.value,
                r.c.uncertainty, r.c.time, r.c.conditions)

        def rows(q: Any) -> list[dict[str, Any]]:
            return [{"pk": x.pk, "object": x.object_id, "kind": x.kind,
                     "parameter": x.parameter, "value": x.value, "uncertainty": x.uncertainty,
                     "time": utc(x.time), "conditions": x.conditions}
                    for x in conn.execute(q)]

        base = select(*cols).join(objects, objects.c.pk == r.c.object_pk).where(*where)
        with self.engine.connect() as conn:
            total = self.series_count(parameter, "measurement", conditions, conn=conn)
            first = rows(base.order_by(r.c.time, r.c.pk).limit(max(head, 0))) if head > 0 else []
            if tail is None:
                last = rows(base.order_by(r.c.time, r.c.pk))
            else:
                last = (rows(base.order_by(r.c.time.desc(), r.c.pk.desc()).limit(tail))[::-1]
                        if tail > 0 else [])
        return int(total), first, last

    def residual_window(self, parameter: str | None = None, *, conditions: str | None = None,
                        since: datetime | None = None, until: datetime | None = None,
                        tail: int = 500, count: bool = False
                        ) -> tuple[int | None, list[dict[str, Any]]]:
        """The newest ``tail`` points of a residual series (:meth:`residual_series`: the
        measurements that have a residual, time then record order, each with its latest
        residual), of one ``parameter`` (or all), ``conditions`` and time window, in time
        order: ``record``, ``parameter``, ``object``, ``time``, ``conditions``, ``measured``,
        ``predicted``, ``std``, ``residual``, ``z``, ``calibration``. With ``count`` also the
        number of points of the whole series (else None). The newest records of a parameter
        come from ``ix_records_parameter_conditions_time`` in time order, one range per
        conditions merged (up to :data:`MERGE_CONDITIONS` conditions; beyond, or for all
        parameters, one query sorts the matching records), then their latest residuals by
        record; the count of one parameter's series is :meth:`series_count` (a count over
        the records only for all parameters or a time window)."""
        from sqlalchemy import exists, func, select

        from twinline.twin.store.schema import (
            calibrations,
            objects,
            predictions,
            records,
            residuals,
        )
        from twinline.twin.store.schema import series_counts as sc

        where = [exists().where(residuals.c.record_pk == records.c.pk)]
        if parameter is not None:
            where.append(records.c.parameter == parameter)
        if conditions is not None:
            where.append(records.c.conditions == conditions)
        if since is not None:
            where.append(records.c.time >= utc(since))
        if until is not None:
            where.append(records.c.time <= utc(until))
        with self.engine.connect() as conn:
            total = None
            if count and parameter is not None and since is None and until is None:
                total = self.series_count(parameter, "residual", conditions, conn=conn)
            elif count:
                total = int(conn.execute(select(func.count()).select_from(records)
                                         .where(*where)).scalar_one())
            if tail <= 0:
                return total, []
            newest = (select(records.c.pk, records.c.parameter, objects.c.object_id,
                             records.c.time, records.c.conditions, records.c.value)
                      .join(objects, objects.c.pk == records.c.object_pk)
                      .where(*where)
                      .order_by(records.c.time.desc(), records.c.pk.desc())
                      .limit(tail))
            conds = None
            if parameter is not None and conditions is None:
                conds = conn.execute(select(sc.c.conditions).where(
                    sc.c.parameter == parameter, sc.c.series == "residual", sc.c.n > 0)
                ).scalars().all()
            if conds is not None and len(conds) <= MERGE_CONDITIONS:
                # the newest of each conditions (one index range each), merged
                recs = []
                for c in conds:
                    recs += conn.execute(newest.where(records.c.conditions == c)).all()
                recs = sorted(recs, key=lambda x: (x.time, x.pk), reverse=True)[:tail]
            else:
                recs = conn.execute(newest).all()
            latest: dict[int, Any] = {}
            pks = [x.pk for x in recs]
            for i in range(0, len(pks), 900):
                for x in conn.execute(
                        select(residuals.c.record_pk, residuals.c.residual, residuals.c.z,
                               predictions.c.mean, predictions.c.std, calibrations.c.version)
                        .join(predictions, predictions.c.pk == residuals.c.prediction_pk)
                        .join(calibrations, calibrations.c.pk == predictions.c.calibration_pk)
                        .where(residuals.c.record_pk.in_(pks[i:i + 900]))
                        .order_by(residuals.c.pk)):
                    latest[x.record_pk] = x
        out = []
        for x in reversed(recs):
            s = latest[x.pk]
            out.append({"record": x.pk, "parameter": x.parameter, "object": x.object_id,
                        "time": utc(x.time), "conditions": x.conditions, "measured": x.value,
                        "predicted": s.mean, "std": s.std, "residual": s.residual, "z": s.z,
                        "calibration": s.version})
        return total, out

    def add_alarms(self, rows: Iterable[dict[str, Any]], *, conn: Any = None) -> int:
        """Store alarms: dicts with ``object``, ``parameter``, ``series``, ``rule``, ``time``,
        ``value``, ``message``; an alarm already stored (same natural key) is kept. Returns
        how many were new."""
        rows = list(rows)
        if not rows:
            return 0
        if conn is None:
            with self.engine.begin() as c:
                return self.add_alarms(rows, conn=c)
        return len(self._insert_alarms(rows, conn))

    def _insert_alarms(self, rows: list[dict[str, Any]], conn: Any) -> list[int]:
        """The pks of the alarm rows inserted (those whose natural key was not stored yet;
        of rows sharing one, the first): ``INSERT … ON CONFLICT DO NOTHING RETURNING``, which
        SQLite (>= 3.35) and PostgreSQL both answer with the inserted rows only."""
        from twinline.twin.store.schema import alarms

        pks = self._pks(conn, (r["object"] for r in rows))
        params = [{"object_pk": pks[r["object"]], "parameter": r["parameter"],
                   "series": r["series"], "rule": r["rule"], "time": utc(r["time"]),
                   "value": None if r.get("value") is None else float(r["value"]),
                   "message": str(r.get("message", ""))[:500]} for r in rows]
        stmt = self._insert(alarms).on_conflict_do_nothing(
            index_elements=["object_pk", "parameter", "series", "rule", "time"]
        ).returning(alarms.c.pk)
        return [int(x) for x in conn.execute(stmt, params).scalars()]

    def insert_alarms(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store alarms as :meth:`add_alarms` does and return the ones stored now (not
        before), as :meth:`alarms` gives them (time order): the rows this insert reported,
        read back by primary key — never the whole alarm table."""
        rows = list(rows)
        if not rows:
            return []
        with self.engine.begin() as conn:
            pks = self._insert_alarms(rows, conn)
            out = []
            for i in range(0, len(pks), 900):
                out += self._alarm_rows(conn, pks=pks[i:i + 900])
        out.sort(key=lambda a: (a["_time"], a["_pk"]))
        for a in out:
            del a["_time"], a["_pk"]
        return out

    def _alarm_rows(self, conn: Any, *, parameter: str | None = None,
                    series: Iterable[str] | None = None, since: datetime | None = None,
                    until: datetime | None = None, pks: list[int] | None = None
                    ) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from twinline.twin.store.schema import alarms as a
        from twinline.twin.store.schema import objects

        q = (select(a.c.pk, objects.c.object_id, a.c.parameter, a.c.series, a.c.rule, a.c.time,
                    a.c.value, a.c.message).join(objects, objects.c.pk == a.c.object_pk)
             .order_by(a.c.time, a.c.pk))
        if parameter is not None:
            q = q.where(a.c.parameter == parameter)
        if series is not None:
            q = q.where(a.c.series.in_(sorted(set(series))))
        if since is not None:
            q = q.where(a.c.time >= utc(since))
        if until is not None:
            q = q.where(a.c.time <= utc(until))
        if pks is not None:
            q = q.where(a.c.pk.in_(pks))
        out = []
        for r in conn.execute(q).all():
            t = utc(r.time)
            row = {"object": r.object_id, "parameter": r.parameter, "series": r.series,
                   "rule": r.rule, "time": t.isoformat(), "value": r.value,
                   "message": r.message}
            if pks is not None:
                row["_time"], row["_pk"] = t, r.pk
            out.append(row)
        return out

    def alarms(self, *, parameter: str | None = None, series: Iterable[str] | None = None,
               since: datetime | None = None, until: datetime | None = None
               ) -> list[dict[str, Any]]:
        """The stored alarms in time order: ``object``, ``parameter``, ``series``, ``rule``,
        ``time`` (ISO), ``value``, ``message``; only those of ``parameter``, of the given
        ``series`` and with ``since <= time <= until`` when given (in SQL, on the indexes
        ``ix_alarms_parameter_time`` and ``ix_alarms_time``)."""
        with self.engine.connect() as conn:
            return self._alarm_rows(conn, parameter=parameter, series=series, since=since,
                                    until=until)

    # ------------------------------------------------------------------ health
    def twin_cursor(self, name: str = "default") -> datetime | None:
        """The live twin ``name``'s position: the newest record time it has processed (all
        records up to it), or None when it has not run on this store."""
        from sqlalchemy import select

        from twinline.twin.store.schema import twin_cursors

        with self.engine.connect() as conn:
            t = conn.execute(select(twin_cursors.c.time).where(
                twin_cursors.c.name == name)).scalar()
        return None if t is None else utc(t)

    def set_twin_cursor(self, name: str, time: datetime, *, conn: Any = None) -> None:
        """Move the live twin ``name``'s position to ``time`` (never backwards)."""
        if conn is None:
            with self.engine.begin() as c:
                return self.set_twin_cursor(name, time, conn=c)
        from sqlalchemy import select, update

        from twinline.twin.store.schema import twin_cursors

        stamp = now()
        old = conn.execute(select(twin_cursors.c.time).where(
            twin_cursors.c.name == name)).scalar()
        if old is None:
            conn.execute(twin_cursors.insert().values(name=name, time=utc(time), updated=stamp))
        elif utc(old) < utc(time):
            conn.execute(update(twin_cursors).where(twin_cursors.c.name == name)
                         .values(time=utc(time), updated=stamp))
        return None

    def stats(self) -> dict[str, int]:
        """Counts: ``objects``, ``edges``, ``settings``, ``measurements``."""
        from sqlalchemy import func, select

        from twinline.twin.store.schema import genealogy, objects, records

        with self.engine.connect() as conn:
            n_obj = conn.execute(select(func.count()).select_from(objects)).scalar_one()
            n_edge = conn.execute(select(func.count()).select_from(genealogy)).scalar_one()
            roles = dict(conn.execute(select(records.c.role, func.count())
                                      .group_by(records.c.role)).all())
        return {"objects": int(n_obj), "edges": int(n_edge),
                "settings": int(roles.get("setting", 0)),
                "measurements": int(roles.get("measurement", 0))}

    def check(self) -> list[str]:
        """Integrity problems, one line each (empty: healthy): dangling references (foreign
        keys), orphan objects (no record, no edge), duplicate natural keys, genealogy cycles."""
        from sqlalchemy import and_, exists, func, literal, or_, select

        from twinline.twin.store.schema import genealogy, objects, records

        problems: list[str] = []
        with self.engine.connect() as conn:
            dangling = conn.execute(
                select(func.count()).select_from(records).where(~exists().where(
                    objects.c.pk == records.c.object_pk))).scalar_one()
            if dangling:
                problems.append(f"foreign key: {dangling} records name no object")
            for col in (genealogy.c.parent_pk, genealogy.c.child_pk):
                n = conn.execute(select(func.count()).select_from(genealogy).where(
                    ~exists().where(objects.c.pk == col))).scalar_one()
                if n:
                    problems.append(f"foreign key: {n} genealogy edges name no object "
                                    f"({col.name})")
            orphans = conn.execute(
                select(objects.c.object_id).where(
                    ~exists().where(records.c.object_pk == objects.c.pk),
                    ~exists().where(or_(genealogy.c.parent_pk == objects.c.pk,
                                        genealogy.c.child_pk == objects.c.pk)))
                .limit(20)).scalars().all()
            if orphans:
                problems.append(f"orphan objects (no record, no edge): {orphans}")
            dup = conn.execute(
                select(records.c.source, records.c.object_pk, records.c.parameter,
                       records.c.time, records.c.conditions, func.count().label("n"))
                .group_by(records.c.source, records.c.object_pk, records.c.parameter,
                          records.c.time, records.c.conditions)
                .having(func.count() > 1).limit(5)).all()
            if dup:
                problems.append(f"duplicate natural keys: {len(dup)}+ (e.g. parameter "
                                f"{dup[0].parameter!r} at {dup[0].time})")
            walk = select(genealogy.c.parent_pk.label("start"),
                          genealogy.c.child_pk.label("node"),
                          literal(1).label("depth")).cte("cyc", recursive=True)
            walk = walk.union_all(
                select(walk.c.start, genealogy.c.child_pk, walk.c.depth + 1)
                .join(walk, genealogy.c.parent_pk == walk.c.node)
                .where(and_(walk.c.depth < MAX_DEPTH, walk.c.node != walk.c.start)))
            cyc = conn.execute(select(objects.c.object_id).join(
                walk, walk.c.start == objects.c.pk).where(walk.c.node == walk.c.start)
                .distinct().limit(20)).scalars().all()
            if cyc:
                problems.append(f"genealogy cycles through: {sorted(cyc)}")
            drift = self._series_drift(conn)
            if drift:
                problems.append(f"series counts differ from the records for {len(drift)} "
                                f"series (e.g. {drift[0]}); Store.recount_series() rebuilds them")
        return problems

    def _series_drift(self, conn: Any) -> list[str]:
        from sqlalchemy import select, text

        from twinline.twin.store.schema import series_counts as sc

        kept = {(p, c, s): n for p, c, s, n in conn.execute(
            select(sc.c.parameter, sc.c.conditions, sc.c.series, sc.c.n)) if n}
        counted = {(p, c, s): n for p, c, s, n in conn.execute(text(_SERIES_COUNTED))}
        return [f"{k[0]} [{k[1]}] {k[2]}: {kept.get(k, 0)} kept, {counted.get(k, 0)} stored"
                for k in sorted(set(kept) | set(counted)) if kept.get(k, 0) != counted.get(k, 0)]

    def recount_series(self) -> int:
        """Rebuild ``series_counts`` from the records and residuals (after rows were written
        past the store on SQLite, which :meth:`check` reports); returns the series counted."""
        from sqlalchemy import delete, text

        from twinline.twin.store.schema import series_counts as sc

        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("LOCK TABLE records, residuals IN SHARE ROW EXCLUSIVE MODE")
            conn.execute(delete(sc))
            res = conn.execute(text("INSERT INTO series_counts (parameter, conditions, series, n) "
                                    + _SERIES_COUNTED))
            return max(res.rowcount, 0)


def _epoch_utc(seconds: float) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(seconds, UTC)


def open_store(db: str | Path | None = None, *, create: bool = True) -> Store:
    """:meth:`Store.open`."""
    return Store.open(db, create=create)

