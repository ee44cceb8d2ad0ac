"""``load_dataset``: open a dataset of any supported format (file, folder or prefix of part files)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.datasets._batches import TableData, TabularData
from airflow_provider_clarify.engine.datasets._csv import STREAM_THRESHOLD_BYTES, read_csv_files
from airflow_provider_clarify.engine.datasets._errors import DatasetError, DatasetMemoryError, out_of_memory
from airflow_provider_clarify.engine.datasets._json import read_json, read_jsonlines
from airflow_provider_clarify.engine.datasets._parquet import ParquetData

CSV = "text/csv"
JSONLINES = "application/jsonlines"
JSON = "application/json"
PARQUET = "application/x-parquet"
SUPPORTED_DATASET_TYPES = (CSV, JSONLINES, JSON, PARQUET)


@dataclass
class LoadedDataset:
    """A dataset plus the columns that JSON locators (JMESPath) turned into named columns."""

    data: TabularData
    uri: str
    dataset_type: str
    label_column: str | None = None
    predicted_label_column: str | None = None

    def __post_init__(self) -> None:
        self.data.source = repr(self.uri)

    @property
    def column_names(self) -> list[str]:
        return self.data.column_names

    @property
    def warnings(self) -> list[str]:
        """What the reader noticed while reading (also logged), for the report; usually empty."""
        return list(self.data.warnings)


def load_dataset(
    uri: str,
    dataset_type: str = CSV,
    *,
    headers: Sequence[str] | None = None,
    features: str | None = None,
    label: str | int | None = None,
    predicted_label: str | int | None = None,
    storage_options: dict | None = None,
    stream_threshold_bytes: int = STREAM_THRESHOLD_BYTES,
) -> LoadedDataset:
    """Open the dataset at ``uri`` (file, folder or prefix of part files).

    For CSV and Parquet ``label`` / ``predicted_label`` are column names or indices and are resolved
    later with :func:`resolve_column`; for JSON types they are JMESPath expressions evaluated here,
    and the resulting column names are returned in the :class:`LoadedDataset`.
    """
    dataset_type = (dataset_type or CSV).lower()
    if dataset_type not in SUPPORTED_DATASET_TYPES:
        raise DatasetError(
            f"dataset_type {dataset_type!r} is not supported by the open engine; use one of "
            f"{', '.join(SUPPORTED_DATASET_TYPES)}."
        )
    if headers is not None and not isinstance(headers, list | tuple):
        raise DatasetError(f"'headers' must be a list of column names, got {headers!r}.")
    files = io.list_files(uri, storage_options)
    try:
        return _open(
            uri,
            files,
            dataset_type,
            headers=headers,
            features=features,
            label=label,
            predicted_label=predicted_label,
            storage_options=storage_options,
            stream_threshold_bytes=stream_threshold_bytes,
        )
    except DatasetMemoryError:
        raise
    except MemoryError as exc:  # pyarrow's ArrowMemoryError is one too
        raise out_of_memory(f"reading {uri!r}", exc) from exc


def _open(
    uri: str,
    files: list[str],
    dataset_type: str,
    *,
    headers: Sequence[str] | None,
    features: str | None,
    label: str | int | None,
    predicted_label: str | int | None,
    storage_options: dict | None,
    stream_threshold_bytes: int,
) -> LoadedDataset:
    """Open ``files`` with the reader of ``dataset_type`` (see :func:`load_dataset`)."""
    if dataset_type == CSV:
        return LoadedDataset(
            read_csv_files(files, headers, storage_options, stream_threshold_bytes), uri, dataset_type
        )
    if dataset_type == PARQUET:
        data: TabularData = ParquetData(files, storage_options)
        if headers is not None and list(headers) != data.column_names:
            if len(headers) != len(data.column_names):
                raise DatasetError(
                    f"'headers' lists {len(headers)} names but the Parquet data has columns {data.column_names}."
                )
            renamed = data.to_table().rename_columns([str(h) for h in headers])
            data = TableData(renamed)
        return LoadedDataset(data, uri, dataset_type)
    if features is None:
        raise DatasetError(
            f"analysis_config field 'features' (a JMESPath locating the feature array) is required for "
            f"dataset_type {dataset_type}."
        )
    reader = read_jsonlines if dataset_type == JSONLINES else read_json
    table, label_name, predicted_name = reader(
        files, features, label, predicted_label, headers, storage_options
    )
    return LoadedDataset(TableData(table), uri, dataset_type, label_name, predicted_name)
