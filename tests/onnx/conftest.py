"""The ONNX tests share the client tests' server helper (tests/descent) and the API tests'
helpers (tests/service)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "descent"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
