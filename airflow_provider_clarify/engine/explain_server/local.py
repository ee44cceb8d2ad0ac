"""Run the open explainer (and, optionally, a model server for an artifact) as local background processes.

This is "deploying" without SageMaker: :func:`start_local_endpoint` writes the explainer config (and
data-capture config) next to the logs, starts ``python -m airflow_provider_clarify.engine
explain-server`` detached from the caller (its own session, so it outlives an Airflow task), waits
until ``/ping`` answers, and returns the endpoint URL plus the process ids; :func:`stop_local_endpoint`
stops them. Clients call the URL exactly as they call SageMaker (boto3 ``sagemaker-runtime`` with
``endpoint_url``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airflow_provider_clarify.engine.errors import EngineRuntimeError

STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_ping(url: str, process: subprocess.Popen, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineRuntimeError(
                f"The process serving {url} exited with status {process.returncode}; its log "
                f"({log}) ends with: {log.read_text()[-2000:]}"
            )
        try:
            if httpx.get(url + "/ping", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise EngineRuntimeError(f"{url} did not answer /ping within {STARTUP_SECONDS:g} s; see {log}.")


def _spawn(command: list[str], log: Path, url: str) -> subprocess.Popen:
    env = {**os.environ}
    root = str(Path(__file__).resolve().parents[3])  # make the package importable in the child
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    handle = log.open("ab")
    process = subprocess.Popen(
        command, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    handle.close()
    try:
        _wait_for_ping(url, process, log)
    except Exception:
        process.kill()
        raise
    return process


def start_local_endpoint(
    explainer_config: dict[str, Any],
    workdir: str | Path,
    *,
    model_url: str | None = None,
    model_artifact: str | Path | None = None,
    data_capture_config: dict[str, Any] | None = None,
    endpoint_name: str = "open-explainer",
) -> dict[str, Any]:
    """Start the explainer in front of ``model_url`` (or of a server started for ``model_artifact``).

    :return: ``{"url", "model_url", "pids", "workdir"}``; pass it to :func:`stop_local_endpoint`.
    """
    if (model_url is None) == (model_artifact is None):
        raise ValueError("Give exactly one of model_url (a running model server) and model_artifact.")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    pids = []
    if model_artifact is not None:
        port = free_port()
        model_url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "airflow_provider_clarify.engine.explain_server.artifact_server",
            "--artifact", str(model_artifact), "--port", str(port),
        ]  # fmt: skip
        pids.append(_spawn(command, workdir / "model-server.log", model_url).pid)
    config_path = workdir / "explainer_config.json"
    config_path.write_text(json.dumps(explainer_config, indent=2))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "airflow_provider_clarify.engine", "explain-server",
        "--explainer-config", str(config_path), "--model-url", str(model_url), "--port", str(port),
        "--endpoint-name", endpoint_name, "--log-level", "warning",
    ]  # fmt: skip
    if data_capture_config:
        capture_path = workdir / "data_capture_config.json"
        capture_path.write_text(json.dumps(data_capture_config, indent=2))
        command += ["--data-capture-config", str(capture_path)]
    try:
        pids.append(_spawn(command, workdir / "explainer.log", url).pid)
    except Exception:
        stop_local_endpoint({"pids": pids})
        raise
    endpoint = {"url": url, "model_url": model_url, "pids": pids, "workdir": str(workdir)}
    (workdir / "endpoint.json").write_text(json.dumps(endpoint))
    return endpoint


def stop_local_endpoint(endpoint: dict[str, Any], *, timeout: float = 30.0) -> None:
    """Stop the processes of :func:`start_local_endpoint` (SIGTERM: the explainer flushes its capture)."""
    for pid in reversed(endpoint.get("pids", [])):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not our child (another task started it): poll its existence
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                finished = 0
            if finished:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
