"""Just enough of the Chrome DevTools Protocol to drive headless Chromium from a test.

A minimal WebSocket client (RFC 6455: masked text frames out, any frames in) over a socket, so
the tests need no extra package. ``Browser`` starts Chromium with ``--remote-debugging-port=0``,
finds its page target and offers ``navigate``, ``evaluate``, ``wait_for`` and ``screenshot``;
the events it sends (``Network.requestWillBeSent`` once ``Network.enable`` was called, say)
collect in ``events``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--remote-debugging-port=0", "--window-size=1280,900"]


# Key name → (virtual key code, the text it types).
KEYS = {"Enter": (13, "\r"), "Tab": (9, ""), "Space": (32, " "), " ": (32, " "),
        "ArrowDown": (40, ""), "ArrowUp": (38, ""), "Home": (36, ""), "End": (35, ""),
        "Backspace": (8, ""), "Escape": (27, "")}
CODES = {"Space": "Space", " ": "Space", "Enter": "Enter", "Tab": "Tab", "ArrowDown": "ArrowDown",
         "ArrowUp": "ArrowUp", "Home": "Home", "End": "End", "Backspace": "Backspace",
         "Escape": "Escape"}


class WebSocket:
    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port or 80), timeout=30)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        request = (f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the DevTools socket closed during the handshake")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.decode(errors="replace"))

    def send(self, text: str) -> None:
        payload, mask = text.encode(), secrets.token_bytes(4)
        n = len(payload)
        if n < 126:
            length = bytes([0x80 | n])
        elif n < 1 << 16:
            length = bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            length = bytes([0x80 | 127]) + struct.pack(">Q", n)
        header = bytes([0x81]) + length  # FIN + text frame; client frames are masked
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("the DevTools socket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else b""
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 0x9:  # ping
                continue
            if opcode == 0x8:
                raise ConnectionError("the DevTools socket closed")
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self) -> None:
        self.sock.close()


class Browser:
    def __init__(self, executable: str, profile: Path, flags: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen([executable, *FLAGS, *flags, f"--user-data-dir={profile}",
                                         "about:blank"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        endpoint = None
        deadline = time.monotonic() + 60
        while endpoint is None and time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            endpoint = found.group(1) if found else None
        if endpoint is None:
            raise RuntimeError("chromium did not report its DevTools endpoint")
        # Keep reading its stderr so a chatty browser never blocks on a full pipe.
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        http = "http://" + urlparse(endpoint).netloc
        pages = [t for t in httpx.get(f"{http}/json/list", timeout=10).json()
                 if t["type"] == "page"]
        self.ws = WebSocket(pages[0]["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events: list[dict[str, Any]] = []  # what the browser told unasked (after X.enable)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result
            if "method" in message:
                self.events.append(message)

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """The first truthy value of ``expression``, polled every 100 ms."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"{expression} stayed {value!r} for {timeout} s")

    # --- input as a user gives it: the mouse at an element's centre, keys, typed text ---------

    def click(self, selector: str) -> None:
        """A left click at the centre of the element (scrolled into view first)."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        if box is None:
            raise LookupError(f"nothing matches {selector}")
        x, y = box
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def focus(self, selector: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus(); true")

    def press(self, key: str, modifiers: int = 0) -> None:
        """One key (a name in KEYS, or a letter), down then up; modifiers 2 = Ctrl."""
        code, text = KEYS[key] if key in KEYS else (ord(key.upper()), key)
        params = {"key": " " if key == "Space" else key,
                  "code": CODES.get(key, f"Key{key.upper()}"), "windowsVirtualKeyCode": code,
                  "nativeVirtualKeyCode": code, "modifiers": modifiers}
        if text and not modifiers:
            self.call("Input.dispatchKeyEvent", type="keyDown", text=text, **params)
        else:
            # Ctrl+A selects all only when told so (the editing command is not platform-free).
            commands = ["selectAll"] if (key, modifiers) == ("a", 2) else []
            self.call("Input.dispatchKeyEvent", type="rawKeyDown", commands=commands, **params)
        self.call("Input.dispatchKeyEvent", type="keyUp", **params)

    def type_text(self, text: str) -> None:
        self.call("Input.insertText", text=text)

    def replace_text(self, selector: str, text: str) -> None:
        """Focus a text field, select what it holds (Ctrl+A) and type over it."""
        self.focus(selector)
        self.press("a", modifiers=2)
        self.type_text(text)

    def set_files(self, selector: str, paths: list[Path]) -> None:
        """What picking files in the file chooser of an <input type=file> does."""
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", nodeId=node, files=[str(p) for p in paths])

    def allow_downloads(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.call("Page.setDownloadBehavior", behavior="allow", downloadPath=str(directory))

    def screenshot(self, path: Path) -> bytes:
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        return png

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def chromium_executable() -> str | None:
    for candidate in (os.environ.get("DESCENT_CHROMIUM"), "/usr/bin/chromium",
                      "/usr/bin/chromium-browser"):
        if candidate and Path(candidate).exists():
            return candidate
    return None
