"""A dataset on Spark: segments read by the executors (:mod:`.sources`), typed like on one machine.

:func:`open_dataset` lists the files and reads what the driver must know (CSV layouts, Parquet
metadata); :meth:`SparkDataset.settle` runs the distributed first pass (CSV: every column's type over
all segments, :mod:`.csv_typing`; JSON Lines: every file's column types, unified; both: the row
count); :meth:`SparkDataset.run` runs a job whose ``update`` receives typed record batches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.engine import datasets, io
from airflow_provider_clarify.engine.spark import csv_typing
from airflow_provider_clarify.engine.spark.segments import run_segments, segment_frame
from airflow_provider_clarify.engine.spark.sources import (
    CsvSource,
    JsonLinesSource,
    ParquetSource,
    Segment,
    json_file_facts,
    to_json_types,
    unify_json_types,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

#: Spark's defaults for file splits (``spark.sql.files.maxPartitionBytes`` / ``openCostInBytes``).
DEFAULT_SPLIT_BYTES = 128 << 20
DEFAULT_OPEN_COST_BYTES = 4 << 20


def _bytes(text: str | None, default: int) -> int:
    """A Spark size setting (``24576``, ``128m``, ``128MB``, ``4194304b``) in bytes."""
    if not text:
        return default
    match = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)b?\s*", str(text).lower())
    if not match:
        return default
    return int(match.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[match.group(2)]


def split_bytes(spark: SparkSession, total_bytes: int) -> int:
    """The size of a CSV byte range: at most ``spark.sql.files.maxPartitionBytes``, at least
    ``spark.sql.files.openCostInBytes``, and otherwise such that the ranges are a multiple of the
    session's cores (every core reads the same amount: no last round with one busy core)."""
    import math

    conf = spark.conf
    largest = _bytes(conf.get("spark.sql.files.maxPartitionBytes", None), DEFAULT_SPLIT_BYTES)
    open_cost = _bytes(conf.get("spark.sql.files.openCostInBytes", None), DEFAULT_OPEN_COST_BYTES)
    try:
        cores = max(1, spark.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect has no SparkContext
        cores = max(1, int(conf.get("spark.default.parallelism", "8") or 8))
    ranges = cores * math.ceil(max(1, total_bytes) / (cores * largest))
    return max(1, min(largest, max(open_cost, math.ceil(total_bytes / ranges))))


@dataclass
class SparkDataset:
    """A dataset cut into segments; ``frame`` has one row per segment (one partition each)."""

    source: Any  # CsvSource | ParquetSource | JsonLinesSource
    segments: list[Segment]
    frame: DataFrame
    dataset_type: str
    column_names: list[str]
    files: list[str]
    types: dict[str, Any] = field(default_factory=dict)
    num_rows: int = 0
    label_column: str | None = None
    predicted_label_column: str | None = None

    @property
    def warnings(self) -> list[str]:
        """What the reader noticed (e.g. a header row that looks like data), for ``analysis.json``."""
        return list(self.source.warnings)

    def settle(self) -> None:
        """Distributed first pass: column types (CSV, JSON Lines) and the row count."""
        if self.dataset_type == datasets.CSV:
            self._settle_csv()
        elif self.dataset_type == datasets.JSONLINES:
            self._settle_json()
        else:
            self.types = dict(self.source.types)
            self.num_rows = self.source.num_rows
        if self.num_rows == 0:
            raise datasets.DatasetError("The dataset has no rows.")

    def _settle_csv(self) -> None:
        names = list(self.column_names)
        source = self.source

        def start() -> dict:
            return {"rows": 0, "states": {n: csv_typing.ColumnState() for n in names}}

        def update(state: dict, batch: pa.RecordBatch) -> None:
            state["rows"] += batch.num_rows
            for name, column_state in csv_typing.batch_states(batch, names).items():
                state["states"][name] = state["states"][name].merge(column_state)

        merged = {n: csv_typing.ColumnState() for n in names}
        rows = 0
        for part in run_segments(
            self.frame, self.segments, lambda s: source.read(s, names), start, update, lambda s: s
        ):
            rows += part["rows"]
            for name in names:
                merged[name] = merged[name].merge(part["states"][name])
        self.types = csv_typing.settle(merged)
        self.num_rows = rows

    def _settle_json(self) -> None:
        source = self.source

        def read(segment: Segment) -> list:
            loaded = source.load(segment.file)
            return [] if loaded is None else [json_file_facts(loaded)]

        def update(state: list, facts: dict) -> None:
            state.append(facts)

        parts = [
            (segment.file, facts[0])
            for segment, facts in zip(
                self.segments,
                run_segments(self.frame, self.segments, read, list, update, lambda s: s),
                strict=True,
            )
            if facts
        ]
        if not parts:
            raise datasets.DatasetError(f"No records found in {self.files[0]!r}.")
        first = parts[0][1]
        for uri, facts in parts[1:]:
            if facts["names"] != first["names"]:
                raise datasets.DatasetError(
                    f"Part file {uri!r} has columns {facts['names']}, expected {first['names']} (every line "
                    "of a JSON Lines dataset needs the same number of features)."
                )
        self.column_names = list(first["names"])
        self.label_column, self.predicted_label_column = first["label"], first["predicted"]
        self.types = unify_json_types(parts)
        self.num_rows = sum(facts["rows"] for _, facts in parts)
        source.types = dict(self.types)
        source.column_names = list(self.column_names)

    def converter(self, columns: list[str]):
        """The function turning a segment's batch of ``columns`` into the typed batch (picklable)."""
        types = dict(self.types)
        if self.dataset_type == datasets.CSV:
            return lambda batch: csv_typing.convert_batch(batch, types, columns)
        if self.dataset_type == datasets.JSONLINES:
            return lambda batch: to_json_types(batch, types)
        return lambda batch: batch

    def run(self, columns: list[str], start: Any, update: Any, finish: Any) -> list:
        """A segment job whose ``update`` receives typed batches of ``columns`` (dataset order)."""
        wanted = list(columns)
        source = self.source
        convert = self.converter(wanted)

        def read(segment: Segment):
            for batch in source.read(segment, wanted):
                yield convert(batch)

        return run_segments(self.frame, self.segments, read, start, update, finish)


def open_dataset(
    spark: SparkSession,
    uri: str,
    dataset_type: str = datasets.CSV,
    *,
    headers: list | None = None,
    features: Any = None,
    label: Any = None,
    predicted_label: Any = None,
    storage_options: dict | None = None,
) -> SparkDataset:
    """Open ``uri`` (file, folder or prefix of part files; local, ``file://`` or ``s3://``) on ``spark``.

    ``features``, ``label`` and ``predicted_label`` are the JMESPath expressions of a JSON Lines
    dataset (ignored for the other formats).
    """
    dataset_type = (dataset_type or datasets.CSV).lower()
    if headers is not None and not isinstance(headers, list | tuple):
        raise datasets.DatasetError(f"'headers' must be a list of column names, got {headers!r}.")
    files = io.list_files(uri, storage_options)
    if dataset_type == datasets.CSV:
        source: Any = CsvSource.open(files, headers, storage_options)
        total = sum(f.size for f in source.files)
        segments = source.segments(split_bytes(spark, total))
        names = source.column_names
    elif dataset_type == datasets.PARQUET:
        source = ParquetSource.open(files, headers, storage_options)
        segments = source.segments(0)
        names = list(source.column_names)
    elif dataset_type == datasets.JSONLINES:
        if features is None:
            raise datasets.DatasetError(
                "analysis_config field 'features' (a JMESPath locating the feature array) is required for "
                f"dataset_type {dataset_type}."
            )
        source = JsonLinesSource(
            files,
            list(headers) if headers is not None else None,
            features,
            label,
            predicted_label,
            storage_options,
        )
        segments = source.segments(0)
        names = []  # known after the first pass (settle)
    else:
        raise datasets.DatasetError(f"dataset_type {dataset_type!r} is not read by the Spark backend.")
    if not segments:
        raise datasets.DatasetError(f"The dataset {uri!r} has no rows.")
    return SparkDataset(
        source, segments, segment_frame(spark, len(segments)), dataset_type, list(names), list(files)
    )


class SparkCsvDataset:
    """Earlier name: ``SparkCsvDataset.open(spark, uri, headers=..., storage_options=...)``."""

    @staticmethod
    def open(
        spark: SparkSession, uri: str, *, headers: list | None = None, storage_options: dict | None = None
    ) -> SparkDataset:
        return open_dataset(spark, uri, datasets.CSV, headers=headers, storage_options=storage_options)


__all__ = ["SparkCsvDataset", "SparkDataset", "open_dataset", "split_bytes"]
