"""The line: objects, genealogy, records (settings and measurements).

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "objects",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("pk", name="pk_objects"),
        sa.UniqueConstraint("object_id", name="uq_objects_object_id"),
    )
    op.create_table(
        "genealogy",
        sa.Column("parent_pk", sa.Integer, nullable=False),
        sa.Column("child_pk", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Float, nullable=True),
        sa.Column("quantity_unit", sa.String(40), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("parent_pk", "child_pk", name="pk_genealogy"),
        sa.ForeignKeyConstraint(["parent_pk"], ["objects.pk"],
                                name="fk_genealogy_parent_pk_objects"),
        sa.ForeignKeyConstraint(["child_pk"], ["objects.pk"],
                                name="fk_genealogy_child_pk_objects"),
        sa.CheckConstraint("parent_pk <> child_pk", name="ck_genealogy_not_self"),
    )
    op.create_index("ix_genealogy_child", "genealogy", ["child_pk"])
    op.create_table(
        "records",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("object_pk", sa.Integer, nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("parameter", sa.String(200), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("text", sa.String(500), nullable=True),
        sa.Column("unit", sa.String(40), nullable=False, server_default=""),
        sa.Column("uncertainty", sa.Float, nullable=True),
        sa.Column("method", sa.String(200), nullable=False, server_default=""),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conditions", sa.String(500), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("pk", name="pk_records"),
        sa.ForeignKeyConstraint(["object_pk"], ["objects.pk"],
                                name="fk_records_object_pk_objects"),
        sa.UniqueConstraint("source", "object_pk", "parameter", "time", "conditions",
                            name="uq_records_natural_key"),
        sa.CheckConstraint("role IN ('setting', 'measurement')", name="ck_records_role"),
    )
    op.create_index("ix_records_object_parameter", "records", ["object_pk", "parameter"])


def downgrade() -> None:
    op.drop_table("records")
    op.drop_table("genealogy")
    op.drop_table("objects")
