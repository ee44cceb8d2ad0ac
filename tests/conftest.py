"""Test session set-up: an isolated Airflow home and a fake AWS that never reaches the network.

Airflow reads AIRFLOW_HOME and the database URL when it is first imported, so they are set here,
before any test module imports Airflow.
"""

from __future__ import annotations

import os
import tempfile

_home = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW_HOME"] = _home
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home}/airflow.db"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(_home, "dags")
# Never reach real AWS, whatever the developer's shell holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"

pytest_plugins = ["tests.support.aws", "tests.support.airflow_db", "tests.support.faults"]
