"""Facet groups and group-variable subgroups (docs/bias-metrics.md, "Groups and outcomes" and CDD).

A facet yields one or more *entries*, each naming a sensitive group ``d`` (the rest is ``a``):

* categorical facet without values: one entry per distinct value in order of first appearance,
  ``d = (facet == v)``; a missing value gives the entry ``"nan"`` whose ``d`` is empty;
* categorical facet with values: one entry, ``d = facet matches any value``, text ``"v1,v2"``;
* continuous facet: one entry, ``d = facet > t``, text ``"(t, max]"``.

Every row gets an integer *facet code* so that one ``bincount`` per batch counts all entries at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_clarify.engine.bias.columns import (
    CategoricalRule,
    ColumnProfile,
    ContinuousRule,
    Family,
    canonical,
    python_value_text,
)


def _value_codes(raw: pa.Array, family: Family, values: pa.Array, missing_code: int) -> np.ndarray:
    """Each row's position in ``values`` (after decoding to ``family``); ``missing_code`` when absent."""
    index = pc.index_in(canonical(raw, family), value_set=values)
    index = pc.fill_null(index, missing_code)
    return np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.int64)


@dataclass(frozen=True)
class FacetEntry:
    """One reported facet group: its ``value_or_threshold`` text and its facet code (``None``: empty)."""

    text: str
    code: int | None


@dataclass
class FacetEncoding:
    """Maps a facet column's batches to facet codes ``0..num_codes-1``.

    For a selection (values or threshold) code 1 is ``d`` and code 0 is ``a``. For one-vs-rest the
    codes index the distinct values and the last code holds missing values.
    """

    column: str
    entries: list[FacetEntry]
    num_codes: int
    family: Family
    rule: CategoricalRule | ContinuousRule | None = None
    distinct: pa.Array | None = None

    def codes(self, raw: pa.Array) -> np.ndarray:
        if self.rule is not None:
            return self.rule.select(raw).astype(np.int64)
        return _value_codes(raw, self.family, self.distinct, self.num_codes - 1)


def one_vs_rest(profile: ColumnProfile) -> FacetEncoding:
    """Entries for every distinct value of a categorical facet, in order of first appearance."""
    assert profile.distinct is not None
    family = profile.family or Family.STR
    ordered = profile.distinct.values()
    non_null = pc.drop_null(ordered) if len(ordered) else pa.array([], type=pa.string())
    if family is Family.FLOAT:
        non_null = pc.filter(non_null, pc.invert(pc.is_nan(non_null)))
    entries: list[FacetEntry] = []
    code = 0
    nan_seen = False
    for value in ordered.to_pylist():
        if value is None or (isinstance(value, float) and value != value):
            if not nan_seen:
                entries.append(FacetEntry("nan", None))
                nan_seen = True
            continue
        entries.append(FacetEntry(python_value_text(value, profile.pandas_family), code))
        code += 1
    return FacetEncoding(
        column=profile.name,
        entries=entries,
        num_codes=len(non_null) + 1,
        family=family,
        distinct=non_null,
    )


def selection(column: str, text: str, rule: CategoricalRule | ContinuousRule) -> FacetEncoding:
    """A single entry whose ``d`` rows are those the rule selects."""
    return FacetEncoding(
        column=column, entries=[FacetEntry(text, 1)], num_codes=2, family=rule.family, rule=rule
    )


@dataclass
class GroupEncoding:
    """Subgroups of the group variable in ``numpy.unique`` order, plus the missing-value slot.

    ``codes`` maps each row to its subgroup index; rows with a missing value get the last code
    (``num_codes - 1``) and are excluded from every subgroup. ``nan_slot``: smclarify's
    ``numpy.unique`` over a float column keeps one NaN "subgroup" that matches no row; it adds a zero
    term at the end of the CDD sums, which matters for bit-exact pairwise summation. ``error``: the
    message numpy raised while sorting mixed-type values (the CDD metrics report it).
    """

    column: str
    family: Family
    sorted_values: pa.Array
    nan_slot: bool
    error: str | None = None

    @property
    def num_codes(self) -> int:
        return len(self.sorted_values) + 1

    def codes(self, raw: pa.Array) -> np.ndarray:
        return _value_codes(raw, self.family, self.sorted_values, self.num_codes - 1)


def group_encoding(profile: ColumnProfile) -> GroupEncoding:
    """Sort the group variable's distinct values like ``numpy.unique`` on the pandas column."""
    assert profile.distinct is not None
    family = profile.family or Family.STR
    values = profile.distinct.values()
    non_null = pc.drop_null(values) if len(values) else pa.array([], type=pa.string())
    has_missing = values.null_count > 0
    if family is Family.FLOAT:
        nan_mask = pc.is_nan(non_null)
        has_missing = has_missing or bool(pc.any(nan_mask).as_py())
        non_null = pc.filter(non_null, pc.invert(nan_mask))
    error = None
    if has_missing and profile.pandas_family in (Family.STR, Family.BOOL):
        # pandas holds missing strings/booleans as float NaN in an object column: numpy.unique then
        # compares NaN with str and raises TypeError (best effort: sorted over the distinct values).
        objects = np.array([float("nan") if v is None else v for v in values.to_pylist()], dtype=object)
        try:
            np.unique(objects)
        except TypeError as exc:
            error = str(exc)
    ordered = pc.take(non_null, pc.sort_indices(non_null)) if len(non_null) else non_null
    nan_slot = has_missing and profile.pandas_family is Family.FLOAT
    return GroupEncoding(
        column=profile.name, family=family, sorted_values=ordered, nan_slot=nan_slot, error=error
    )
