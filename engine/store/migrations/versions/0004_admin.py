"""model drafts

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa
import engine.store.schema

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_drafts',
    sa.Column('process_id', sa.String(length=200), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('xml', sa.LargeBinary(), nullable=False),
    sa.Column('saved_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('saved_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('process_id')
    )


def downgrade() -> None:
    op.drop_table('model_drafts')
