"""Headless Chromium driven through the DevTools protocol (for pages that need a cookie and a wait).

``--dump-dom`` cannot log in or wait for a page's fetches, so this starts Debian's chromium with
``--remote-debugging-port=0``, reads the port from ``DevToolsActivePort`` and speaks the protocol
over a websocket (``websockets``' synchronous client): set a cookie, open a page, wait for a DOM
condition, collect console errors and uncaught exceptions, evaluate expressions, take a screenshot.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is needed for the browser check: `make browser` installs it"
    return path


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, profile: Path, *, window: tuple[int, int] = (1280, 1600)) -> None:
        self.profile = profile
        self.window = window
        self.process: subprocess.Popen | None = None
        self.socket: Any = None
        self.session: str | None = None
        self.console_errors: list[str] = []
        self._ids = itertools.count(1)

    def __enter__(self) -> Browser:
        from websockets.sync.client import connect

        self.profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [chromium_path(), *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={self.window[0]},{self.window[1]}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = self.profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and len(port_file.read_text().splitlines()) >= 2:
                break
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        self.socket = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=self.window[0], height=self.window[1],
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.socket is not None:
            self.socket.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def _event(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.console_errors.append(details.get("exception", {}).get("description") or details.get("text"))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.console_errors.append(f"{params['entry'].get('text')} ({params['entry'].get('url')})")

    def call(self, method: str, **params: Any) -> dict:
        """Send one command and return its result; events arriving meanwhile are collected."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=60))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def open(self, url: str, *, ready: str, attempts: int = 200) -> Any:
        """Navigate to ``url`` and poll the JavaScript expression ``ready`` (on the new document) until truthy."""
        self.call("Page.navigate", url=url)
        on_new_page = f"location.href === {json.dumps(url)} && document.body !== null && ({ready})"
        for _ in range(attempts):
            value = self.evaluate(on_new_page)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"{url}: {ready} never became true; console errors: {self.console_errors}")

    def screenshot(self, path: Path) -> Path:
        height = int(self.evaluate("document.documentElement.scrollHeight") or self.window[1])
        data = self.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": self.window[0], "height": min(height, 8000), "scale": 1},
        )["data"]  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
