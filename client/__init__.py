"""The Descent Python client and the user side of the `descent` command line (HTTP only)."""
