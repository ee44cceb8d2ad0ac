"""``airflow_provider_clarify.analysis`` imports no Airflow, AWS SDK or numeric library (issue item 8).

Checked in a fresh interpreter, because this test session itself has Airflow loaded.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import airflow_provider_clarify.analysis as analysis_package

FORBIDDEN = (
    "airflow",
    "boto3",
    "botocore",
    "aiobotocore",
    "numpy",
    "pandas",
    "pyarrow",
    "sklearn",
    "scipy",
    "shap",
)


def analysis_modules() -> list[str]:
    """The package and every submodule in it (including other owners' modules, when present)."""
    root = Path(analysis_package.__file__).parent
    names = ["airflow_provider_clarify.analysis"]
    for info in pkgutil.walk_packages([str(root)], prefix="airflow_provider_clarify.analysis."):
        names.append(info.name)
    return names


def loaded_forbidden_modules(modules: list[str]) -> dict[str, list[str]]:
    script = f"""
import importlib, json, sys
forbidden = {FORBIDDEN!r}
result = {{}}
for name in {modules!r}:
    importlib.import_module(name)
result = sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in forbidden}})
print(json.dumps(result))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_listing_covers_the_modules_this_issue_requires():
    modules = analysis_modules()
    for required in (
        "errors",
        "configs",
        "configs.data",
        "configs.model",
        "analysis_config",
        "schema",
        "composition",
    ):
        assert f"airflow_provider_clarify.analysis.{required}" in modules


def test_importing_every_analysis_module_loads_nothing_forbidden():
    assert loaded_forbidden_modules(analysis_modules()) == []


def test_using_the_lazy_exports_loads_nothing_forbidden():
    script = f"""
import json, sys
from airflow_provider_clarify.analysis import AnalysisConfig, BiasConfig, DataConfig, ClarifyConfigError, validate_analysis_config
config = AnalysisConfig.pre_training_bias(DataConfig("s3://b/d.csv", "s3://b/o", label="y"), BiasConfig([1], "g", [0]))
config.validate()
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({FORBIDDEN!r}))))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
