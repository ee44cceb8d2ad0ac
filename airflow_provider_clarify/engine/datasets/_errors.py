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
