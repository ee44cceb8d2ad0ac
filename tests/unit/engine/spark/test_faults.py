"""Failures on the cluster: a lost executor changes nothing.

The test stops one task of the first Spark job in place (``faults.pause_once``) and kills the
executor running it (a real process of the standalone cluster): Spark retries the task on the other
executor, which recomputes the split's partial from the input, so the result is unchanged.
"""

from __future__ import annotations

import os
import signal
import threading

from airflow_provider_clarify.engine import io, runner
from airflow_provider_clarify.engine.spark.dataset import SparkCsvDataset
from airflow_provider_clarify.engine.spark.runner import analyse_dataset
from tests.unit.engine.golden import GOLDEN_CSV, golden_cases
from tests.unit.engine.spark.faults import ancestor_in, pause_once, wait_for_pause

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
