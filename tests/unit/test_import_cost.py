"""DAG parsing imports the operator, sensor, trigger, hook and link modules constantly: keep them light.

The check runs in a fresh interpreter (modules other tests imported cannot hide a heavy import) and
imports the modules one after the other, recording which numeric libraries each one pulled in.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "pandas", "pyarrow", "sklearn", "scipy", "shap", "pyspark")
MODULES = [
    "airflow_provider_clarify.hooks.clarify",
    "airflow_provider_clarify.triggers.clarify",
    "airflow_provider_clarify.sensors.clarify",
    "airflow_provider_clarify.links.clarify",
    "airflow_provider_clarify.operators.clarify",
    "airflow_provider_clarify.operators.checks",
    "airflow_provider_clarify.operators.deployment",
    "airflow_provider_clarify.operators.local_compute",
    "airflow_provider_clarify.operators._local_child",
    "airflow_provider_clarify.operators.spark_compute",
    "airflow_provider_clarify.operators._spark_driver",
    "airflow_provider_clarify.operators.monitoring",
    "airflow_provider_clarify.sensors.monitoring",
    "airflow_provider_clarify.triggers.monitoring",
    "airflow_provider_clarify.engine",
    "airflow_provider_clarify.history",
    "airflow_provider_clarify.plugins.history",
    "airflow_provider_clarify.notifiers.clarify",
]

_PROBE = """
import importlib, json, sys
heavy = set(sys.argv[1].split(","))
loaded = {}
for name in sys.argv[2:]:
    importlib.import_module(name)
    loaded[name] = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print(json.dumps(loaded))
"""


def test_airflow_facing_modules_import_no_numeric_library():
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(HEAVY), *MODULES],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(loaded) == MODULES
    assert loaded == {module: [] for module in MODULES}
