"""Descent's control plane: settings, database, tables, the job queue, auth and the HTTP API."""
