"""Failures on the cluster: a lost executor changes nothing; a dead driver leaves no output.

Both tests stop one task of the first Spark job in place (``faults.pause_once``) and then kill a
real process of the standalone cluster: the executor running that task (Spark retries the task on
the other executor, which recomputes the split's partial from the input) or the driver (a separate
Python process running the analysis; ``analysis.json`` is written by the driver only after every
job has finished, atomically, so nothing appears).
"""

from __future__ import annotations

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
from tests.unit.engine.spark.conftest import SMALL_SPLIT, spark_env
from tests.unit.engine.spark.faults import ancestor_in, pause_once, wait_for_pause

CONFIG = golden_cases()[0]["analysis_config"]  # pre- and post-training, FT, a group variable


def test_lost_executor_gives_the_same_result(spark, spark_cluster, tmp_path):
    runner.run_analysis(CONFIG, str(GOLDEN_CSV), str(tmp_path / "local"))
    data = SparkCsvDataset.open(spark, str(GOLDEN_CSV))
    data.frame = pause_once(data.frame, str(tmp_path))
    executors_before = set(spark_cluster.executor_pids())
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


DRIVER = """
import json, sys
from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.spark.dataset import SparkCsvDataset
from airflow_provider_clarify.engine.spark.runner import analyse_dataset
from airflow_provider_clarify.engine.spark.session import build_session
from tests.unit.engine.spark.faults import pause_once

master, dataset, output, folder, conf = sys.argv[1:6]
spark = build_session(master, app_name="clarify-crashing-driver", conf=json.loads(conf))
data = SparkCsvDataset.open(spark, dataset)
data.frame = pause_once(data.frame, folder)
analyse_dataset(json.loads(sys.stdin.read()), data, io.OutputLocation(output), where="golden")
"""


def test_driver_crash_leaves_no_output(spark, spark_cluster, tmp_path):
    output = tmp_path / "out"
    conf = {**SMALL_SPLIT, "spark.cores.max": "1", "spark.driver.host": "127.0.0.1"}
    import json

    driver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DRIVER,
            spark_cluster.master_url,
            str(GOLDEN_CSV),
            str(output),
            str(tmp_path),
            json.dumps(conf),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "driver.log").open("wb"),
        env=spark_env(),
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    driver.stdin.write(json.dumps(CONFIG).encode())
    driver.stdin.close()
    try:
        wait_for_pause(tmp_path, give_up=lambda: driver.poll() is not None)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; driver log: {(tmp_path / 'driver.log').read_text()[-3000:]}") from None
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver JVM is in the same process group
        driver.wait(timeout=60)
    assert driver.returncode == -signal.SIGKILL
    assert not output.exists() or not any(output.iterdir())

    # the cluster takes the next application, and a rerun writes the full result
    for _ in range(300):
        if spark_cluster.alive_workers() == 2:
            break
        time.sleep(0.1)
    runner.run_analysis(CONFIG, str(GOLDEN_CSV), str(tmp_path / "local"))
    data = SparkCsvDataset.open(spark, str(GOLDEN_CSV))
    analyse_dataset(CONFIG, data, io.OutputLocation(str(output)), where="golden")
    assert (output / "analysis.json").read_text() == (tmp_path / "local" / "analysis.json").read_text()
