"""The one SQLite database: schema, connections, group commit, retention."""
