"""The twin loop: calibration versions, predictions, residuals, alarms.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calibrations",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("parent", sa.String(64), nullable=False, server_default=""),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("measurements", sa.Integer, nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("pk", name="pk_calibrations"),
        sa.UniqueConstraint("version", name="uq_calibrations_version"),
    )
    op.create_table(
        "predictions",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("object_pk", sa.Integer, nullable=False),
        sa.Column("parameter", sa.String(200), nullable=False),
        sa.Column("conditions", sa.String(500), nullable=False, server_default=""),
        sa.Column("mean", sa.Float, nullable=False),
        sa.Column("std", sa.Float, nullable=False),
        sa.Column("calibration_pk", sa.Integer, nullable=False),
        sa.Column("models", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_predictions"),
        sa.ForeignKeyConstraint(["object_pk"], ["objects.pk"],
                                name="fk_predictions_object_pk_objects"),
        sa.ForeignKeyConstraint(["calibration_pk"], ["calibrations.pk"],
                                name="fk_predictions_calibration_pk_calibrations"),
        sa.UniqueConstraint("object_pk", "parameter", "conditions", "calibration_pk",
                            name="uq_predictions_natural_key"),
    )
    op.create_table(
        "residuals",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_pk", sa.Integer, nullable=False),
        sa.Column("prediction_pk", sa.Integer, nullable=False),
        sa.Column("residual", sa.Float, nullable=False),
        sa.Column("z", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_residuals"),
        sa.ForeignKeyConstraint(["record_pk"], ["records.pk"],
                                name="fk_residuals_record_pk_records"),
        sa.ForeignKeyConstraint(["prediction_pk"], ["predictions.pk"],
                                name="fk_residuals_prediction_pk_predictions"),
        sa.UniqueConstraint("record_pk", "prediction_pk", name="uq_residuals_natural_key"),
    )
    op.create_index("ix_residuals_record", "residuals", ["record_pk"])
    op.create_table(
        "alarms",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("object_pk", sa.Integer, nullable=False),
        sa.Column("parameter", sa.String(200), nullable=False),
        sa.Column("series", sa.String(20), nullable=False),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("message", sa.String(500), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("pk", name="pk_alarms"),
        sa.ForeignKeyConstraint(["object_pk"], ["objects.pk"],
                                name="fk_alarms_object_pk_objects"),
        sa.UniqueConstraint("object_pk", "parameter", "series", "rule", "time",
                            name="uq_alarms_natural_key"),
    )


def downgrade() -> None:
    op.drop_table("alarms")
    op.drop_index("ix_residuals_record", table_name="residuals")
    op.drop_table("residuals")
    op.drop_table("predictions")
    op.drop_table("calibrations")
