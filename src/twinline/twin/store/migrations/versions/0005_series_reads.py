"""Bounded reads of a parameter's series and alarms (the line dashboard): indexes and counts.

The control chart, the residual list and the alarm list read the newest points of one
parameter (optionally under one set of conditions) in time order, count the series and pick
the alarms of a time window: ``records (parameter, conditions, time, pk)`` (all conditions
are read as one range per conditions, merged: a second records index by (parameter, time)
slowed a 200 000-row file ingestion on SQLite by another ~20 %), ``alarms (parameter,
time, pk)`` and ``alarms (time, pk)``; the line now (the newest object of each kind)
``objects (kind, created, pk)``. Without them each such read scanned and sorted the whole
history.

``series_counts`` holds the length of every series — numeric measurements and measurements
with a residual, per (parameter, conditions) — kept exact by triggers on ``records`` and
``residuals`` (row triggers on SQLite, statement triggers over transition tables on
PostgreSQL), so that a chart's ``total`` and the list of a parameter's conditions are one
small read instead of a count over the history. The migration fills it from the rows
already stored.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


_SQLITE_MEASURED = "{r}.role = 'measurement' AND {r}.value IS NOT NULL"
#: Triggers keeping ``series_counts`` exact on SQLite (row by row; writers are serialised).
#: Records are added by :meth:`Store.insert_record_columns` only, which counts the rows it
#: added in one statement (a row trigger tripled the time of a file ingestion: 89 000 →
#: 27 000 rows/s); a record removed or changed, and residuals, are counted here.
_SQLITE_TRIGGERS = (
    # a numeric measurement removed or changed
    f"""CREATE TRIGGER tr_records_count_delete AFTER DELETE ON records
    WHEN {_SQLITE_MEASURED.format(r="OLD")}
    BEGIN
        UPDATE series_counts SET n = n - 1 WHERE parameter = OLD.parameter
            AND conditions = OLD.conditions AND series = 'measurement';
    END""",
    f"""CREATE TRIGGER tr_records_count_update AFTER UPDATE OF role, value, parameter, conditions
    ON records
    BEGIN
        UPDATE series_counts SET n = n - 1 WHERE parameter = OLD.parameter
            AND conditions = OLD.conditions AND series = 'measurement'
            AND {_SQLITE_MEASURED.format(r="OLD")};
        INSERT INTO series_counts (parameter, conditions, series, n)
        SELECT NEW.parameter, NEW.conditions, 'measurement', 1
        WHERE {_SQLITE_MEASURED.format(r="NEW")}
        ON CONFLICT (parameter, conditions, series) DO UPDATE SET n = n + 1;
        UPDATE series_counts SET n = n - 1 WHERE parameter = OLD.parameter
            AND conditions = OLD.conditions AND series = 'residual'
            AND EXISTS (SELECT 1 FROM residuals WHERE record_pk = OLD.pk);
        INSERT INTO series_counts (parameter, conditions, series, n)
        SELECT NEW.parameter, NEW.conditions, 'residual', 1
        WHERE EXISTS (SELECT 1 FROM residuals WHERE record_pk = NEW.pk)
        ON CONFLICT (parameter, conditions, series) DO UPDATE SET n = n + 1;
    END""",
    # the first residual of a record adds a point to its residual series, the last removed
    # takes it away
    """CREATE TRIGGER tr_residuals_count_insert AFTER INSERT ON residuals
    WHEN NOT EXISTS (SELECT 1 FROM residuals WHERE record_pk = NEW.record_pk AND pk <> NEW.pk)
    BEGIN
        INSERT INTO series_counts (parameter, conditions, series, n)
        SELECT parameter, conditions, 'residual', 1 FROM records WHERE pk = NEW.record_pk
        ON CONFLICT (parameter, conditions, series) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER tr_residuals_count_delete AFTER DELETE ON residuals
    WHEN NOT EXISTS (SELECT 1 FROM residuals WHERE record_pk = OLD.record_pk)
    BEGIN
        UPDATE series_counts SET n = n - 1 WHERE series = 'residual' AND EXISTS (
            SELECT 1 FROM records r WHERE r.pk = OLD.record_pk
            AND r.parameter = series_counts.parameter AND r.conditions = series_counts.conditions);
    END""",
)
_SQLITE_TRIGGERS += (
    """CREATE TRIGGER tr_residuals_count_update AFTER UPDATE OF record_pk ON residuals
    WHEN OLD.record_pk <> NEW.record_pk
    BEGIN
        UPDATE series_counts SET n = n - 1 WHERE series = 'residual'
            AND NOT EXISTS (SELECT 1 FROM residuals WHERE record_pk = OLD.record_pk)
            AND EXISTS (SELECT 1 FROM records r WHERE r.pk = OLD.record_pk
                AND r.parameter = series_counts.parameter
                AND r.conditions = series_counts.conditions);
        INSERT INTO series_counts (parameter, conditions, series, n)
        SELECT parameter, conditions, 'residual', 1 FROM records WHERE pk = NEW.record_pk
            AND NOT EXISTS (SELECT 1 FROM residuals WHERE record_pk = NEW.record_pk
                            AND pk <> NEW.pk)
        ON CONFLICT (parameter, conditions, series) DO UPDATE SET n = n + 1;
    END""",
)

#: The same on PostgreSQL, once per statement over its transition tables. The first residual
#: of a record locks the record's row (FOR NO KEY UPDATE, which a foreign-key check's KEY
#: SHARE lock does not block), so two transactions giving one record its first residual at
#: once count it once: the second waits, then sees the first's residual. Each statement is
#: planned when it runs (EXECUTE): a plan cached while ``residuals`` was small scanned the
#: whole table per statement later on (minutes for 20 000 single-row inserts).
_PG_FUNCTIONS = (
    """CREATE FUNCTION twinline_count_records() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            EXECUTE $q$UPDATE series_counts c SET n = c.n - d.n FROM (
                SELECT parameter, conditions, count(*) AS n FROM old_rows
                WHERE role = 'measurement' AND value IS NOT NULL
                GROUP BY parameter, conditions) d
            WHERE c.parameter = d.parameter AND c.conditions = d.conditions
                AND c.series = 'measurement'$q$;
        END IF;
        IF TG_OP = 'UPDATE' THEN
            EXECUTE $q$UPDATE series_counts c SET n = c.n - d.n FROM (
                SELECT parameter, conditions, count(*) AS n FROM old_rows o
                WHERE EXISTS (SELECT 1 FROM residuals s WHERE s.record_pk = o.pk)
                GROUP BY parameter, conditions) d
            WHERE c.parameter = d.parameter AND c.conditions = d.conditions
                AND c.series = 'residual'$q$;
            EXECUTE $q$INSERT INTO series_counts (parameter, conditions, series, n)
            SELECT parameter, conditions, 'residual', count(*) FROM new_rows o
            WHERE EXISTS (SELECT 1 FROM residuals s WHERE s.record_pk = o.pk)
            GROUP BY parameter, conditions ORDER BY parameter, conditions
            ON CONFLICT (parameter, conditions, series)
            DO UPDATE SET n = series_counts.n + EXCLUDED.n$q$;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            EXECUTE $q$INSERT INTO series_counts (parameter, conditions, series, n)
            SELECT parameter, conditions, 'measurement', count(*) FROM new_rows
            WHERE role = 'measurement' AND value IS NOT NULL
            GROUP BY parameter, conditions ORDER BY parameter, conditions
            ON CONFLICT (parameter, conditions, series)
            DO UPDATE SET n = series_counts.n + EXCLUDED.n$q$;
        END IF;
        RETURN NULL;
    END $f$""",
    """CREATE FUNCTION twinline_count_residuals() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            EXECUTE $q$UPDATE series_counts c SET n = c.n - d.n FROM (
                SELECT r.parameter, r.conditions, count(*) AS n FROM records r
                WHERE r.pk IN (SELECT record_pk FROM old_rows)
                    AND NOT EXISTS (SELECT 1 FROM residuals s WHERE s.record_pk = r.pk)
                GROUP BY r.parameter, r.conditions) d
            WHERE c.parameter = d.parameter AND c.conditions = d.conditions
                AND c.series = 'residual'$q$;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            EXECUTE $q$SELECT 1 FROM records WHERE pk IN (SELECT record_pk FROM new_rows)
                ORDER BY pk FOR NO KEY UPDATE$q$;
            EXECUTE $q$INSERT INTO series_counts (parameter, conditions, series, n)
            SELECT r.parameter, r.conditions, 'residual', count(*) FROM records r
            WHERE r.pk IN (SELECT record_pk FROM new_rows)
                AND NOT EXISTS (SELECT 1 FROM residuals s WHERE s.record_pk = r.pk
                                AND s.pk NOT IN (SELECT pk FROM new_rows))
            GROUP BY r.parameter, r.conditions ORDER BY r.parameter, r.conditions
            ON CONFLICT (parameter, conditions, series)
            DO UPDATE SET n = series_counts.n + EXCLUDED.n$q$;
        END IF;
        RETURN NULL;
    END $f$""",
)
_PG_TRIGGERS = tuple(
    f"CREATE TRIGGER tr_{table}_count_{op.lower()} AFTER {op} ON {table} "
    f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION twinline_count_{table}()"
    for table in ("records", "residuals")
    for op, refs in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    )
)
_BACKFILL = (
    "INSERT INTO series_counts (parameter, conditions, series, n) "
    "SELECT parameter, conditions, 'measurement', count(*) FROM records "
    "WHERE role = 'measurement' AND value IS NOT NULL GROUP BY parameter, conditions",
    "INSERT INTO series_counts (parameter, conditions, series, n) "
    "SELECT r.parameter, r.conditions, 'residual', count(*) FROM records r "
    "WHERE EXISTS (SELECT 1 FROM residuals s WHERE s.record_pk = r.pk) "
    "GROUP BY r.parameter, r.conditions",
)
_TRIGGER_NAMES = [
    ("records", f"tr_records_count_{op}") for op in ("insert", "delete", "update")
] + [("residuals", f"tr_residuals_count_{op}") for op in ("insert", "delete", "update")]


def upgrade() -> None:
    op.create_index(
        "ix_records_parameter_conditions_time",
        "records",
        ["parameter", "conditions", "time", "pk"],
    )
    op.create_index("ix_alarms_parameter_time", "alarms", ["parameter", "time", "pk"])
    op.create_index("ix_alarms_time", "alarms", ["time", "pk"])
    op.create_index("ix_objects_kind_created", "objects", ["kind", "created", "pk"])
    op.create_table(
        "series_counts",
        sa.Column("parameter", sa.String(200), nullable=False),
        sa.Column("conditions", sa.String(500), nullable=False),
        sa.Column("series", sa.String(12), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("parameter", "conditions", "series", name="pk_series_counts"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # no write between the counts and their triggers
        op.execute("LOCK TABLE records, residuals IN SHARE ROW EXCLUSIVE MODE")
    for sql in _BACKFILL:
        op.execute(sql)
    for sql in (_PG_FUNCTIONS + _PG_TRIGGERS) if postgres else _SQLITE_TRIGGERS:
        op.execute(sql)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, name in _TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS twinline_count_records()")
        op.execute("DROP FUNCTION IF EXISTS twinline_count_residuals()")
    op.drop_table("series_counts")
    op.drop_index("ix_objects_kind_created", table_name="objects")
    op.drop_index("ix_alarms_time", table_name="alarms")
    op.drop_index("ix_alarms_parameter_time", table_name="alarms")
    op.drop_index("ix_records_parameter_conditions_time", table_name="records")
