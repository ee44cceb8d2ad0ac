"""One real Spark standalone cluster for every Spark test: a master and two workers on 127.0.0.1.

Started once per test session (``spark_cluster``) with ``spark-class`` from the installed pyspark,
each worker offering two task slots (the tests' session takes one on each worker, so a
second application, the crashing driver's, still gets one) and little memory, and stopped (each
process by its own id) afterwards.
``spark`` is the tests' driver session on that cluster (UI off, small splits so that even the small
test files are read as several partitions and the merging is exercised).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

#: Split size small enough that the golden CSV (86 kB) is read as four partitions.
SMALL_SPLIT = {"spark.sql.files.maxPartitionBytes": "24576", "spark.sql.files.openCostInBytes": "1024"}
STARTUP_POLLS = 600  # checks of the master's status, 0.2 s apart


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def spark_env() -> dict:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail(
            "The Spark tests need a Java 17+ runtime: run `make java` (Debian's default-jre-headless)."
        )
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_DAEMON_MEMORY="256m",
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=sys.executable,
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p),
    )
    return env


@dataclass
class SparkCluster:
    master_url: str
    status_url: str
    workdir: Path
    master: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def status(self) -> dict:
        with urllib.request.urlopen(self.status_url, timeout=5) as response:
            return json.loads(response.read())

    def active_apps(self) -> list[str]:
        """Names of the applications the master runs now."""
        return [app.get("name") for app in self.status().get("activeapps", [])]

    def alive_workers(self) -> int:
        return sum(1 for w in self.status().get("workers", []) if w.get("state") == "ALIVE")

    def wait_for_executors(self, count: int, patience_seconds: float = 240.0) -> list[int]:
        """The executors' process ids once ``count`` of them run (they register some seconds after the
        driver connects, longer on a loaded machine); fewer if they never all come up."""
        deadline = time.monotonic() + patience_seconds
        pids = self.executor_pids()
        while len(pids) < count and time.monotonic() < deadline:
            time.sleep(0.5)
            pids = self.executor_pids()
        return pids

    def executor_pids(self) -> list[int]:
        """Process ids of the executors the workers launched (children of the worker processes)."""
        pids = []
        for worker in self.workers:
            for children in Path(f"/proc/{worker.pid}/task").glob("*/children"):
                try:
                    pids.extend(int(p) for p in children.read_text().split())
                except OSError:  # the thread ended meanwhile
                    continue
        return [pid for pid in pids if b"CoarseGrainedExecutorBackend" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    env = spark_env()
    workdir = tmp_path_factory.mktemp("spark-cluster")
    spark_class = str(spark_home() / "bin" / "spark-class")
    port, ui = _free_port(), _free_port()
    master = _start(
        [
            spark_class,
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(ui),
        ],
        env,
        workdir / "master.log",
    )
    cluster = SparkCluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}/json/", workdir, master)
    try:
        for i in range(2):
            cluster.workers.append(
                _start(
                    [
                        spark_class,
                        "org.apache.spark.deploy.worker.Worker",
                        cluster.master_url,
                        "--host",
                        "127.0.0.1",
                        "--cores",
                        "2",
                        "--memory",
                        "1g",
                        "--webui-port",
                        str(_free_port()),
                        "--work-dir",
                        str(workdir / f"worker{i}"),
                    ],
                    env,
                    workdir / f"worker{i}.log",
                )
            )
        for _ in range(STARTUP_POLLS):
            try:
                if cluster.alive_workers() == 2:
                    break
            except (OSError, ValueError):  # not listening yet, or its UI still answers /json with HTML
                pass
            if master.poll() is not None:
                pytest.fail(f"The Spark master exited: {(workdir / 'master.log').read_text()[-2000:]}")
            time.sleep(0.2)
        else:
            pytest.fail(f"The two Spark workers did not register; logs in {workdir}")
        yield cluster
    finally:
        for process in [*cluster.workers, master]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*cluster.workers, master]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="session")
def spark(spark_cluster):
    """The driver session of the tests, on the standalone cluster (both workers' executors)."""
    from airflow_provider_clarify.engine.spark.session import build_session

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = build_session(
        spark_cluster.master_url,
        app_name="clarify-tests",
        conf={
            **SMALL_SPLIT,
            "spark.cores.max": "2",
            "spark.executor.cores": "1",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
