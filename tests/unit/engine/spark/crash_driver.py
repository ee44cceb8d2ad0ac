"""A Spark driver for the driver-crash test: ``python -m tests.unit.engine.spark.crash_driver MASTER
CONFIG_JSON DATASET OUTPUT PAUSE_FOLDER``.

It runs the engine's own Spark path (``open_dataset`` and ``analyse_dataset``, as
``run_analysis_spark`` does) as an application of the standalone cluster, with one task of its first
job paused (``faults.pause_once``) so that the test can kill this process while a job runs.
"""

from __future__ import annotations

import json
import sys


def main(master: str, config_path: str, dataset: str, output: str, pause_folder: str) -> None:
    from airflow_provider_clarify.engine import io, runner
    from airflow_provider_clarify.engine.spark.dataset import open_dataset
    from airflow_provider_clarify.engine.spark.runner import analyse_dataset
    from airflow_provider_clarify.engine.spark.session import build_session
    from tests.unit.engine.spark.faults import pause_once

    config = json.loads(open(config_path).read())
    runner.validate_config(config)
    spark = build_session(
        master,
        app_name="clarify-crashing-driver",
        conf={
            "spark.cores.max": "2",
            "spark.executor.cores": "1",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.files.maxPartitionBytes": "24576",
        },
    )
    data = open_dataset(spark, dataset, config["dataset_type"], headers=config.get("headers"))
    data.frame = pause_once(data.frame, pause_folder)
    analyse_dataset(config, data, io.OutputLocation(output), where=repr(dataset))


if __name__ == "__main__":
    main(*sys.argv[1:6])
