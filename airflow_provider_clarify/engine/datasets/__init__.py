"""Reading the analysis dataset(s) into Arrow columns, streaming when the data is large.

Formats (``dataset_type`` of the analysis_config), one reader module each:

* ``text/csv`` (``_csv``): column names from the config's ``headers`` or from the file's header
  row; without either, ``column_0``, ``column_1``, ... A first row counts as a header row when none
  of its cells is a number (or when it equals the configured ``headers``).
* ``application/jsonlines`` and ``application/json`` (``_json``): records located with the
  ``features`` / ``label`` / ``predicted_label`` JMESPath expressions.
* ``application/x-parquet`` (``_parquet``): columns by name (or 0-based index).

Every format may be one file, a folder, or a prefix of part files, gzip-compressed or not, on a local
disk, ``file://`` or ``s3://`` (see :mod:`airflow_provider_clarify.engine.io`).

Column types follow what pandas (and therefore the Clarify container) would infer from the same
file, because the bias metrics treat integer, float and string columns differently (``_pandas_types``):
integers with missing cells and all-empty columns become float64, empty strings are missing values,
dates stay strings.

CSV is read lazily, only the columns asked for, each parsed once: large CSV (over
``STREAM_THRESHOLD_BYTES``) in one streaming pass that spills the typed columns to a temporary
Arrow file for the later passes, smaller CSV in one go per request with the columns kept in memory.
All Parquet input is streamed in record batches (``_batches``), so memory does not grow with the
number of rows; JSON input is read in one go. ``_joins`` resolves config names to columns and joins the facet / predicted-label
datasets; ``_model_input`` turns feature columns into model input and reads the SHAP baseline.

This package is the documented surface (``__all__``); its ``_private`` modules may change.
See docs/engine.md ("Input formats") and docs/parity.md ("Reading data like the container").
"""

from __future__ import annotations

from airflow_provider_clarify.engine.datasets._batches import (
    DEFAULT_BATCH_ROWS,
    BatchSource,
    ExtendedData,
    TableData,
    TabularData,
    batch_source,
)
from airflow_provider_clarify.engine.datasets._csv import (
    STREAM_THRESHOLD_BYTES,
    CsvLayout,
    CsvStreamData,
    CsvTableData,
    csv_layouts,
    pandas_header_names,
)
from airflow_provider_clarify.engine.datasets._errors import DatasetError, DatasetMemoryError
from airflow_provider_clarify.engine.datasets._joins import join_columns, resolve_column
from airflow_provider_clarify.engine.datasets._loading import (
    CSV,
    JSON,
    JSONLINES,
    PARQUET,
    SUPPORTED_DATASET_TYPES,
    LoadedDataset,
    load_dataset,
)
from airflow_provider_clarify.engine.datasets._model_input import features_to_numpy, load_baseline
from airflow_provider_clarify.engine.datasets._pandas_types import widen
from airflow_provider_clarify.engine.datasets._parquet import ParquetData

__all__ = [
    "CSV",
    "DEFAULT_BATCH_ROWS",
    "JSON",
    "JSONLINES",
    "PARQUET",
    "STREAM_THRESHOLD_BYTES",
    "SUPPORTED_DATASET_TYPES",
    "BatchSource",
    "CsvLayout",
    "CsvStreamData",
    "CsvTableData",
    "DatasetError",
    "DatasetMemoryError",
    "ExtendedData",
    "LoadedDataset",
    "ParquetData",
    "TableData",
    "TabularData",
    "batch_source",
    "csv_layouts",
    "features_to_numpy",
    "join_columns",
    "load_baseline",
    "load_dataset",
    "pandas_header_names",
    "resolve_column",
    "widen",
]
