"""Where the database is, said plainly: the SQLite file a URL names (the default one in the
user's data directory, see `service.settings.default_database_path`), a printable form of any
URL, and the refusal of commands that only read to create a database by opening a missing file.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from service.settings import default_database_path


class DatabaseMissingError(RuntimeError):
    """A command that does not create databases was pointed at a SQLite file that is not there."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"there is no database at {path}. `descent serve` (or `descent migrate`) creates it; "
            "to use another one, set DESCENT_DATABASE_URL or pass --database-url"
        )


def sqlite_file(url: str) -> Path | None:
    """The absolute path of the SQLite file ``url`` names; None for another database, an
    in-memory one or a URL that is not one."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser().absolute()


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url


def describe(url: str) -> str:
    """What to print for "the database": a SQLite file's absolute path, else the URL without
    its password."""
    path = sqlite_file(url)
    return str(path) if path is not None else redact(url)


def require_existing(url: str) -> None:
    """Raise `DatabaseMissingError` when ``url`` is a SQLite file that does not exist (opening it
    would create an empty database there)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseMissingError(path)


def make_home(url: str) -> None:
    """Create the default database's directory (the user's data directory may not exist yet).
    Any other path is the operator's: a missing directory there is an error, not a guess."""
    path = sqlite_file(url)
    if path is not None and path == default_database_path().absolute():
        path.parent.mkdir(parents=True, exist_ok=True)
