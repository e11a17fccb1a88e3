"""server-side web sessions and per-user language

Revision ID: 0006
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import engine.store.schema

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('created_at', engine.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['username'], ['users.username'], ),
    sa.PrimaryKeyConstraint('id_hash')
    )
    op.create_index('ix_web_sessions_user', 'web_sessions', ['username'], unique=False)
    op.create_table('user_preferences',
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['users.username'], ),
    sa.PrimaryKeyConstraint('username')
    )


def downgrade() -> None:
    op.drop_table('user_preferences')
    op.drop_index('ix_web_sessions_user', table_name='web_sessions')
    op.drop_table('web_sessions')
