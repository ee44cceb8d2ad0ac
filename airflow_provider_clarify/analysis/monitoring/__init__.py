"""Model Monitor for Clarify (bias drift, feature-attribution drift): pure model, no Airflow, no AWS.

Configs and inputs with the SageMaker SDK's names, the job-definition and schedule requests the SDK
sends, cron helpers and analysis windows, and the data-capture record format. See docs/monitoring.md.
Names resolve lazily so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "BiasAnalysisConfig": "configs",
    "ExplainabilityAnalysisConfig": "configs",
    "EndpointInput": "inputs",
    "BatchTransformInput": "inputs",
    "MonitoringDatasetFormat": "inputs",
    "MonitoringOutput": "inputs",
    "CronExpressionGenerator": "schedule",
    "analysis_window": "schedule",
    "parse_offset": "schedule",
    "MonitoringRequests": "requests",
    "create_monitoring_requests": "requests",
    "job_definition_request": "requests",
    "create_schedule_request": "requests",
    "update_schedule_request": "requests",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
