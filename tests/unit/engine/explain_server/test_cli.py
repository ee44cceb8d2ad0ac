"""``python -m airflow_provider_clarify.engine explain-server``: a real process serving invocations."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx

from airflow_provider_clarify.engine.__main__ import main
from tests.support.model_server import ModelServer
from tests.support.paths import REPO_ROOT
from tests.unit.engine.explain_server.conftest import explainer_config
from tests.unit.engine.explain_server.test_app import BASELINE_CSV, model


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_invalid_config_exits_2_before_serving(capsys):
    assert (
        main(["explain-server", "--explainer-config", '{"ShapConfig": {}}', "--model-url", "http://x"]) == 2
    )
    assert "cannot start the explainer" in capsys.readouterr().err


def test_the_subcommand_serves_the_config_file(tmp_path):
    path = tmp_path / "explainer.json"
    path.write_text(json.dumps(explainer_config(BASELINE_CSV, probability_index=0)))
    port = free_port()
    with ModelServer(lambda x: model(x)[:, 0]) as server:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        command = [
            sys.executable, "-m", "airflow_provider_clarify.engine", "explain-server",
            "--explainer-config", str(path), "--model-url", server.url, "--port", str(port),
            "--log-level", "warning",
        ]  # fmt: skip
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(600):  # wait until it listens (polling, no timing assertion)
                try:
                    if httpx.get(url + "/ping").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            answer = httpx.post(
                url + "/invocations", content=b"1,2,3,4\n", headers={"Content-Type": "text/csv"}, timeout=60
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert answer.status_code == 200
    assert len(answer.json()["explanations"]["kernel_shap"][0]) == 4
