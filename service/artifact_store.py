"""Where large artifacts (stored datasets) live: a directory, or any ``fsspec`` URL.

The database keeps each artifact's key and content hash; the bytes live here, under
``datasets/<id>.npz``. By default the store is a directory beside the SQLite file
(``descent.db`` → ``descent-artifacts/``); ``DESCENT_ARTIFACT_STORE`` names another directory or
an ``fsspec`` URL (``s3://bucket/descent``, ``file:///srv/descent``, ``memory://…`` in tests;
``pip install fsspec`` plus the filesystem's own package). On PostgreSQL without the setting,
datasets stay in the database as before (``datasets.content``): API and workers on several
hosts would not share a local directory.

Crash safety: an artifact is written under a temporary key and renamed into place only when
complete (``put_file``), and the dataset row naming it is inserted only after that; a reader
therefore never meets half an artifact. A crash between the rename and the insert leaves a file
no row names (``service.repository.datasets.orphans`` lists them).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

CHUNK = 8 << 20


def sqlite_path(database_url: str) -> Path | None:
    """The SQLite file of ``database_url`` (None for PostgreSQL or an in-memory SQLite)."""
    if not database_url.startswith("sqlite"):
        return None
    path = database_url.split(":///", 1)[-1] if ":///" in database_url else ""
    if not path or path == ":memory:":
        return None
    return Path(path.split("?", 1)[0])


@dataclass(frozen=True)
class ArtifactStore:
    """A key → bytes store rooted at ``root``: a local directory, or a path on ``fs`` (an
    ``fsspec`` filesystem)."""

    root: str
    fs: Any = None  # None: the local filesystem through os / pathlib

    @property
    def url(self) -> str:
        return self.root if self.fs is None else f"{_protocol(self.fs)}://{self.root}"

    def _path(self, key: str) -> str:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"bad artifact key {key!r}")
        return f"{self.root.rstrip('/')}/{key}"

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A local file path to write an artifact to before ``put_file``; removed afterwards
        if still there. For a local store it lies inside it (``tmp/``), so ``put_file`` is a
        rename, not a copy."""
        if self.fs is None:
            folder = Path(self.root) / "tmp"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / uuid.uuid4().hex
            try:
                yield path
            finally:
                path.unlink(missing_ok=True)
        else:
            with tempfile.TemporaryDirectory(prefix="descent-artifact-") as temporary:
                yield Path(temporary) / "artifact"

    def put_file(self, key: str, source: str | Path) -> str:
        """Move the complete local file ``source`` in as ``key``, atomically: a reader sees
        all of it or nothing. Returns the SHA-256 of its bytes."""
        digest = hashlib.sha256()
        final = self._path(key)
        if self.fs is None:
            with open(source, "rb") as src:
                while block := src.read(CHUNK):
                    digest.update(block)
                os.fsync(src.fileno())
            Path(final).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, final)
            _fsync_dir(Path(final).parent)
            return digest.hexdigest()
        temporary = self._path(f"tmp/{uuid.uuid4().hex}")
        try:
            with open(source, "rb") as src, self.fs.open(temporary, "wb") as out:
                while block := src.read(CHUNK):
                    digest.update(block)
                    out.write(block)
            self.fs.mv(temporary, final)
        finally:
            if self.fs.exists(temporary):
                self.fs.rm(temporary)
        return digest.hexdigest()

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        """``key``'s bytes as a seekable binary file."""
        if self.fs is None:
            with open(self._path(key), "rb") as file:
                yield file
        else:
            with self.fs.open(self._path(key), "rb") as file:
                yield file

    def local_path(self, key: str) -> str | None:
        """The file of ``key`` when the store is a local directory (readers may map it)."""
        return self._path(key) if self.fs is None else None

    def exists(self, key: str) -> bool:
        path = self._path(key)
        return Path(path).exists() if self.fs is None else bool(self.fs.exists(path))

    def delete(self, key: str) -> None:
        """Remove ``key`` (no error when it is already gone)."""
        path = self._path(key)
        if self.fs is None:
            Path(path).unlink(missing_ok=True)
        elif self.fs.exists(path):
            self.fs.rm(path)

    def keys(self, prefix: str) -> list[str]:
        """The keys under ``prefix/`` (e.g. ``datasets``)."""
        base = self._path(prefix)
        if self.fs is None:
            folder = Path(base)
            return [f"{prefix}/{p.name}" for p in folder.iterdir()] if folder.is_dir() else []
        if not self.fs.exists(base):
            return []
        return [f"{prefix}/{p.rstrip('/').rsplit('/', 1)[-1]}" for p in self.fs.ls(base,
                                                                                   detail=False)]


def _protocol(fs: Any) -> str:
    protocol = fs.protocol
    return str(protocol[0] if isinstance(protocol, tuple | list) else protocol)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def store_for(configured: str | None, database_url: str) -> ArtifactStore | None:
    """The artifact store of a deployment: ``configured`` (``DESCENT_ARTIFACT_STORE``: a
    directory or an ``fsspec`` URL), else a directory beside the SQLite file, else None
    (PostgreSQL without the setting: datasets stay in the database)."""
    if configured:
        if "://" not in configured or configured.startswith("file://"):
            local = configured.removeprefix("file://")
            return ArtifactStore(str(Path(local).expanduser().resolve()))
        try:
            import fsspec
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(f"DESCENT_ARTIFACT_STORE={configured} needs fsspec: "
                               "pip install 'descent[artifacts]'") from exc
        fs, root = fsspec.core.url_to_fs(configured)
        return ArtifactStore(str(root), fs)
    path = sqlite_path(database_url)
    if path is None:
        return None
    return ArtifactStore(str(path.resolve().with_name(f"{path.stem}-artifacts")))


# The setting of each database an app was created for in this process (tests build apps with
# settings of their own); other processes (workers) read DESCENT_ARTIFACT_STORE.
_CONFIGURED: dict[str, str | None] = {}


def configure(database_url: str, configured: str | None) -> None:
    """Record the ``artifact_store`` setting used for ``database_url`` in this process."""
    _CONFIGURED[database_url] = configured


def for_database(database_url: str) -> ArtifactStore | None:
    """The artifact store of the database at ``database_url`` (see ``store_for``)."""
    if database_url in _CONFIGURED:
        configured = _CONFIGURED[database_url]
    else:
        from service.settings import get_settings

        configured = get_settings().artifact_store
    return store_for(configured, database_url)

