"""The tables of a line's database (SQLAlchemy Core), mirrored by the Alembic migrations.

``objects``
    Everything the line gives an id: ``object_id`` (the line's own id, unique), ``kind``
    (:data:`twinline.twin.kinds.KINDS`), ``created``, ``source``.
``genealogy``
    Edges parent → child with the ``quantity`` the child consumed (SI) and the unit it was
    given in. An object never descends from itself (checked on insert and by
    :meth:`~twinline.twin.store.Store.check`).
``records``
    Settings (``role = 'setting'``, the machine parameters and recipe values) and
    measurements (``role = 'measurement'``, process and structure parameters) of an object:
    ``parameter`` (catalogue id with electrode prefix, ``cathode.coating.am_loading``, or a
    recipe path), ``value`` in SI (or ``text`` for a non-numeric setting), ``unit`` as given,
    ``uncertainty`` (one standard deviation, SI), ``method`` (a catalogue technique),
    ``source``, ``time`` (UTC) and ``conditions`` (canonical text such as
    ``shear_rate=12.5 1/s``; empty when none). The natural key
    (source, object, parameter, time, conditions) is unique: storing the same sample twice
    stores it once.
``jobs``
    The server's jobs (:mod:`twinline.api.jobs`, ``twinline serve --db``): ``job_id``, ``kind``
    (``run``, ``structure``, ``analyse``), ``state`` (``queued``, ``running``, ``done``,
    ``failed``), ``progress`` 0..1, ``stage``, ``message`` (the one-line error of a failed
    job), ``created``/``updated`` (UTC), the request (``params``, JSON text) and the
    ``result`` (JSON text). A server that starts on a database holding ``queued`` or
    ``running`` jobs marks them ``failed`` (they died with the previous process).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
          "pk": "pk_%(table_name)s"}
metadata = MetaData(naming_convention=NAMING)

objects = Table(
    "objects", metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("object_id", String(200), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("source", String(200), nullable=False, server_default=""),
)

genealogy = Table(
    "genealogy", metadata,
    Column("parent_pk", Integer, ForeignKey("objects.pk"), primary_key=True),
    Column("child_pk", Integer, ForeignKey("objects.pk"), primary_key=True),
    Column("quantity", Float, nullable=True),
    Column("quantity_unit", String(40), nullable=False, server_default=""),
    CheckConstraint("parent_pk <> child_pk", name="not_self"),
)
Index("ix_genealogy_child", genealogy.c.child_pk)

records = Table(
    "records", metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("object_pk", Integer, ForeignKey("objects.pk"), nullable=False),
    Column("role", String(12), nullable=False),
    Column("parameter", String(200), nullable=False),
    Column("value", Float, nullable=True),
    Column("text", String(500), nullable=True),
    Column("unit", String(40), nullable=False, server_default=""),
    Column("uncertainty", Float, nullable=True),
    Column("method", String(200), nullable=False, server_default=""),
    Column("source", String(200), nullable=False, server_default=""),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("conditions", String(500), nullable=False, server_default=""),
    UniqueConstraint("source", "object_pk", "parameter", "time", "conditions",
                     name="uq_records_natural_key"),
    CheckConstraint("role IN ('setting', 'measurement')", name="role"),
)
Index("ix_records_object_parameter", records.c.object_pk, records.c.parameter)

jobs = Table(
    "jobs", metadata,
    Column("job_id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("state", String(10), nullable=False),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("stage", String(200), nullable=False, server_default=""),
    Column("message", Text, nullable=False, server_default=""),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("params", Text, nullable=False, server_default="{}"),
    Column("result", Text, nullable=True),
    CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
)
Index("ix_jobs_state", jobs.c.state)
