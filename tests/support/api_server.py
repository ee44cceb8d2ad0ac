"""A real ``airflow api-server`` for a test module: started on a free 127.0.0.1 port, stopped after.

The server runs as a child process with the test session's AIRFLOW_HOME and SQLite database (so rows
the test wrote are what it serves), one worker, and whatever extra configuration the test passes as
environment variables. Readiness is polled on ``/api/v2/monitor/health`` (a bounded number of
attempts, never a timed assertion); on failure the server's log is shown.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ApiServer:
    base_url: str
    process: subprocess.Popen
    log: Path

    def request(
        self, path: str, *, token: str | None = None, method: str = "GET", body: dict | None = None
    ) -> tuple[int, bytes]:
        """``(status, body)`` of a request to the server (errors are returned, not raised)."""
        headers = {"Accept": "application/json"}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def json(self, path: str, *, token: str | None = None) -> tuple[int, dict]:
        status, body = self.request(path, token=token)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, {"raw": body.decode(errors="replace")}

    def token(self, username: str, password: str) -> str:
        status, body = self.request(
            "/auth/token", method="POST", body={"username": username, "password": password}
        )
        assert status == 201, (status, body)
        return json.loads(body)["access_token"]

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_api_server(workdir: Path, env: Mapping[str, str], *, attempts: int = 1200) -> ApiServer:
    """Start ``airflow api-server`` and wait until its health endpoint answers."""
    port = free_port()
    log = workdir / "api-server.log"
    full_env = {
        **os.environ,
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    handle = log.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow",
            "api-server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=full_env,
        cwd=workdir,
        start_new_session=True,
    )
    server = ApiServer(f"http://127.0.0.1:{port}", process, log)
    for _ in range(attempts):
        if process.poll() is not None:
            raise RuntimeError(f"airflow api-server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            status, _ = server.request("/api/v2/monitor/health")
            if status == 200:
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    stop_api_server(server)
    raise RuntimeError(f"airflow api-server did not answer after {attempts} attempts:\n{server.log_tail()}")


def stop_api_server(server: ApiServer) -> None:
    """Stop the server and every process it started (its own process group)."""
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=30)
