"""Helpers for the bias tests: in-memory datasets streamed as small pyarrow RecordBatches."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import pyarrow as pa

from airflow_provider_clarify.engine.bias import compute_bias_sections

#: metrics compared with a tolerance (docs/parity.md, "Numeric agreement": numpy's log / BLAS dot may differ by a few ulp)
ULP_METRICS = {"KL": 1e-14, "JS": 1e-14, "LP": 1e-14}


def source(columns: dict[str, list] | pa.Table, chunk: int = 5) -> Callable[[Sequence[str]], Iterable]:
    """A re-iterable ``batches(columns)`` over a table, in chunks of ``chunk`` rows (exercises streaming)."""
    table = columns if isinstance(columns, pa.Table) else pa.table(columns)

    def batches(names: Sequence[str]) -> Iterable[pa.RecordBatch]:
        yield from table.select(list(names)).to_batches(max_chunksize=chunk)

    return batches


def run(columns: dict[str, list] | pa.Table, chunk: int = 5, **kwargs) -> dict:
    return compute_bias_sections(source(columns, chunk), **kwargs)


def metrics_of(entry: dict) -> dict[str, dict]:
    return {m["name"]: m for m in entry["metrics"]}


def values_of(entry: dict) -> dict[str, float | int | None]:
    return {m["name"]: m["value"] for m in entry["metrics"]}


def assert_metric(metric: dict, expected: float | int) -> None:
    """Bit-exact (and same int/float type) except the ULP metrics (|x - ref| <= 1e-14)."""
    assert "error" not in metric, metric
    value = metric["value"]
    if metric["name"] in ULP_METRICS:
        assert abs(value - expected) <= ULP_METRICS[metric["name"]], (metric, expected)
    elif isinstance(expected, float) and math.isinf(expected):
        assert value == expected
    else:
        assert value == expected, (metric, expected)
        assert type(value) is type(expected), (metric, expected)
