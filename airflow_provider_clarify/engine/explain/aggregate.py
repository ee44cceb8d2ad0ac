"""Local SHAP values -> one global value per feature (docs/explainability.md, "What is computed").

For N explained records and feature i (per output):

* ``mean_abs`` = (1/N) * sum_n |phi_{n,i}|   (default)
* ``mean_sq``  = (1/N) * sum_n phi_{n,i}^2
* ``median``   = median of the signed phi_{n,i} (mean of the two middle values when N is even)
"""

from __future__ import annotations

import numpy as np

from airflow_provider_clarify.engine.errors import EngineConfigError

AGG_METHODS = ("mean_abs", "median", "mean_sq")


class AggregationError(EngineConfigError):
    """Unknown ``agg_method``."""


def aggregate(values: np.ndarray, method: str = "mean_abs") -> np.ndarray:
    """Aggregate ``values`` of shape ``(N, ...)`` over records (axis 0)."""
    if method == "mean_abs":
        return np.mean(np.abs(values), axis=0)
    if method == "mean_sq":
        return np.mean(np.square(values), axis=0)
    if method == "median":
        return np.median(values, axis=0)
    raise AggregationError(
        f"methods.shap.agg_method is {method!r}; accepted values are {', '.join(AGG_METHODS)}."
    )
