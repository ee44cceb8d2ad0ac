"""The open engine: computes Clarify's ``analysis.json`` from an ``analysis_config.json`` and a dataset.

It runs anywhere (a notebook, a CLI, an Airflow worker, a processing container) and imports no
Airflow. Importing this package is cheap: ``run_analysis`` and the numeric libraries behind it load
on first use.

>>> from airflow_provider_clarify.engine import run_analysis
>>> run_analysis("analysis_config.json", "data.csv", "out/")  # doctest: +SKIP
'out/analysis.json'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_clarify.engine.runner import run_analysis

__all__ = ["run_analysis"]


def __getattr__(name: str) -> Any:
    if name == "run_analysis":
        from airflow_provider_clarify.engine.runner import run_analysis

        return run_analysis
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
