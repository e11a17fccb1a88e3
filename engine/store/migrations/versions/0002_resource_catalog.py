"""resource catalog: datasets and their versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:30:00
"""

from alembic import op
import sqlalchemy as sa
import engine.store.schema
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('catalog_datasets',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('provider_dept', sa.String(length=200), nullable=False),
    sa.Column('share_class', sa.String(length=20), nullable=False),
    sa.Column('open_class', sa.String(length=20), nullable=False),
    sa.Column('data_items', _JSON, nullable=False),
    sa.Column('restriction_basis', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['provider_dept'], ['groups.name'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('catalog_datasets', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_datasets_provider', ['provider_dept'], unique=False)
    op.create_table('catalog_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changes', _JSON, nullable=False),
    sa.PrimaryKeyConstraint('version')
    )


def downgrade() -> None:
    op.drop_table('catalog_versions')
    with op.batch_alter_table('catalog_datasets', schema=None) as batch_op:
        batch_op.drop_index('ix_catalog_datasets_provider')
    op.drop_table('catalog_datasets')
