"""Merging what the partitions computed into what one streaming pass would have computed.

Every partial belongs to a *segment* (:mod:`.sources`: a byte range of a CSV file, a Parquet row
group, a JSON Lines file). Segments are merged in dataset order (files in the engine's sorted order,
then byte offset or row group), so facts that depend on row order (a column's first value, distinct values in order of
first appearance, the flip test's rows) come out exactly as the single-machine engine's.

* Column profiles (first pass): row and missing counts add up, maxima take the maximum, distinct
  values are concatenated in segment order and made unique (first appearance kept).
* Counts (second pass): the joint tables ``T[f, g, y, ŷ]`` and the benefit-code counts add up
  (integers: exact); the flip test's rows are concatenated in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_clarify.engine.bias.columns import ColumnProfile
    from airflow_provider_clarify.engine.bias.counts import DatasetCounts


def merge_profile(target: ColumnProfile, parts: Sequence[ColumnProfile]) -> None:
    """Fold the segment profiles ``parts`` (dataset order) into the fresh profile ``target``."""
    from airflow_provider_clarify.engine.bias.columns import DistinctTracker, match_value_set

    parts = [p for p in parts if p.family is not None and p.rows]
    if not parts:
        return
    first = parts[0]
    target.family, target.is_category = first.family, first.is_category
    if first.distinct is not None:
        target.distinct = DistinctTracker(target.distinct_limit, on_exceed=target._note_matches)
    if target.values:
        target._match_set = match_value_set(target.values, target.family)
    target.first_value, target.first_is_null = first.first_value, first.first_is_null
    maxima = [p.max_value for p in parts if p.max_value is not None]
    target.max_value = max(maxima) if maxima else None
    target.rows = sum(p.rows for p in parts)
    target.nulls = sum(p.nulls for p in parts)
    target.int_castable = all(p.int_castable for p in parts)
    for part in parts:
        if part.distinct is None:
            continue
        values = part.distinct.values()  # may find the limit exceeded (then noting the part's matches)
        if part.distinct.exceeded:
            if target.distinct is not None and not target.distinct.exceeded:
                target.distinct.exceeded = True
                target.distinct._compact = None
                target.distinct._parts = []
            continue
        target._note_matches(values)
        if target.distinct is not None:
            target.distinct.add(values)
    target.any_match = target.any_match or any(p.any_match for p in parts)


def merge_counts(parts: Sequence[DatasetCounts]) -> DatasetCounts:
    """The counts of the whole dataset from the counts of its segments (dataset order)."""
    import numpy as np

    from airflow_provider_clarify.engine.bias.counts import DatasetCounts, FlipTestData

    if not parts:
        raise ValueError("no partial counts to merge")
    tables = {name: sum(p.tables[name] for p in parts) for name in parts[0].tables}
    result = DatasetCounts(tables=tables, rows=sum(p.rows for p in parts))
    if parts[0].benefit_counts is not None:
        result.benefit_counts = np.sum([p.benefit_counts for p in parts], axis=0)
    if parts[0].flip_test is not None:
        with_rows = [p for p in parts if p.rows] or list(parts[:1])
        template = with_rows[0].flip_test
        assert template is not None
        result.flip_test = FlipTestData(
            features=np.concatenate([p.flip_test.features for p in parts if p.flip_test is not None])
            if any(p.rows for p in parts)
            else template.features,
            used_columns=template.used_columns,
            non_numeric_columns=template.non_numeric_columns,
        )
        result.predictions = np.concatenate([p.predictions for p in parts if p.predictions is not None])
        result.facet_codes = {
            name: np.concatenate([p.facet_codes[name] for p in parts]) for name in parts[0].facet_codes
        }
    return result


def benefits_as_counts(counts: DatasetCounts) -> DatasetCounts:
    """Replace the per-row benefit codes by their counts (what partitions send to the driver)."""
    import numpy as np

    if counts.benefit_codes is not None:
        counts.benefit_counts = np.bincount(counts.benefit_codes, minlength=3)[:3].astype(np.int64)
        counts.benefit_codes = None
    return counts


__all__ = ["benefits_as_counts", "merge_counts", "merge_profile"]
