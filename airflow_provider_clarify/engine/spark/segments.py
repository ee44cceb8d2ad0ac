"""Per-segment jobs over a text DataFrame with ``DataFrame.mapInArrow``.

A job is three picklable functions: ``start()`` makes a segment's state, ``update(state, batch)``
folds a text record batch of that segment into it, ``finish(state)`` gives the picklable partial
result. Each Spark task returns one row per segment it read (``file``, ``block``, pickled partial);
the driver orders the rows by file (the engine's order) and split offset. A task that fails is
retried by Spark from its input split, so a lost executor changes nothing in the result.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

FILE_COLUMN = "__clarify_file"
BLOCK_COLUMN = "__clarify_block"
RESULT_SCHEMA = "file string, block long, payload binary"


def _segments(batch: pa.RecordBatch) -> Iterator[tuple[tuple[str, int], pa.RecordBatch]]:
    """Runs of rows of ``batch`` that come from the same file split, in row order."""
    import numpy as np

    files = batch.column(batch.schema.get_field_index(FILE_COLUMN)).to_numpy(zero_copy_only=False)
    blocks = batch.column(batch.schema.get_field_index(BLOCK_COLUMN)).to_numpy(zero_copy_only=False)
    n = len(files)
    if n == 0:
        return
    change = np.flatnonzero((files[1:] != files[:-1]) | (blocks[1:] != blocks[:-1])) + 1
    bounds = [0, *change.tolist(), n]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        yield (str(files[lo]), int(blocks[lo])), batch.slice(lo, hi - lo)


def segment_task(
    start: Callable[[], Any], update: Callable[[Any, pa.RecordBatch], None], finish: Callable[[Any], Any]
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function running a job over one Spark partition."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        states: dict[tuple[str, int], Any] = {}
        for batch in batches:
            for key, piece in _segments(batch):
                if key not in states:
                    states[key] = start()
                update(states[key], piece)
        keys = list(states)
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([k[0] for k in keys], pa.string()),
                pa.array([k[1] for k in keys], pa.int64()),
                pa.array([pickle.dumps(finish(states[k]), protocol=5) for k in keys], pa.binary()),
            ],
            names=["file", "block", "payload"],
        )

    return task


def run_segments(
    frame: DataFrame,
    file_order: list[str],
    start: Callable[[], Any],
    update: Callable[[Any, pa.RecordBatch], None],
    finish: Callable[[Any], Any],
) -> list[Any]:
    """Run the job on every partition of ``frame``; the partials in dataset order."""
    rows = frame.mapInArrow(segment_task(start, update, finish), RESULT_SCHEMA).collect()
    rank = {uri: i for i, uri in enumerate(file_order)}
    ordered = sorted(rows, key=lambda r: (rank.get(r["file"], len(rank)), r["file"], r["block"]))
    return [pickle.loads(r["payload"]) for r in ordered]


__all__ = ["BLOCK_COLUMN", "FILE_COLUMN", "run_segments", "segment_task"]
