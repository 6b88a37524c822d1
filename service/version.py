"""The installed ``descent`` distribution's version (pyproject's ``version``), read once.

Shown by ``descent --version``, served as the OpenAPI document's version and written into
exported ONNX models' metadata.
"""

from __future__ import annotations

from importlib import metadata


def installed_version() -> str:
    """The version, or ``"0.0.0"`` when run from a source checkout that was never installed."""
    try:
        return metadata.version("descent")
    except metadata.PackageNotFoundError:
        return "0.0.0"


VERSION = installed_version()
