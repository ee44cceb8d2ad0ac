"""``ship_package``: one archive of the package per process, added to a real session."""

from __future__ import annotations

import tempfile
import zipfile

import pytest

from airflow_provider_clarify.engine.spark import runner


@pytest.fixture
def fresh_archive(tmp_path, monkeypatch):
    """Temporary folders go under ``tmp_path``; the archive is built anew and forgotten afterwards."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runner._package_archive.cache_clear()
    yield tmp_path
    runner._package_archive.cache_clear()


def test_ship_package_builds_one_archive_however_often_called(spark, fresh_archive):
    runner.ship_package(spark)
    runner.ship_package(spark)

    folders = list(fresh_archive.glob("clarify-spark-*"))
    assert len(folders) == 1  # not one temporary folder per call
    names = zipfile.ZipFile(folders[0] / "airflow_provider_clarify.zip").namelist()
    assert "airflow_provider_clarify/engine/spark/runner.py" in names
    assert "airflow_provider_clarify/__init__.py" in names
