"""Per-segment jobs with ``DataFrame.mapInArrow``: each Spark task reads its segments and folds them.

The job's DataFrame has one row (the segment's index) per partition (:func:`segment_frame`). A job
is three picklable functions: ``start()`` makes a segment's state, ``update(state, item)`` folds one
item that ``read(segment)`` yields (a record batch, usually), ``finish(state)`` gives the picklable
partial. Each task returns ``(segment index, pickled partial)``; the driver orders the partials by
index, which is dataset order. A task that fails is retried by Spark; a partial is a pure function of
its segment, so a lost executor changes nothing. A configuration error found while reading (a
:class:`~airflow_provider_clarify.engine.errors.EngineConfigError`, e.g. a malformed file) is carried
back as the partial instead of failing the task (Spark would retry it in vain) and raised on the
driver: the first one in dataset order, as the single-machine engine would raise it.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

RESULT_SCHEMA = "segment long, payload binary"
_OK, _ERROR = "ok", "error"


def segment_frame(spark: SparkSession, count: int) -> DataFrame:
    """One row per segment (``id`` = its index), one segment per partition."""
    return spark.range(0, count, 1, max(1, count))


def segment_task(
    segments: Sequence[Any],
    read: Callable[[Any], Iterable[Any]],
    start: Callable[[], Any],
    update: Callable[[Any, Any], None],
    finish: Callable[[Any], Any],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function running a job over the segments of one Spark partition."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from airflow_provider_clarify.engine.errors import EngineConfigError

        indices, payloads = [], []
        for batch in batches:
            for index in batch.column(0).to_pylist():
                state = start()
                try:
                    for item in read(segments[index]):
                        update(state, item)
                    payload = pickle.dumps((_OK, finish(state)), protocol=5)
                except EngineConfigError as exc:
                    payload = pickle.dumps((_ERROR, exc), protocol=5)
                indices.append(index)
                payloads.append(payload)
        yield pa.RecordBatch.from_arrays(
            [pa.array(indices, pa.int64()), pa.array(payloads, pa.binary())], names=["segment", "payload"]
        )

    return task


def run_segments(
    frame: DataFrame,
    segments: Sequence[Any],
    read: Callable[[Any], Iterable[Any]],
    start: Callable[[], Any],
    update: Callable[[Any, Any], None],
    finish: Callable[[Any], Any],
) -> list[Any]:
    """Run the job on every segment; the partials in dataset order (or the first error raised)."""
    rows = frame.mapInArrow(
        segment_task(list(segments), read, start, update, finish), RESULT_SCHEMA
    ).collect()
    partials = []
    for row in sorted(rows, key=lambda r: r["segment"]):
        status, value = pickle.loads(row["payload"])
        if status == _ERROR:
            raise value
        partials.append(value)
    if len(partials) != len(segments):
        raise RuntimeError(f"Spark returned {len(partials)} partials for {len(segments)} segments")
    return partials


__all__ = ["RESULT_SCHEMA", "run_segments", "segment_frame", "segment_task"]
