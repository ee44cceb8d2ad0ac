"""Confidence intervals of global SHAP values: a bootstrap over the explained records.

A global SHAP value aggregates the local values ``φ[n, i]`` of the ``N`` explained records
(``mean_abs``, ``mean_sq`` or ``median``, see ``engine/explain/aggregate.py``). Resampling the
records with replacement is the same as weighting them by ``w ~ Multinomial(N, 1/N)``, so each
resample of a mean is one weighted sum ``(w · |φ|) / N`` (a matrix product over all resamples at
once) and each resample of the median is the weighted median of the sorted values. The percentile
interval of the resampled aggregates is reported per feature and model output.

Only the records' sampling noise is covered: the Monte Carlo noise of Kernel SHAP's coalition
sampling (``num_samples``) and the choice of baseline are not (``docs/uncertainty.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from airflow_provider_clarify.analysis.uncertainty import ConfidenceIntervalConfig
from airflow_provider_clarify.engine.bias.intervals import percentile_interval
from airflow_provider_clarify.engine.explain.aggregate import aggregate

#: Resamples weighed per matrix product (bounds memory to ``CHUNK × N`` weights).
CHUNK = 64


def _resampled_aggregates(
    values: np.ndarray, method: str, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """``(resamples, F)`` aggregates of ``values`` ``(N, F)`` over multinomially re-weighted records."""
    n = values.shape[0]
    out = np.empty((resamples, values.shape[1]))
    if method in ("mean_abs", "mean_sq"):
        transformed = np.abs(values) if method == "mean_abs" else np.square(values)
        for start in range(0, resamples, CHUNK):
            size = min(CHUNK, resamples - start)
            weights = rng.multinomial(n, np.full(n, 1 / n), size=size).astype(np.float64)
            out[start : start + size] = weights @ transformed / n
        return out
    order = np.argsort(values, axis=0, kind="stable")
    ordered = np.take_along_axis(values, order, axis=0)
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        weights = rng.multinomial(n, np.full(n, 1 / n), size=size)
        for j in range(values.shape[1]):
            cumulative = np.cumsum(weights[:, order[:, j]], axis=1)  # (size, N)
            # numpy's median of the n resampled values: the mean of the two middle order statistics
            low = np.argmax(cumulative >= (n + 1) // 2, axis=1)
            high = np.argmax(cumulative >= n // 2 + 1, axis=1)
            out[start : start + size, j] = (ordered[low, j] + ordered[high, j]) / 2
    return out


def global_shap_intervals(
    local: np.ndarray,
    *,
    feature_names: Sequence[str],
    global_features: Sequence[str],
    output_keys: Sequence[str],
    agg_method: str,
    config: ConfidenceIntervalConfig,
    seed: int,
) -> dict[str, Any]:
    """``{"kernel_shap": {label: {"global_shap_values": {feature: {value, lower, upper, method}}}}}``.

    ``local`` is Kernel SHAP's ``(N, outputs, features)`` array; ``global_features`` the features
    reported in ``analysis.json`` (their order is kept).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    index = {name: j for j, name in enumerate(feature_names)}
    columns = [index[name] for name in global_features]
    block: dict[str, Any] = {}
    for k, key in enumerate(output_keys):
        values = np.asarray(local[:, k, :][:, columns], dtype=np.float64)
        if len(values) == 0:
            continue
        resampled = _resampled_aggregates(values, agg_method, config.resamples, rng)
        lower, upper, _ = percentile_interval(resampled, config.level)
        point = aggregate(values, agg_method)
        block[key] = {
            "agg_method": agg_method,
            "records": int(len(values)),
            "global_shap_values": {
                name: {
                    "value": float(point[i]),
                    "lower": float(lower[i]),
                    "upper": float(upper[i]),
                    "method": "bootstrap",
                }
                for i, name in enumerate(global_features)
            },
        }
    return {"kernel_shap": block}
