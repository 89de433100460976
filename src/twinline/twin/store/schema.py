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
``calibrations``
    The versions of the twin's calibration (:class:`twinline.twin.calibration.Calibration`):
    ``version`` (its content-hash id, unique), ``parent`` (the version it was updated from;
    empty for a prior), ``created``, ``state`` (the JSON of ``Calibration.to_dict``: posterior
    mean and covariance, constants, the measurements it used), ``measurements`` (how many it
    used) and ``active`` (exactly one active version: the one predictions use).
``predictions``
    The twin's prediction of an object's catalogue output before it is measured: ``object``,
    ``parameter`` (catalogue id with electrode), ``conditions`` (as a measurement's, e.g. the
    shear rate of a viscosity; empty when none), ``mean`` and ``std`` in SI, the
    ``calibration`` version used, ``models`` (JSON: the model versions) and ``created``.
    Unique per (object, parameter, conditions, calibration).
``residuals``
    A measurement (``record``) against its prediction: ``residual`` = measured − predicted
    (SI) and ``z`` = residual / sqrt(measurement var + prediction var). Unique per record and
    prediction.
``alarms``
    An SPC rule that fired: ``object``, ``parameter``, ``series`` (``measurement``,
    ``residual``, ``spec`` or ``capability``), ``rule`` (e.g. ``imr.individual``,
    ``nelson.2``, ``ewma``, ``cusum``, ``spec:above-upper``, ``capability:cpk<1.33``),
    ``time`` (the measurement's), ``value`` and a one-line ``message``. Unique per (object,
    parameter, series, rule, time): an alarm is stored once. The live loop's alarm policy
    (:class:`twinline.twin.spc.AlarmPolicy`) stores one per event, series ``event``.
``series_counts``
    The length ``n`` of each series a control chart shows: per ``parameter`` and
    ``conditions``, ``series = 'measurement'`` counts the numeric measurements (role
    measurement, value not null) and ``series = 'residual'`` the records with at least one
    residual. Kept exact in the transaction of each write (migration 0005): by triggers on
    ``records`` and ``residuals``, and on SQLite by the store's record insert (rows written
    past the store: :meth:`~twinline.twin.store.Store.check` reports them,
    :meth:`~twinline.twin.store.Store.recount_series` rebuilds); read instead of counting
    the history.
``twin_cursors``
    Where a live twin (``twinline twin run``, :mod:`twinline.twin.live`) stands in the
    store: ``name`` (one per loop following the store) and ``time``, the newest record time
    whose records it has processed (all records up to it), ``updated`` (UTC). A restarted
    loop resumes after it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
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

# the newest object of a kind (the line now)
Index("ix_objects_kind_created", objects.c.kind, objects.c.created, objects.c.pk)

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
# a parameter's series under one conditions in time order
Index("ix_records_parameter_conditions_time", records.c.parameter, records.c.conditions,
      records.c.time, records.c.pk)

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
calibrations = Table(
    "calibrations", metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False, unique=True),
    Column("parent", String(64), nullable=False, server_default=""),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False),
    Column("measurements", Integer, nullable=False, server_default="0"),
    Column("active", Boolean, nullable=False, server_default="0"),
)

predictions = Table(
    "predictions", metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("object_pk", Integer, ForeignKey("objects.pk"), nullable=False),
    Column("parameter", String(200), nullable=False),
    Column("conditions", String(500), nullable=False, server_default=""),
    Column("mean", Float, nullable=False),
    Column("std", Float, nullable=False),
    Column("calibration_pk", Integer, ForeignKey("calibrations.pk"), nullable=False),
    Column("models", Text, nullable=False, server_default="{}"),
    Column("created", DateTime(timezone=True), nullable=False),
    UniqueConstraint("object_pk", "parameter", "conditions", "calibration_pk",
                     name="uq_predictions_natural_key"),
)

residuals = Table(
    "residuals", metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("record_pk", Integer, ForeignKey("records.pk"), nullable=False),
    Column("prediction_pk", Integer, ForeignKey("predictions.pk"), nullable=False),
    Column("residual", Float, nullable=False),
    Column("z", Float, nullable=False),
    UniqueConstraint("record_pk", "prediction_pk", name="uq_residuals_natural_key"),
)
Index("ix_residuals_record", residuals.c.record_pk)

alarms = Table(
    "alarms", metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("object_pk", Integer, ForeignKey("objects.pk"), nullable=False),
    Column("parameter", String(200), nullable=False),
    Column("series", String(20), nullable=False),
    Column("rule", String(60), nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("value", Float, nullable=True),
    Column("message", String(500), nullable=False, server_default=""),
    UniqueConstraint("object_pk", "parameter", "series", "rule", "time",
                     name="uq_alarms_natural_key"),
)
Index("ix_alarms_parameter_time", alarms.c.parameter, alarms.c.time, alarms.c.pk)
Index("ix_alarms_time", alarms.c.time, alarms.c.pk)

series_counts = Table(
    "series_counts", metadata,
    Column("parameter", String(200), primary_key=True),
    Column("conditions", String(500), primary_key=True),
    Column("series", String(12), primary_key=True),
    Column("n", Integer, nullable=False),
)

twin_cursors = Table(
    "twin_cursors", metadata,
    Column("name", String(100), primary_key=True),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
)
