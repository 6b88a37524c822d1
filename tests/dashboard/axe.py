"""axe-core (the accessibility rules engine) for the browser tests, from the npm registry.

``axe_source`` fetches the pinned release once with ``npm pack`` into ``.venv/`` (next to the
test's other downloads, ignored by git) and returns ``axe.min.js``; ``violations`` injects it into
the page over the DevTools protocol and runs the WCAG 2.1 A and AA rules.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from cdp import Browser

AXE_VERSION = "4.10.2"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_source(cache: Path) -> str:
    """axe.min.js of AXE_VERSION, cached under ``cache``; RuntimeError when npm cannot get it."""
    script = cache / f"axe-core-{AXE_VERSION}" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is missing: apt-get install -y npm")
        with tempfile.TemporaryDirectory() as scratch:
            done = subprocess.run([npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"],
                                  cwd=scratch, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"npm pack axe-core@{AXE_VERSION}: {done.stderr.strip()}")
            with tarfile.open(Path(scratch) / f"axe-core-{AXE_VERSION}.tgz") as tgz:
                member = tgz.extractfile("package/axe.min.js")
                assert member is not None
                data = member.read()
        script.parent.mkdir(parents=True, exist_ok=True)
        script.with_suffix(".part").write_bytes(data)
        script.with_suffix(".part").rename(script)  # whole or absent, for a parallel run
    return script.read_text()


def violations(browser: Browser, source: str) -> list[dict[str, Any]]:
    """The page's WCAG 2.1 A/AA violations: [{id, help, nodes: [selector, …]}, …]."""
    if not browser.evaluate("typeof axe !== 'undefined'"):
        browser.evaluate(source + "\n;true")
    found: list[dict[str, Any]] = browser.evaluate(
        f"axe.run(document, {{runOnly: {{type: 'tag', values: {WCAG!r}}}}})"
        ".then(r => r.violations.map(v => ({id: v.id, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))")
    return found
