"""A CSV dataset read by Spark as text, typed by a distributed first pass.

Column names and header rows come from the engine's own CSV layout rules (the driver reads the
first rows of each file); Spark then reads the text of every column with pandas' quoting
(``"`` doubled inside quotes), and :mod:`.csv_typing` settles each column's type over all
partitions. :meth:`SparkCsvDataset.typed` gives a segment's batch as the single-machine reader
would type it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.engine import datasets, io
from airflow_provider_clarify.engine.datasets._csv import csv_layout
from airflow_provider_clarify.engine.spark import csv_typing
from airflow_provider_clarify.engine.spark.segments import BLOCK_COLUMN, FILE_COLUMN, run_segments

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession


def spark_uri(uri: str) -> str:
    """The URI Spark's Hadoop file systems understand (``s3://`` is S3A's ``s3a://``)."""
    if uri.startswith("s3://"):
        return "s3a://" + uri[len("s3://") :]
    if "://" not in uri:
        import os

        return "file://" + os.path.abspath(uri)
    return uri


def quoted(name: str):
    """A column by its exact name (dots and spaces included)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


@dataclass
class SparkCsvDataset:
    """The text DataFrame of a CSV dataset, its column names and (after :meth:`settle`) types."""

    frame: DataFrame
    column_names: list[str]
    files: list[str]
    types: dict[str, str] = field(default_factory=dict)
    num_rows: int = 0

    @classmethod
    def open(
        cls,
        spark: SparkSession,
        uri: str,
        *,
        headers: list | None = None,
        storage_options: dict | None = None,
    ) -> SparkCsvDataset:
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField, StructType

        files = io.list_files(uri, storage_options)
        layouts = [csv_layout(files[0], headers, storage_options)]
        for part in files[1:]:
            layouts.append(
                csv_layout(part, layouts[0].names if headers is None else headers, storage_options)
            )
        names = list(layouts[0].names)
        if any(layout.header_row != layouts[0].header_row for layout in layouts):
            raise datasets.DatasetError(
                f"Part files under {uri!r} mix files with and without a header row; the Spark backend "
                "needs all with or all without one."
            )
        if len(set(names)) != len(names):
            raise datasets.DatasetError(f"The dataset {uri!r} has duplicate column names {names}.")
        schema = StructType([StructField(f"c{i}", StringType(), True) for i in range(len(names))])
        frame = (
            spark.read.format("csv")
            .schema(schema)
            .option("header", layouts[0].header_row)
            .option("quote", '"')
            .option("escape", '"')
            .option("mode", "FAILFAST")
            .option("encoding", "UTF-8")
            .load([spark_uri(f) for f in files])
        )
        frame = frame.select(
            *[F.col(f"c{i}").alias(name) for i, name in enumerate(names)],
            F.col("_metadata.file_path").alias(FILE_COLUMN),
            F.col("_metadata.file_block_start").alias(BLOCK_COLUMN),
        )
        return cls(frame, names, [spark_uri(f) for f in files])

    def settle(self) -> None:
        """Distributed first pass: every column's type over the whole dataset, and the row count."""
        names = list(self.column_names)

        def start() -> dict:
            return {"rows": 0, "states": {n: csv_typing.ColumnState() for n in names}}

        def update(state: dict, batch: pa.RecordBatch) -> None:
            state["rows"] += batch.num_rows
            for name, column_state in csv_typing.batch_states(batch, names).items():
                state["states"][name] = state["states"][name].merge(column_state)

        merged = {n: csv_typing.ColumnState() for n in names}
        rows = 0
        for part in run_segments(self.frame, self.files, start, update, lambda s: s):
            rows += part["rows"]
            for name in names:
                merged[name] = merged[name].merge(part["states"][name])
        if rows == 0:
            raise datasets.DatasetError("The dataset has no rows.")
        self.types = csv_typing.settle(merged)
        self.num_rows = rows

    def typed(self, batch: pa.RecordBatch, columns: list[str]) -> pa.RecordBatch:
        return csv_typing.convert_batch(batch, self.types, columns)

    def run(self, columns: list[str], start: Any, update: Any, finish: Any) -> list:
        """A segment job whose ``update`` receives typed batches of ``columns``."""
        types = dict(self.types)
        wanted = list(columns)

        def typed_update(state: Any, batch: pa.RecordBatch) -> None:
            update(state, csv_typing.convert_batch(batch, types, wanted))

        frame = self.frame.select(*[quoted(c) for c in (*wanted, FILE_COLUMN, BLOCK_COLUMN)])
        return run_segments(frame, self.files, start, typed_update, finish)


__all__ = ["SparkCsvDataset", "spark_uri"]
