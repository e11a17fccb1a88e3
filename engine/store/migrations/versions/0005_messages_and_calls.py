"""message waits and the called-process versions of each case

Revision ID: 0005
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'message_waits',
        sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('corr_key', sa.String(length=200), nullable=False),
        sa.Column('message', sa.String(length=200), nullable=False),
        sa.Column('element_id', sa.String(length=200), nullable=False),
        sa.Column('corr_value', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('case_id', 'task_id', 'corr_key'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_message_waits_match', 'message_waits',
                    ['message', 'corr_key', 'corr_value'], unique=False)
    op.create_table(
        'case_calls',
        sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['version_id'], ['process_versions.id']),
        sa.PrimaryKeyConstraint('case_id', 'process_id'),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('case_calls')
    op.drop_index('ix_message_waits_match', table_name='message_waits')
    op.drop_table('message_waits')
