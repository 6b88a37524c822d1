"""The front door against hostile input. The upload page's preview is bounded by what it shows,
not by the file: a CSV 8 MB wide (millions of empty columns) or an .npz whose header claims a
billion columns once froze the tab building an element, a kind menu and a missing count for
every column; now it shows at most the first 50 columns and offers at most 10,000 targets, the
last column among them. The new-job form shows every error the server gives: one at a field the
form has no control for (a spec kept by "Train again") was dropped when another had a field."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cdp import Browser
from descent_server import Server

from descent import Client

pytestmark = [pytest.mark.system, pytest.mark.slow]

PREVIEW = ("document.querySelector('#upload-preview p') && [document.querySelectorAll("
           "'#preview-table th').length, document.querySelectorAll('#upload-target option')"
           ".length, document.querySelector('#upload-target').value,"
           " document.querySelector('#upload-preview p').textContent]")


def npy(header: str, data: bytes) -> bytes:
    """A .npy with this header dict (padded as numpy pads it) and these bytes of data."""
    head = header.encode()
    head += b" " * (64 - (10 + len(head) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head + data


def preview(browser: Browser, server: Server, path: Path) -> list[object]:
    browser.navigate(f"{server.url}/#/upload?key={server.api_key}")
    browser.wait_for("document.querySelector('#upload-file') !== null")
    browser.set_files("#upload-file", [path])
    return browser.wait_for(PREVIEW, timeout=60)


def test_wide_files_preview_bounded_and_every_error_is_shown(server: Server, browser: Browser,
                                                             tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text("a," + "," * (3 << 20) + "last\n" + "1," * 20 + "\n")
    th, options, target, caption = preview(browser, server, wide)
    assert (th, options, target) == (50, 10_001, "last")  # "none" + 9,999 first + the last
    assert "3145730 columns (the first 50 shown" in str(caption)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("X.npy", npy("{'descr': '<f8', 'fortran_order': False, "
                                      "'shape': (2, 1000000000), }", bytes(800)))
    claimed = tmp_path / "claimed.npz"
    claimed.write_bytes(buffer.getvalue())
    th, _, _, caption = preview(browser, server, claimed)
    assert th == 50 and "X: 2 × 1000000000" in str(caption), caption

    with Client(server.url, server.api_key) as client:
        rng = np.random.default_rng(0)
        dataset = client.upload_dataset(rng.normal(size=(20, 2)), [0, 1] * 10)
    browser.navigate(f"{server.url}/#/new?dataset={dataset.id}&key={server.api_key}")
    browser.wait_for("document.querySelector('#job-epochs') !== null")
    # The server's answer to the estimate: one error the form has a field for, one it has not.
    browser.evaluate("""window.fetch = async () => new Response(JSON.stringify({status: 422,
        title: 'Invalid input', detail: 'two errors', errors: [
          {loc: ['body', 'training', 'epochs'], msg: 'too many epochs'},
          {loc: ['body', 'training', 'gradient_clip'], msg: 'clip must be positive'}]}),
        {status: 422, headers: {'Content-Type': 'application/json'}}); true""")
    browser.replace_text("#job-epochs", "7")
    shown = browser.wait_for("document.querySelector('#form-error').textContent && "
                             "[document.querySelector('#job-epochs-error').textContent,"
                             " document.querySelector('#form-error').textContent]")
    assert "too many epochs" in shown[0] and "too many epochs" not in shown[1]
    assert "training.gradient_clip: clip must be positive" in shown[1], shown
