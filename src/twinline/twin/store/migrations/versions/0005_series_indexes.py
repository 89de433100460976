"""Indexes for the bounded reads of a parameter's series and alarms (the line dashboard).

The control chart, the residual list and the alarm list read the newest points of one
parameter (optionally under one set of conditions) in time order, count the series and pick
the alarms of a time window: ``records (parameter, time, pk)``, ``records (parameter,
conditions, time, pk, role, value)`` (its trailing role and value let the measurement
series be counted from the index alone), ``alarms (parameter, time, pk)`` and ``alarms
(time, pk)``. Without them each such read scanned and sorted the whole history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_parameter_time", "records", ["parameter", "time", "pk"])
    op.create_index(
        "ix_records_parameter_conditions_time",
        "records",
        ["parameter", "conditions", "time", "pk", "role", "value"],
    )
    op.create_index("ix_alarms_parameter_time", "alarms", ["parameter", "time", "pk"])
    op.create_index("ix_alarms_time", "alarms", ["time", "pk"])


def downgrade() -> None:
    op.drop_index("ix_alarms_time", table_name="alarms")
    op.drop_index("ix_alarms_parameter_time", table_name="alarms")
    op.drop_index("ix_records_parameter_conditions_time", table_name="records")
    op.drop_index("ix_records_parameter_time", table_name="records")
