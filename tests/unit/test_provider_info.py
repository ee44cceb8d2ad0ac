"""Airflow discovers the provider through its entry point, and the metadata passes Airflow's schema."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema

DISTRIBUTION = "airflow-provider-clarify"


def _provider_info() -> dict:
    (entry,) = [e for e in entry_points(group="apache_airflow_provider") if e.dist.name == DISTRIBUTION]
    return entry.load()()


def test_entry_point_package_name_equals_distribution_name():
    assert _provider_info()["package-name"] == DISTRIBUTION


def test_provider_info_validates_against_airflows_runtime_schema():
    import airflow

    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    jsonschema.validate(_provider_info(), json.loads(schema_path.read_text()))


def test_every_module_and_link_named_in_provider_info_imports():
    info = _provider_info()
    for section in ("operators", "sensors", "hooks", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for path in info["extra-links"]:
        module, _, name = path.rpartition(".")
        assert hasattr(importlib.import_module(module), name), path


def test_airflow_providers_list_shows_the_provider():
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    (payload,) = [line for line in result.stdout.splitlines() if line.startswith("[{")]
    listed = {p["package_name"]: p for p in json.loads(payload)}
    assert DISTRIBUTION in listed
    assert listed[DISTRIBUTION]["version"] == importlib.import_module("airflow_provider_clarify").__version__
