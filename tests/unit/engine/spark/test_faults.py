"""Failures on the cluster: a lost executor changes nothing; a dead driver writes nothing.

Both tests stop one task of the first Spark job in place (``faults.pause_once``), then kill a real
process of the standalone cluster:

* the executor running that task: Spark retries the task on the other executor, which recomputes
  the segment's partial from the input, so the result is unchanged;
* the driver (a separate process, ``crash_driver.py``, an application of the same cluster): the
  output folder, which holds an earlier run's results, is left exactly as it was (no new, partial
  or temporary file), the master stops the application, and a rerun writes the new results.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from airflow_provider_clarify.engine import io, runner
from airflow_provider_clarify.engine.spark.dataset import SparkCsvDataset
from airflow_provider_clarify.engine.spark.runner import analyse_dataset
from tests.support.paths import REPO_ROOT
from tests.unit.engine.golden import GOLDEN_CSV, golden_cases
from tests.unit.engine.spark.conftest import spark_env
from tests.unit.engine.spark.faults import ancestor_in, pause_once, wait_for_pause

CRASHING_APP = "clarify-crashing-driver"
APP_GONE_POLLS = 600  # checks of the master's status, 0.2 s apart

CONFIG = golden_cases()[0]["analysis_config"]  # pre- and post-training, FT, a group variable


def test_lost_executor_gives_the_same_result(spark, spark_cluster, tmp_path):
    runner.run_analysis(CONFIG, str(GOLDEN_CSV), str(tmp_path / "local"))
    data = SparkCsvDataset.open(spark, str(GOLDEN_CSV))
    data.frame = pause_once(data.frame, str(tmp_path))
    executors_before = set(spark_cluster.wait_for_executors(2))
    assert len(executors_before) == 2
    killed: list[int] = []

    def kill_the_paused_task_executor():
        paused = wait_for_pause(tmp_path)
        executor = ancestor_in(paused, set(spark_cluster.executor_pids()))
        os.kill(executor, signal.SIGKILL)
        killed.append(executor)

    killer = threading.Thread(target=kill_the_paused_task_executor)
    killer.start()
    location = io.OutputLocation(str(tmp_path / "spark"))
    analyse_dataset(CONFIG, data, location, where="the golden dataset")
    killer.join()

    assert killed
    assert killed[0] in executors_before
    assert not os.path.exists(f"/proc/{killed[0]}")
    remote = (tmp_path / "spark" / "analysis.json").read_text()
    assert remote == (tmp_path / "local" / "analysis.json").read_text()


def _folder(path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_driver_killed_mid_job_leaves_the_output_as_it_was(spark, spark_cluster, tmp_path):
    output = tmp_path / "audit"
    runner.run_analysis(golden_cases()[3]["analysis_config"], str(GOLDEN_CSV), str(output))  # earlier run
    before = _folder(output)
    config = dict(CONFIG, methods={**CONFIG["methods"], "report": {"name": "report"}})
    (tmp_path / "config.json").write_text(json.dumps(config))
    pause = tmp_path / "pause"
    pause.mkdir()
    log = (tmp_path / "driver.log").open("wb")
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.unit.engine.spark.crash_driver",
            spark_cluster.master_url,
            str(tmp_path / "config.json"),
            str(GOLDEN_CSV),
            str(output),
            str(pause),
        ],
        env=spark_env(),
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the driver's Python and its JVM: one process group, killed together
    )
    try:
        wait_for_pause(pause, give_up=lambda: driver.poll() is not None)
        assert CRASHING_APP in spark_cluster.active_apps()  # a job of the cluster application runs
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
        log.close()
    assert driver.returncode == -signal.SIGKILL

    for _ in range(APP_GONE_POLLS):  # the master notices the lost driver and stops its executors
        if CRASHING_APP not in spark_cluster.active_apps():
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the master still runs {CRASHING_APP} after its driver was killed")
    assert _folder(output) == before  # no analysis.json or report.html of the killed run, no temp file

    data = SparkCsvDataset.open(spark, str(GOLDEN_CSV))  # the retry
    analyse_dataset(config, data, io.OutputLocation(str(output)), where="the golden dataset")
    runner.run_analysis(config, str(GOLDEN_CSV), str(tmp_path / "local"))
    assert (output / "analysis.json").read_bytes() == (tmp_path / "local" / "analysis.json").read_bytes()
    assert (output / "report.html").exists()
    assert (output / "analysis.json").read_bytes() != before["analysis.json"]
