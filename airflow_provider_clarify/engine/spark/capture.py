"""A monitoring window on Spark: capture and ground truth read, joined and merged on the executors.

``run_monitoring_execution(..., spark=session)`` (and ``monitor --backend spark``) runs a bias-drift
execution whose records never pass through the driver. The parsing is the single-machine engine's
own code (:mod:`airflow_provider_clarify.engine.monitoring`), run per object on the executors; only
the join and the ordering are Spark's:

1. **Ground truth**: one task per object reads it with
   :func:`~airflow_provider_clarify.engine.monitoring.capture.read_ground_truth_file` and returns
   ``(id, object, position, label)`` rows. Of several labels for one id the last one read wins (greatest
   object, then position), as in the single-machine label store.
2. **Capture**: one task per capture object runs the engine's reader and its record merger
   (``execution._Merger``: record extraction, ``ExcludeFeaturesAttribute``, malformed records), whose
   label lookup answers each record's own join id; so every merged record leaves the task as text
   with its join id, its position in the window and, for a row of the wrong width, the reason. The
   feature count is the one the first record of the window fixes: the driver finds it first by running
   the same merger over the window's first items until it opens.
3. **Join** (Spark, on the join id): records without a label are counted as unlabelled and dropped,
   rows of the wrong width with a label are malformed (the single-machine merger counts exactly these);
   the merged records are written per capture object, in window order, as Parquet parts of text.
4. **Types**: the single-machine merge types each column by its first batch of 65,536 records; the
   driver reads those records back from the first parts and derives the same schema; a second job
   casts every part to it (values that do not fit are malformed and their rows dropped, as there).
5. The typed parts are the dataset of :func:`~airflow_provider_clarify.engine.spark.runner.run_analysis_spark`.

Counts (files, lines, records in and outside the window, malformed lines, unlabelled records, labels)
are those of the single-machine execution. The staging folder (``staging_uri``, seen by the driver and
every executor) is removed afterwards. See ``docs/scale-out.md`` and ``docs/monitoring.md``.
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.analysis.monitoring.requests import MODEL_BIAS
from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.monitoring.capture import MAX_REASONS, ReadStats
from airflow_provider_clarify.engine.monitoring.merge import DEFAULT_BATCH_ROWS

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

#: ``op`` of a capture task's summary row: after every record of its object.
_SUMMARY_OP = 1 << 62
#: The position column kept in the text parts (dropped from the typed parts).
_OP = "__clarify_op"
#: Merged records an executor buffers before handing them to Spark.
_SINK_ROWS = 1 << 15


class SparkMonitoringError(EngineConfigError):
    """A monitoring execution the Spark backend does not run (never retried)."""


def check_spark_monitoring(kind: str) -> None:
    """Refuse, before anything is read, a monitoring type the Spark backend cannot run."""
    if kind != MODEL_BIAS:
        raise SparkMonitoringError(
            f"{kind} monitoring (feature-attribution drift) needs Kernel SHAP on the executors, which the "
            "Spark backend does not compute; run this execution on one machine (monitor without "
            "--backend spark, run_monitoring_execution without spark=). Bias drift (ModelBias) runs on Spark.",
            field="--backend",
            value="spark",
            accepted="ModelBias job definitions with --backend spark",
        )


@dataclass
class _Window:
    """What every task needs to read its object exactly as the single-machine execution reads it."""

    plan: Any
    files: list[str]
    start: datetime
    end: datetime
    storage_options: dict | None
    columnar: bool
    raw_format: dict | None
    raw_attributes: Any
    merge_attributes: Any

    def items(self, uri: str, stats: ReadStats) -> Iterator[Any]:
        from airflow_provider_clarify.engine.monitoring.execution import file_items

        return file_items(
            uri,
            stats,
            self.start,
            self.end,
            self.storage_options,
            columnar=self.columnar,
            dataset_format=self.raw_format,
            attributes=self.raw_attributes,
        )

    def merger(self, stats: ReadStats, writer_factory: Any) -> Any:
        from airflow_provider_clarify.engine.monitoring.execution import _Merger

        return _Merger(self.plan, _EchoLabels(), "", stats, self.merge_attributes, writer_factory)


class _EchoLabels:
    """The merger's label lookup on an executor: every id is "found", and its label is the id itself,
    so the merged record carries its join id in the label column until Spark joins the real label."""

    def get(self, event_id: Any) -> Any:
        return event_id

    def get_many(self, event_ids: list[Any]) -> list[Any]:
        return list(event_ids)


class _TickStats(ReadStats):
    """:class:`ReadStats` that also number the steps of one object (each malformed line and each record
    written), so the malformed lines of all objects can be listed in the order one reader meets them."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = 0
        self.events: list[tuple[float, str]] = []

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def bad(self, where: str, reason: str) -> None:
        super().bad(where, reason)
        tick = self.tick()
        if len(self.events) < MAX_REASONS:
            self.events.append((tick, f"{where}: {reason}"))


class _RecordSink:
    """Stands in for :class:`~airflow_provider_clarify.engine.monitoring.merge.MergedWriter` on an
    executor: keeps each merged record as text, with its place (``op``: the writer call, ``ord``: the
    row within it), its join id (the label column, see :class:`_EchoLabels`) and, for a row of the
    wrong width, the reason the writer would give (counted only if the record has a label)."""

    def __init__(self, columns: list[str], stats: _TickStats) -> None:
        self.columns = list(columns)
        self.stats = stats
        self.rows: list[tuple[int, Any, Any, list[Any]]] = []
        self.blocks: list[tuple[int, list[Any]]] = []
        self.size = 0

    def add(self, row: list[Any], where: str) -> None:
        op = self.stats.tick()
        join_id = None if row[-2] is None else str(row[-2])
        if len(row) != len(self.columns):
            reason = f"{where}: {len(row)} values for {len(self.columns)} columns {self.columns}"
            self.rows.append((op, join_id, reason, [None] * (len(self.columns) - 1)))
        else:
            texts = [None if v is None else str(v) for v in row]
            self.rows.append((op, join_id, None, texts[:-2] + texts[-1:]))
        self.size += 1

    def add_columns(self, texts: list[Any]) -> None:
        import pyarrow as pa

        op = self.stats.tick()
        arrays = [
            (t.combine_chunks() if hasattr(t, "combine_chunks") else t).cast(pa.string()) for t in texts
        ]
        if len(arrays[0]):
            self.blocks.append((op, arrays))
            self.size += len(arrays[0])

    def close(self) -> int:
        return 0

    def drain(self, fidx: int) -> Iterator[pa.RecordBatch]:
        """The buffered records as record batches of the capture job's schema."""
        import pyarrow as pa

        width = len(self.columns) - 1
        for op, arrays in self.blocks:
            n = len(arrays[0])
            yield _capture_batch(
                pa.array([fidx] * n, pa.int32()),
                pa.array([op] * n, pa.int64()),
                pa.array(range(n), pa.int32()),
                arrays[-2],
                pa.nulls(n, pa.string()),
                [*arrays[:-2], arrays[-1]],
            )
        if self.rows:
            n = len(self.rows)
            ops, ids, bads, values = zip(*self.rows, strict=True)
            yield _capture_batch(
                pa.array([fidx] * n, pa.int32()),
                pa.array(ops, pa.int64()),
                pa.array([0] * n, pa.int32()),
                pa.array(ids, pa.string()),
                pa.array(bads, pa.string()),
                [pa.array([v[i] for v in values], pa.string()) for i in range(width)],
            )
        self.rows, self.blocks, self.size = [], [], 0


def _capture_schema(width: int) -> str:
    values = ", ".join(f"c{i} string" for i in range(width))
    return f"fidx int, op long, ord int, jid string, bad string, meta binary, {values}"


def _capture_batch(fidx, op, ord_, jid, bad, values, meta=None) -> pa.RecordBatch:
    import pyarrow as pa

    n = len(fidx)
    meta = pa.nulls(n, pa.binary()) if meta is None else meta
    names = ["fidx", "op", "ord", "jid", "bad", "meta"] + [f"c{i}" for i in range(len(values))]
    return pa.RecordBatch.from_arrays([fidx, op, ord_, jid, bad, meta, *values], names=names)


def _capture_task(window: _Window, width: int, columns: list[str]):
    """``mapInArrow`` function: the merged records (as text) of each capture object of the partition,
    then one summary row per object (its reading statistics)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for batch in batches:
            for fidx in batch.column(0).to_pylist():
                stats = _TickStats()
                sinks: list[_RecordSink] = []

                def factory(_path, names, sink_stats, sinks=sinks):
                    sinks.append(_RecordSink(names, sink_stats))
                    return sinks[-1]

                merger = window.merger(stats, factory)
                merger._open(width)  # the window's first record fixed it (found by the driver)
                sink = sinks[0]
                for item in window.items(window.files[fidx], stats):
                    merger.feed(item)
                    if sink.size >= _SINK_ROWS:
                        yield from sink.drain(fidx)
                yield from sink.drain(fidx)
                summary = pickle.dumps(
                    {
                        "stats": stats.to_dict(),
                        "malformed": stats.malformed,
                        "events": stats.events,
                        "unmatched": merger.unmatched,
                    },
                    protocol=5,
                )
                yield _capture_batch(
                    pa.array([fidx], pa.int32()),
                    pa.array([_SUMMARY_OP], pa.int64()),
                    pa.array([0], pa.int32()),
                    pa.nulls(1, pa.string()),
                    pa.nulls(1, pa.string()),
                    [pa.nulls(1, pa.string()) for _ in range(len(columns) - 1)],
                    meta=pa.array([summary], pa.binary()),
                )

    return task


class _LabelRecorder:
    """Collects the ``put`` calls of the ground-truth reader in order, as Arrow arrays."""

    def __init__(self) -> None:
        self.ids: list[Any] = []
        self.labels: list[Any] = []

    def put(self, event_id: Any, label: Any) -> None:
        self.ids.append(event_id)
        self.labels.append(None if label is None else str(label))  # the merger writes str(label)

    def put_many(self, event_ids: list[Any], labels: list[Any]) -> None:
        for event_id, label in zip(event_ids, labels, strict=True):
            self.put(event_id, label)


def _ground_truth_task(files: list[str], storage_options: dict | None, columnar: bool):
    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from airflow_provider_clarify.engine.monitoring.capture import read_ground_truth_file

        names = ["id", "fidx", "seq", "label", "meta"]
        for batch in batches:
            for fidx in batch.column(0).to_pylist():
                stats, recorder = ReadStats(), _LabelRecorder()
                read_ground_truth_file(files[fidx], stats, storage_options, recorder, columnar=columnar)
                n = len(recorder.ids)
                yield pa.RecordBatch.from_arrays(
                    [
                        pa.array(recorder.ids, pa.string()),
                        pa.array([fidx] * n, pa.int32()),
                        pa.array(range(n), pa.int64()),
                        pa.array(recorder.labels, pa.string()),
                        pa.nulls(n, pa.binary()),
                    ],
                    names=names,
                )
                yield pa.RecordBatch.from_arrays(
                    [
                        pa.nulls(1, pa.string()),
                        pa.array([fidx], pa.int32()),
                        pa.array([-1], pa.int64()),
                        pa.nulls(1, pa.string()),
                        pa.array([pickle.dumps(stats, protocol=5)], pa.binary()),
                    ],
                    names=names,
                )

    return task


def _write_task(columns: list[str], staging: str, storage_options: dict | None):
    """``mapInArrow`` function over the joined rows (sorted by object, then place): writes each object's
    labelled records as a text part and returns what it counted, one row per capture object."""
    width = len(columns) - 1

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.compute as pc

        state: dict[str, Any] = {}
        out_fidx: list[int] = []
        out_payload: list[bytes] = []

        def finish() -> None:
            if not state:
                return
            if state["writer"] is not None:
                state["writer"].close()
                state["stream"].close()
            out_fidx.append(state["fidx"])
            out_payload.append(
                pickle.dumps(
                    {k: state[k] for k in ("rows", "unmatched", "malformed", "events", "summary", "part")},
                    protocol=5,
                )
            )
            state.clear()

        for batch in batches:
            fidxs = batch.column("fidx").to_pylist()
            start = 0
            while start < len(fidxs):
                fidx = fidxs[start]
                stop = start
                while stop < len(fidxs) and fidxs[stop] == fidx:
                    stop += 1
                part = batch.slice(start, stop - start)
                start = stop
                if state and state["fidx"] != fidx:
                    finish()
                if not state:
                    state.update(
                        fidx=fidx, rows=0, unmatched=0, malformed=0, events=[], summary=None,
                        part=None, writer=None, stream=None,
                    )  # fmt: skip
                for payload in part.column("meta").drop_null().to_pylist():
                    state["summary"] = payload
                records = part.filter(pc.is_null(part.column("meta")))
                labelled = pc.is_valid(records.column("label"))
                state["unmatched"] += len(records) - pc.sum(labelled).as_py() if len(records) else 0
                records = records.filter(labelled)
                bad = pc.is_valid(records.column("bad"))
                for op, reason in zip(
                    records.column("op").filter(bad).to_pylist(),
                    records.column("bad").filter(bad).to_pylist(),
                    strict=True,
                ):
                    state["malformed"] += 1
                    if len(state["events"]) < MAX_REASONS:
                        state["events"].append((op, reason))
                good = records.filter(pc.invert(bad))
                if not len(good):
                    continue
                arrays = [good.column(f"c{i}") for i in range(width - 1)]
                arrays += [good.column("label"), good.column(f"c{width - 1}"), good.column("op")]
                table = pa.Table.from_arrays(arrays, names=[*columns, _OP])
                if state["writer"] is None:
                    import pyarrow.parquet as pq

                    uri = io.join_uri(staging, f"text/part-{fidx:08d}.parquet")
                    state["stream"] = _open_output(uri, storage_options)
                    state["writer"] = pq.ParquetWriter(state["stream"], table.schema)
                    state["part"] = uri
                state["writer"].write_table(table)
                state["rows"] += len(good)
        finish()
        yield pa.RecordBatch.from_arrays(
            [pa.array(out_fidx, pa.int32()), pa.array(out_payload, pa.binary())], names=["fidx", "payload"]
        )

    return task


def _open_output(uri: str, storage_options: dict | None) -> Any:
    import posixpath

    import pyarrow.fs as pafs

    resolved = io.resolve(uri, storage_options)
    if isinstance(resolved.filesystem, pafs.LocalFileSystem):
        resolved.filesystem.create_dir(posixpath.dirname(resolved.path), recursive=True)
    return resolved.filesystem.open_output_stream(resolved.path)


def _open_parquet(uri: str, storage_options: dict | None) -> Any:
    import pyarrow.parquet as pq

    resolved = io.resolve(uri, storage_options)
    return pq.ParquetFile(resolved.filesystem.open_input_file(resolved.path))


def _first_batch_texts(parts: list[str], columns: list[str], storage_options: dict | None) -> list[Any]:
    """The text of the records the single-machine merge writes first (and types its columns by): its
    buffer is written once a writer call brings it to 65,536 records or more, so the first batch is
    every record up to the end of the writer call (``op``) holding record number 65,536, or all."""
    import pyarrow as pa

    tables, rows, last = [], 0, None
    for uri in parts:
        for batch in _open_parquet(uri, storage_options).iter_batches(batch_size=DEFAULT_BATCH_ROWS):
            if last is not None:
                ops = batch.column(_OP).to_pylist()
                keep = 0
                while keep < len(ops) and ops[keep] == last:
                    keep += 1
                tables.append(pa.Table.from_batches([batch.slice(0, keep)]))
                if keep < len(ops):
                    return _texts(tables, columns)
                continue
            tables.append(pa.Table.from_batches([batch]))
            rows += batch.num_rows
            if rows >= DEFAULT_BATCH_ROWS:
                last = batch.column(_OP)[batch.num_rows - (rows - DEFAULT_BATCH_ROWS) - 1].as_py()
                ops = batch.column(_OP).to_pylist()
                cut = batch.num_rows - (rows - DEFAULT_BATCH_ROWS)
                while cut < len(ops) and ops[cut] == last:
                    cut += 1
                tables[-1] = tables[-1].slice(0, cut)
                if cut < len(ops):
                    return _texts(tables, columns)
        if last is not None:
            return _texts(tables, columns)  # the writer call ended with its object
    return _texts(tables, columns)


def _texts(tables: list[Any], columns: list[str]) -> list[Any]:
    import pyarrow as pa

    table = pa.concat_tables(tables)
    return [table.column(name).combine_chunks().cast(pa.string()) for name in columns]


def _cast_task(schema: Any, staging: str, storage_options: dict | None):
    """Segment job: one text part -> the typed part (rows with values that do not fit dropped)."""
    from airflow_provider_clarify.engine.monitoring.merge import typed_rows

    def read(uri: str) -> Iterator[Any]:
        yield uri

    def update(state: dict, uri: str) -> None:
        import posixpath

        import pyarrow.parquet as pq

        target = io.join_uri(staging, f"typed/{posixpath.basename(uri)}")
        stream = _open_output(target, storage_options)
        with pq.ParquetWriter(stream, schema) as writer:
            offset = 0
            for batch in _open_parquet(uri, storage_options).iter_batches(batch_size=DEFAULT_BATCH_ROWS):
                ops = batch.column(_OP)

                def bad(row: int, where: str, reason: str, ops=ops, offset=offset) -> None:
                    # after the writer call that added the row; within it column by column, as a
                    # flush of the single-machine writer reports them
                    key = (
                        ops[row].as_py() + 0.5,
                        schema.get_field_index(where[len("column ") :]),
                        offset + row,
                    )
                    state["malformed"] += 1
                    state["events"] = sorted([*state["events"], (key, f"{where}: {reason}")])[:MAX_REASONS]

                texts = [batch.column(name) for name in schema.names]
                table = typed_rows(texts, schema, bad)
                writer.write_table(table)
                state["rows"] += table.num_rows
                offset += batch.num_rows
        stream.close()

    return read, lambda: {"rows": 0, "malformed": 0, "events": []}, update, lambda s: s


class _Opened(Exception):
    """Raised by the probe's writer factory: the merge opened with these columns."""

    def __init__(self, columns: list[str]) -> None:
        super().__init__(columns)
        self.columns = columns


def _probe(window: _Window) -> tuple[int | None, list[str], str | None, ReadStats]:
    """The feature count, column names and label name the window's first record fixes (``None`` and
    the complete reading statistics when no record of the window opens the merge)."""
    stats = ReadStats()

    def factory(_path, columns, _stats):
        raise _Opened(list(columns))

    merger = window.merger(stats, factory)
    try:
        for uri in window.files:
            for item in window.items(uri, stats):
                merger.feed(item)
    except _Opened as opened:
        return len(merger.features), opened.columns, merger.label_name, stats
    return None, [], None, stats


@dataclass
class _Merged:
    rows: int
    columns: list[str]
    label: str | None
    uri: str | None
    labels: Any  # the labels DataFrame (distinct ids), for the failure message

    def count_labels(self) -> int:
        return self.labels.count()


def _labels_frame(
    spark: SparkSession, window: _Window, until: datetime, gt_stats: ReadStats
) -> tuple[DataFrame, DataFrame | None]:
    """The last label of every id (DataFrame ``id, label``) and the persisted rows it comes from (to
    unpersist); fills ``gt_stats`` as the single-machine reader does."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from airflow_provider_clarify.engine.monitoring.capture import ground_truth_files
    from airflow_provider_clarify.engine.spark.segments import segment_frame

    files = ground_truth_files(window.plan.ground_truth_uri, window.start, until, window.storage_options)
    schema = "id string, fidx int, seq long, label string, meta binary"
    if not files:
        return spark.createDataFrame([], "id string, label string"), None
    rows = segment_frame(spark, len(files)).mapInArrow(
        _ground_truth_task(files, window.storage_options, window.columnar), schema
    )
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    for row in sorted(rows.filter(F.col("meta").isNotNull()).select("fidx", "meta").collect()):
        part: ReadStats = pickle.loads(row["meta"])
        gt_stats.files += part.files
        gt_stats.lines += part.lines
        gt_stats.malformed += part.malformed
        gt_stats.reasons = (gt_stats.reasons + part.reasons)[:MAX_REASONS]
    last = F.max(F.struct("fidx", "seq", "label")).alias("last")
    return rows.filter(F.col("id").isNotNull()).groupBy("id").agg(last).select("id", "last.label"), rows


def merge_and_analyse_spark(
    spark: SparkSession,
    plan: Any,
    files: list[str],
    start: datetime,
    end: datetime,
    until: datetime,
    stats: ReadStats,
    gt_stats: ReadStats,
    target: str,
    *,
    storage_options: dict | None,
    columnar: bool,
    raw_format: dict | None,
    raw_attributes: Any,
    merge_attributes: Any,
    staging_uri: str | None,
) -> tuple[int, str]:
    """The Spark counterpart of the single-machine merge-and-analyse step of a bias execution (see the
    module docstring). Fills ``stats`` and ``gt_stats`` as the single-machine readers do.

    :returns: ``(records analysed, analysis.json URI)``.
    :raises MonitoringInputError: as the single-machine execution, when the window has no usable data.
    """
    from airflow_provider_clarify.engine.monitoring.execution import _analysis_config, _require_rows
    from airflow_provider_clarify.engine.spark.runner import run_analysis_spark

    window = _Window(
        plan, list(files), start, end, storage_options, columnar, raw_format, raw_attributes, merge_attributes
    )
    staging = staging_uri or io.join_uri(target, f"_merged-{uuid.uuid4().hex[:12]}")
    labels, persisted = _labels_frame(spark, window, until, gt_stats)
    try:
        merged = _merge(spark, window, labels, stats, gt_stats, staging)
        _require_rows(plan, stats, len(files), start, end, merged.rows, merged.count_labels)
        config = _analysis_config(plan, merged.columns, merged.label)
        analysis_uri = run_analysis_spark(spark, config, merged.uri, target, storage_options=storage_options)
        return merged.rows, analysis_uri
    finally:
        if persisted is not None:
            persisted.unpersist()
        _remove(staging, storage_options)


def _merge(
    spark: SparkSession,
    window: _Window,
    labels: DataFrame,
    stats: ReadStats,
    gt_stats: ReadStats,
    staging: str,
) -> _Merged:
    from airflow_provider_clarify.engine.monitoring.merge import merged_schema
    from airflow_provider_clarify.engine.spark.segments import run_segments, segment_frame

    width, columns, label, probe_stats = _probe(window)
    if width is None:  # nothing in the window opens the merge: the probe read everything
        for name in ("files", "lines", "in_window", "outside_window", "malformed", "reasons"):
            setattr(stats, name, getattr(probe_stats, name))
        return _Merged(0, [], None, None, labels)
    count = len(window.files)
    captured = segment_frame(spark, count).mapInArrow(
        _capture_task(window, width, columns), _capture_schema(len(columns) - 1)
    )
    joined = captured.join(labels, captured.jid == labels.id, "left").drop("id")
    try:
        parallelism = spark.sparkContext.defaultParallelism
    except Exception:  # Spark Connect
        parallelism = 8
    written = (
        joined.repartition(max(1, min(count, 4 * parallelism)), "fidx")
        .sortWithinPartitions("fidx", "op", "ord")
        .mapInArrow(_write_task(columns, staging, window.storage_options), "fidx int, payload binary")
        .collect()
    )
    parts = sorted((row["fidx"], pickle.loads(row["payload"])) for row in written)
    if [fidx for fidx, _ in parts] != list(range(count)):
        raise RuntimeError(f"Spark returned {len(parts)} capture summaries for {count} objects")
    events: list[tuple[int, tuple, str]] = []  # (object, place in the object's reading, reason)
    unmatched = 0
    for fidx, part in parts:
        summary = pickle.loads(part["summary"])
        for key, name in (
            ("files", "files"),
            ("lines", "lines"),
            ("records_in_window", "in_window"),
            ("records_outside_window", "outside_window"),
        ):
            setattr(stats, name, getattr(stats, name) + summary["stats"][key])
        stats.malformed += summary["malformed"] + part["malformed"]
        events += [(fidx, (tick,), text) for tick, text in summary["events"] + part["events"]]
        unmatched += summary["unmatched"] + part["unmatched"]
    text_parts = [part["part"] for _, part in parts if part["part"]]
    rows = 0
    if text_parts:
        schema = merged_schema(columns, _first_batch_texts(text_parts, columns, window.storage_options))
        read, start, update, finish = _cast_task(schema, staging, window.storage_options)
        for fidx, result in zip(
            [f for f, part in parts if part["part"]],
            run_segments(segment_frame(spark, len(text_parts)), text_parts, read, start, update, finish),
            strict=True,
        ):
            rows += result["rows"]
            stats.malformed += result["malformed"]
            events += [(fidx, tick, text) for tick, text in result["events"]]
    stats.reasons = [text for _, _, text in sorted(events)[:MAX_REASONS]]
    gt_stats.outside_window = unmatched  # captured records without a label (reported)
    return _Merged(rows, columns, label, io.join_uri(staging, "typed") if rows else None, labels)


def run_monitoring_execution_spark(
    spark: SparkSession, job_definition: Any, scheduled_time: Any, **kwargs: Any
) -> Any:
    """One bias-drift monitoring execution on ``spark`` (a ``SparkSession``: a ``@task.pyspark``, a
    notebook, ``spark-submit``): :func:`~airflow_provider_clarify.engine.monitoring.run_monitoring_execution`
    with ``spark=spark``; every other argument is that function's (``data_capture_uri``, ``output``,
    ``storage_options``, ``baseline_uri``, ``staging_uri``, ...). Writes the same files.

    :raises SparkMonitoringError: for a feature-attribution-drift (ModelExplainability) job definition.
    """
    from airflow_provider_clarify.engine.monitoring.execution import run_monitoring_execution

    return run_monitoring_execution(job_definition, scheduled_time, spark=spark, **kwargs)


def _remove(uri: str, storage_options: dict | None) -> None:
    """Delete the staging folder (best effort: a leftover holds only temporary files).

    On S3 the objects are deleted with boto3: pyarrow's deletes leave an empty "folder" object for the
    parent (here: in the output, where the single-machine execution writes none).
    """
    import logging

    try:
        resolved = io.resolve(uri, storage_options)
        if resolved.scheme == "s3":
            _remove_s3_prefix(resolved.path, storage_options or {})
        else:
            resolved.filesystem.delete_dir(resolved.path)
    except FileNotFoundError:
        return
    except Exception as exc:  # never hide the execution's own outcome behind a clean-up failure
        logging.getLogger(__name__).warning("Could not remove the staging folder %s: %s", uri, exc)


def _remove_s3_prefix(path: str, options: dict) -> None:
    import boto3

    bucket, _, prefix = path.partition("/")
    keys = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region_name", "endpoint_url")
    client = boto3.client("s3", **{k: options[k] for k in keys if options.get(k)})
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix.rstrip("/") + "/"
    ):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


__all__ = [
    "SparkMonitoringError",
    "check_spark_monitoring",
    "merge_and_analyse_spark",
    "run_monitoring_execution_spark",
]
