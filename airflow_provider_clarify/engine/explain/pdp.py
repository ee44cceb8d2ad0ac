"""Partial dependence (``methods.pdp``; docs/explainability.md, "Partial dependence").

For a feature j and a grid value g, the partial dependence is the model output averaged over every
record with feature j set to g: ``pd_j(g) = (1/N) * sum_n f(x_n with x_nj = g)``, one curve per output.

* Features: ``features`` (names or indices), else the ``top_k_features`` (default 10) with the largest
  global SHAP value (summed over outputs), else an error (PDP alone needs ``features``).
* numerical columns (integer/float): ``grid_resolution`` equal-width buckets over ``[min, max]`` of the
  column, ``w = (max - min) / grid_resolution``; ``feature_values`` are the centres
  ``(min + w/2) + w*i`` (this form reproduces the published example bit for bit);
  ``data_distribution`` is the share of records in each bucket (``[min + w*i, min + w*(i+1))``, the
  last bucket closed; nulls belong to no bucket).
* categorical columns (strings, booleans): every distinct value in order of first appearance, and the
  share of records holding it.
* free text (``text_config`` text columns, or strings that mostly hold several words) and other types:
  an entry with an ``error`` message instead of values.

All (feature, grid value) row sets are stacked into a few large ``predict`` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from airflow_provider_clarify.engine import progress
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.explain.feature_selection import feature_indices
from airflow_provider_clarify.engine.explain.model_calls import ModelCaller
from airflow_provider_clarify.engine.explain.text import looks_like_free_text

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_GRID_RESOLUTION = 15
DEFAULT_TOP_K = 10
UNSUPPORTED_MESSAGE = "Detected data type is not supported for PDP. PDP can only be computed for numerical or categorical columns"


class PdpConfigError(EngineConfigError):
    """Bad ``methods.pdp`` value (names the field, the value and what is accepted)."""


def pdp_features(names: Sequence[str], config: dict, shap_importance: dict[str, float] | None) -> list[int]:
    """Column indices to plot, in the order they will be reported."""
    wanted = config.get("features")
    if wanted is not None:
        if not isinstance(wanted, list):
            raise PdpConfigError(
                f"methods.pdp.features is {wanted!r}; give a list of feature names or indices."
            )
        return feature_indices(names, wanted, "methods.pdp.features", PdpConfigError)
    if shap_importance is None:
        raise PdpConfigError(
            "methods.pdp.features is required when methods.shap is not requested (top_k_features ranks "
            "features by SHAP importance); list the features to plot."
        )
    top_k = config.get("top_k_features", DEFAULT_TOP_K)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise PdpConfigError(f"methods.pdp.top_k_features is {top_k!r}; it must be a positive integer.")
    index = {name: j for j, name in enumerate(names)}
    ranked = sorted(shap_importance.items(), key=lambda item: (-item[1], index.get(item[0], 0)))
    return [index[name] for name, _ in ranked[:top_k] if name in index]


def _data_type(features: pa.Table, column: int, text_columns: Sequence[int]) -> str:
    return data_type_of(
        features.schema.field(column).type,
        column in text_columns,
        lambda: looks_like_free_text(features.column(column).to_pylist()),
    )


def data_type_of(data_type: pa.DataType, is_text_column: bool, free_text: Callable[[], bool]) -> str:
    """``numerical``, ``categorical``, ``free_text`` or the type's name; ``free_text()`` is asked for
    string columns only (whether their values mostly hold several words)."""
    import pyarrow as pa

    if is_text_column:
        return "free_text"
    if pa.types.is_boolean(data_type):
        return "categorical"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "numerical"
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_dictionary(data_type)
    ):
        return "free_text" if free_text() else "categorical"
    return str(data_type)


def numeric_grid(values: np.ndarray, grid_resolution: int) -> tuple[list[float], list[float]]:
    """Bucket centres and the share of records per bucket (see the module docstring)."""
    finite = values[~np.isnan(values)]
    if len(finite) == 0:
        return [], []
    low, high = float(finite.min()), float(finite.max())
    centres, width = grid_centres(low, high, grid_resolution)
    counts = bucket_counts(finite, low, width, grid_resolution)
    return centres, (counts / len(values)).tolist()


def grid_centres(low: float, high: float, grid_resolution: int) -> tuple[list[float], float]:
    """The centres of ``grid_resolution`` equal-width buckets over ``[low, high]``, and the width."""
    width = (high - low) / grid_resolution
    return [(low + width / 2) + width * i for i in range(grid_resolution)], width


def bucket_counts(finite: np.ndarray, low: float, width: float, grid_resolution: int) -> np.ndarray:
    """How many of the (non-NaN) ``finite`` values fall in each bucket (the last one closed)."""
    if width > 0:
        buckets = np.clip(np.floor((finite - low) / width).astype(int), 0, grid_resolution - 1)
    else:
        buckets = np.zeros(len(finite), dtype=int)
    return np.bincount(buckets, minlength=grid_resolution)


def categorical_grid(values: list) -> tuple[list, list[float]]:
    """Distinct values in order of first appearance, and the share of records holding each."""
    counts: dict = {}
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    total = len(values)
    return list(counts), [count / total for count in counts.values()]


def compute_pdp(
    features: pa.Table,
    records: np.ndarray,
    config: dict,
    caller: ModelCaller,
    *,
    shap_importance: dict[str, float] | None = None,
    text_columns: Sequence[int] = (),
) -> list[dict]:
    """The ``explanations.pdp`` list."""
    names = list(features.column_names)
    grid_resolution = checked_grid_resolution(config)
    entries: list[dict] = []
    jobs: list[tuple[int, int, object]] = []  # (entry index, column, grid value)
    for column in pdp_features(names, config, shap_importance):
        data_type = _data_type(features, column, text_columns)
        entry: dict = {"feature_name": names[column], "data_type": data_type}
        if data_type == "numerical":
            column_values = (
                records[:, column].astype(np.float64)
                if records.dtype != object
                else np.array([np.nan if v is None else float(v) for v in records[:, column]])
            )
            grid, share = numeric_grid(column_values, grid_resolution)
        elif data_type == "categorical":
            grid, share = categorical_grid(records[:, column].tolist())
        else:
            entry["error"] = UNSUPPORTED_MESSAGE
            entries.append(entry)
            continue
        entry.update(feature_values=grid, data_distribution=share)
        jobs.extend((len(entries), column, value) for value in grid)
        entries.append(entry)

    return finish_entries(entries, jobs, _evaluate(records, jobs, caller), caller)


def checked_grid_resolution(config: dict) -> int:
    """``methods.pdp.grid_resolution`` (default 15), a positive integer."""
    grid_resolution = config.get("grid_resolution", DEFAULT_GRID_RESOLUTION)
    if not isinstance(grid_resolution, int) or isinstance(grid_resolution, bool) or grid_resolution < 1:
        raise PdpConfigError(
            f"methods.pdp.grid_resolution is {grid_resolution!r}; it must be a positive integer (buckets)."
        )
    return grid_resolution


def finish_entries(
    entries: list[dict], jobs: list[tuple[int, int, object]], means: Sequence[np.ndarray], caller: ModelCaller
) -> list[dict]:
    """Put each job's mean model output ``(k,)`` into its entry's curves; the ``pdp`` list."""
    keys = caller.output_keys() if caller.num_outputs is not None else None
    for job_index, (entry_index, _column, _value) in enumerate(jobs):
        entries[entry_index].setdefault("_curves", []).append(means[job_index])
    for entry in entries:
        curves = entry.pop("_curves", None)
        if "error" in entry:
            continue
        if curves is None:
            curves = np.zeros((0, caller.num_outputs or 1))
        entry["model_predictions"] = np.asarray(curves).T.tolist()
        entry["label_headers"] = keys if keys is not None else ["label0"]
    return entries


def _evaluate(
    records: np.ndarray, jobs: list[tuple[int, int, object]], caller: ModelCaller
) -> list[np.ndarray]:
    """Mean model output ``(k,)`` per job (records with one column set to one value)."""
    n = records.shape[0]
    return [total / n for total in job_sums(records, jobs, caller)]


def job_sums(
    records: np.ndarray, jobs: list[tuple[int, int, object]], caller: ModelCaller
) -> list[np.ndarray]:
    """The model output ``(k,)`` summed over ``records`` per job (records with one column set to one value)."""
    n, m = records.shape
    if not jobs or n == 0:
        return []
    per_call = caller.rows_per_call(m)
    jobs_per_call = max(1, per_call // n)
    record_chunk = n if n <= per_call else per_call
    means: list[np.ndarray] = []
    progress.expect("PDP", len(jobs) * n, "predictions")
    for start in range(0, len(jobs), jobs_per_call):
        batch = jobs[start : start + jobs_per_call]
        sums = None
        for r0 in range(0, n, record_chunk):
            block = records[r0 : r0 + record_chunk]
            rows = np.repeat(block[None, :, :], len(batch), axis=0)
            for b, (_entry, column, value) in enumerate(batch):
                rows[b, :, column] = value
            scores = caller.scores(rows.reshape(-1, m)).reshape(len(batch), len(block), -1)
            part = scores.sum(axis=1)
            progress.advance("PDP", len(batch) * len(block), "predictions")
            sums = part if sums is None else sums + part
        means.extend(sums)
    return means
