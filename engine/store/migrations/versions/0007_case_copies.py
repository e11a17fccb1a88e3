"""cases copied to users and groups for information (抄送)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_copies',
        sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('recipient', sa.String(length=200), nullable=False),
        sa.Column('copied_by', sa.String(length=200), nullable=False),
        sa.Column('copied_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('case_id', 'recipient'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_case_copies_recipient', 'case_copies', ['recipient', 'copied_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_copies_recipient', table_name='case_copies')
    op.drop_table('case_copies')
