"""The error of the dataset readers."""

from __future__ import annotations

from airflow_provider_clarify.engine.errors import EngineConfigError, EngineRuntimeError


class DatasetError(EngineConfigError):
    """The dataset does not match the analysis_config (names the field, the value and the fix).

    A :class:`~airflow_provider_clarify.analysis.errors.ClarifyConfigError` (hence a ``ValueError``).
    """


class DatasetMemoryError(EngineRuntimeError, MemoryError):
    """The dataset did not fit in the memory available; the message says what to change.

    Retryable (another worker may have more memory), unlike :class:`DatasetError`.
    """


def out_of_memory(what: str, exc: BaseException) -> DatasetMemoryError:
    """The :class:`DatasetMemoryError` for running out of memory while ``what`` (e.g. "reading 'x.csv'")."""
    return DatasetMemoryError(
        f"Out of memory while {what} ({exc or type(exc).__name__}). Give the engine more memory (a larger "
        'worker, or memory_limit_mb for compute="local"), or split the data into smaller part files '
        "(Parquet: smaller row groups). CSV over 64 MiB and Parquet are streamed for the bias metrics; "
        "smaller CSV, JSON, joins, SHAP and PDP hold the data in memory."
    )
