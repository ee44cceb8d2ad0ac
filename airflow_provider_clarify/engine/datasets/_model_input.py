"""Model input: feature columns as numpy arrays, and the SHAP baseline as a table of features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.datasets._csv import csv_layout, read_csv_file
from airflow_provider_clarify.engine.datasets._errors import DatasetError
from airflow_provider_clarify.engine.datasets._json import column_from_values, compile_jmespath
from airflow_provider_clarify.engine.datasets._loading import CSV, JSON, JSONLINES, PARQUET, load_dataset
from airflow_provider_clarify.engine.datasets._pandas_types import pandas_like_table
from airflow_provider_clarify.engine.datasets._parquet import ParquetData

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


def features_to_numpy(data: pa.Table | pa.RecordBatch) -> np.ndarray:
    """Feature columns as a 2-D array in column order: float64 when every column is numeric or
    boolean (nulls become NaN), otherwise an object array of Python values (nulls become None).
    """
    import numpy as np
    import pyarrow as pa

    types = [data.schema.field(i).type for i in range(data.num_columns)]
    numeric = all(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) for t in types)
    if data.num_columns == 0:
        return np.empty((data.num_rows, 0), dtype=np.float64)
    if numeric:
        out = np.empty((data.num_rows, data.num_columns), dtype=np.float64)
        for j in range(data.num_columns):
            column = data.column(j)
            column = column.cast(pa.float64()) if column.type != pa.float64() else column
            out[:, j] = column.to_numpy(zero_copy_only=False)
        return out
    out = np.empty((data.num_rows, data.num_columns), dtype=object)
    for j in range(data.num_columns):
        out[:, j] = data.column(j).to_pylist()
    return out


def load_baseline(
    spec: Any,
    dataset_type: str,
    feature_names: Sequence[str],
    *,
    features: str | None = None,
    storage_options: dict | None = None,
) -> pa.Table:
    """The SHAP baseline (``methods.shap.baseline``) as a table of the feature columns.

    ``spec`` is a list of rows (CSV/Parquet: lists of values; JSON Lines: objects located with the
    ``features`` JMESPath) or a URI of a file in the dataset's format holding features only.
    """
    import pyarrow as pa

    names = list(feature_names)
    if isinstance(spec, str):
        dataset_type = (dataset_type or CSV).lower()
        if dataset_type == CSV:
            layout = csv_layout(io.list_files(spec, storage_options)[0], names, storage_options)
            table = read_csv_file(io.list_files(spec, storage_options)[0], layout, storage_options)
            return pandas_like_table(table)
        if dataset_type == PARQUET:
            table = ParquetData(io.list_files(spec, storage_options), storage_options).to_table()
            if all(n in table.column_names for n in names):
                return table.select(names)
            if table.num_columns != len(names):
                raise DatasetError(
                    f"The baseline {spec!r} has {table.num_columns} columns; the model takes {len(names)} features."
                )
            return table.rename_columns(names)
        loaded = load_dataset(spec, dataset_type, features=features, storage_options=storage_options)
        table = loaded.data.to_table()
        if table.num_columns != len(names):
            raise DatasetError(
                f"The baseline {spec!r} has {table.num_columns} features; the model takes {len(names)}."
            )
        return table.rename_columns(names)
    if not isinstance(spec, list) or not spec:
        raise DatasetError(f"methods.shap.baseline must be a non-empty list of rows or a URI, got {spec!r}.")
    rows = spec
    if dataset_type in (JSONLINES, JSON) and all(isinstance(r, dict) for r in rows):
        query = compile_jmespath(features, "features")
        rows = [query.search(r) for r in rows]
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise DatasetError(
                f"methods.shap.baseline row {i} is {row!r}; each row must list the {len(names)} feature "
                f"values in model-input order {names}."
            )
    columns = {name: column_from_values([row[j] for row in rows], name) for j, name in enumerate(names)}
    return pandas_like_table(pa.table(columns))
