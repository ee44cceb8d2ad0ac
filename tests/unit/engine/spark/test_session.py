"""``build_session`` under ``spark-submit``: the submitted settings win over the light defaults."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import REPO_ROOT
from tests.unit.engine.spark.conftest import spark_env, spark_home

SCRIPT = """
import json
from airflow_provider_clarify.engine.spark.session import build_session

spark = build_session(conf={"spark.sql.files.maxPartitionBytes": "65536"})
keys = ["spark.sql.shuffle.partitions", "spark.executor.memory", "spark.task.maxFailures",
        "spark.sql.files.maxPartitionBytes"]
print("SETTINGS " + json.dumps({key: spark.conf.get(key) for key in keys}))
spark.stop()
"""


def test_spark_submit_conf_wins_over_the_light_defaults(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(SCRIPT)
    completed = subprocess.run(
        [
            str(spark_home() / "bin" / "spark-submit"),
            "--master",
            "local[1]",
            "--driver-memory",
            "512m",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.sql.shuffle.partitions=7",
            "--conf",
            "spark.executor.memory=1g",
            "--conf",
            f"spark.pyspark.python={sys.executable}",
            str(script),
        ],
        env=spark_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(x for x in completed.stdout.splitlines() if x.startswith("SETTINGS "))
    settings = json.loads(line.removeprefix("SETTINGS "))
    assert settings == {
        "spark.sql.shuffle.partitions": "7",  # spark-submit's
        "spark.executor.memory": "1g",  # spark-submit's
        "spark.task.maxFailures": "4",  # the light default, not submitted
        "spark.sql.files.maxPartitionBytes": "65536",  # the caller's
    }
