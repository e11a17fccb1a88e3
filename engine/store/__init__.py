"""The database: connection, schema, migrations, backup and the audit chain."""
