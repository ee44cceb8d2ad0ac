"""A fresh Airflow metadata database, created once per test session for the tests that ask for it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def airflow_db():
    """Reset the SQLite metadata DB of the session's isolated AIRFLOW_HOME."""
    from airflow.utils import db

    db.resetdb()
