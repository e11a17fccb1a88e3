"""signed checkpoints of the audit chains

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_checkpoints',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('previous', sa.String(length=64), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'audit_anchors',
        sa.Column('checkpoint_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=False, nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['checkpoint_id'], ['audit_checkpoints.id']),
        sa.PrimaryKeyConstraint('checkpoint_id', 'case_id'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_audit_anchors_case', 'audit_anchors', ['case_id', 'seq'])


def downgrade() -> None:
    op.drop_index('ix_audit_anchors_case', table_name='audit_anchors')
    op.drop_table('audit_anchors')
    op.drop_table('audit_checkpoints')
