"""Bias sections on Spark: the engine's two streaming passes, run per partition and merged.

:func:`~airflow_provider_clarify.engine.bias.compute_bias_sections` is used unchanged with two
hooks: its first pass (column profiles) and its counting pass (joint count tables, benefit-code
counts, flip-test rows) run as segment jobs on the executors, using the engine's own kernels
(``ColumnProfile.update`` and ``count_dataset``) on Arrow record batches, and are merged on the
driver in dataset order (:mod:`.partials`). Every metric is then evaluated from the merged counts
by the same code as on one machine, so counts are exact and floats identical, except GE, which is
evaluated exactly from the benefit-code counts (see ``docs/scale-out.md`` for the tolerance).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.engine.spark.partials import benefits_as_counts, merge_counts, merge_profile

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_clarify.engine.spark.dataset import SparkDataset


def _profiler(dataset: SparkDataset):
    def profile(profiles: dict[str, list]) -> None:
        fresh = copy.deepcopy(profiles)

        def start() -> dict:
            return copy.deepcopy(fresh)

        def update(state: dict, batch: pa.RecordBatch) -> None:
            for name, column_profiles in state.items():
                column = batch.column(batch.schema.get_field_index(name))
                for column_profile in column_profiles:
                    column_profile.update(column)

        parts = dataset.run(list(profiles), start, update, lambda s: s)
        for name, column_profiles in profiles.items():
            for i, target in enumerate(column_profiles):
                merge_profile(target, [part[name][i] for part in parts])

    return profile


def _counter(dataset: SparkDataset, columns: Sequence[str]):
    def count(**kwargs: Any):
        from airflow_provider_clarify.engine.bias.counts import count_dataset

        wanted = [c for c in columns if c in _needed(kwargs)]

        def update(state: list, batch: pa.RecordBatch) -> None:
            part = count_dataset(lambda cols: [batch.select(cols)], **kwargs)
            state.append(benefits_as_counts(part))

        parts = dataset.run(wanted, list, update, _merge_or_none)
        return merge_counts([part for part in parts if part is not None])  # settle() found rows

    return count


def _merge_or_none(parts: list):
    """A segment's counts (``None`` for a segment that owns no rows, e.g. a byte range inside one line)."""
    return merge_counts(parts) if parts else None


def _needed(kwargs: dict) -> set[str]:
    names = set(kwargs["facets"]) | {kwargs["label"]}
    if kwargs.get("predicted_label"):
        names.add(kwargs["predicted_label"])
    if kwargs.get("group") is not None:
        names.add(kwargs["group"].column)
    if kwargs.get("flip_test"):
        names.update(kwargs.get("flip_test_columns") or ())
    return names


def _ordered_batches(dataset: SparkDataset):
    """``batches(columns)`` collected to the driver in dataset order (rare paths only: the exact
    wording of a group variable's sort error needs the column in row order)."""

    def batches(columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        def update(state: list, batch: pa.RecordBatch) -> None:
            state.append(batch)

        for part in dataset.run(list(columns), list, update, lambda s: s):
            yield from part

    batches.warnings = tuple(dataset.warnings)  # type: ignore[attr-defined]  # the reader's, for the report
    return batches


def spark_bias_sections(dataset: SparkDataset, **kwargs: Any) -> dict:
    """``compute_bias_sections`` over a Spark dataset (same keyword arguments, minus the batches)."""
    from airflow_provider_clarify.engine.bias import compute_bias_sections

    return compute_bias_sections(
        _ordered_batches(dataset),
        profiler=_profiler(dataset),
        counter=_counter(dataset, dataset.column_names),
        num_rows=dataset.num_rows,
        available_columns=dataset.column_names,
        **kwargs,
    )


__all__ = ["spark_bias_sections"]
