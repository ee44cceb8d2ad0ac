"""Model Monitor executions with the open engine: capture and ground-truth readers, window selection,
record extraction, and :func:`run_monitoring_execution` (see docs/monitoring.md)."""

from __future__ import annotations

from airflow_provider_clarify.engine.monitoring.execution import (
    COMPLETED,
    COMPLETED_WITH_VIOLATIONS,
    FAILED,
    MonitoringExecutionResult,
    MonitoringInputError,
    run_monitoring_execution,
)

__all__ = [
    "COMPLETED",
    "COMPLETED_WITH_VIOLATIONS",
    "FAILED",
    "MonitoringExecutionResult",
    "MonitoringInputError",
    "run_monitoring_execution",
]
