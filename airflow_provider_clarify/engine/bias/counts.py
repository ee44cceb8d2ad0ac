"""Group counts, computed in one streaming pass over the dataset.

Every metric except FT is a function of counts. For each facet the pass fills a joint table

    T[f, g, y, ŷ] = number of rows with facet code f, subgroup g, label y and prediction ŷ

(one ``numpy.bincount`` per batch). The 2×2 confusion matrix of any group, and the per-subgroup
counts CDDL/CDDPL need, are sums over this table. GE needs only the number of rows per benefit code
``b = ŷ - y + 1`` (false negatives, correct predictions, false positives), which is the total table
summed over facet and subgroup (:func:`~.generalized_entropy.generalized_entropy_from_counts`), so
nothing is kept per row; FT keeps the numeric features, each column in its narrowest exact dtype
(:mod:`.feature_store`), the facet codes in the smallest integer type and the predictions (only when
FT is requested).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from airflow_provider_clarify.engine import progress
from airflow_provider_clarify.engine.bias.arithmetic import PairwiseCodeSum
from airflow_provider_clarify.engine.bias.columns import CategoricalRule, ContinuousRule, float_values
from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError
from airflow_provider_clarify.engine.bias.feature_store import FeatureColumns
from airflow_provider_clarify.engine.bias.groups import FacetEncoding, GroupEncoding

Rule = CategoricalRule | ContinuousRule


@dataclass(frozen=True)
class ConfusionCounts:
    """Counts of one group: ``n`` rows, ``TP``/``FP``/``FN``/``TN`` from label ``y`` and prediction ``ŷ``."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def from_matrix(cls, m: np.ndarray) -> ConfusionCounts:
        """``m[y, ŷ]`` (2×2) -> counts."""
        return cls(tp=int(m[1, 1]), fp=int(m[0, 1]), fn=int(m[1, 0]), tn=int(m[0, 0]))

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def label_pos(self) -> int:
        """``n(1)``: rows with a positive label."""
        return self.tp + self.fn

    @property
    def label_neg(self) -> int:
        return self.fp + self.tn

    @property
    def pred_pos(self) -> int:
        """``n̂(1)``: rows with a positive prediction."""
        return self.tp + self.fp

    @property
    def pred_neg(self) -> int:
        return self.fn + self.tn


@dataclass
class FlipTestData:
    """Numeric features (rows in dataset order) and the feature columns left out of them.

    ``features`` is a :class:`~.feature_store.FeatureColumns` (one pass of this engine) or a float64
    ``(n, m)`` matrix (the Spark driver's merge of segments); both give the same float64 values.
    """

    features: FeatureColumns | np.ndarray
    used_columns: list[str]
    non_numeric_columns: list[str]


@dataclass
class DatasetCounts:
    """Everything the metrics need, gathered by :func:`count_dataset`."""

    tables: dict[str, np.ndarray]  # facet column -> T[f, g, y, ŷ]
    facet_codes: dict[str, np.ndarray] = field(default_factory=dict)  # only for FT; smallest uint dtype
    predictions: np.ndarray | None = None  # ŷ per row, only when FT is requested
    benefit_codes: np.ndarray | None = None  # ŷ - y + 1 per row (uint8), only without ``benefit_sum``
    benefit_counts: np.ndarray | None = None  # rows per benefit code 0/1/2, when GE is requested
    benefit_sum: PairwiseCodeSum | None = None  # GE's pairwise sum, streamed (see count_dataset)
    flip_test: FlipTestData | None = None
    rows: int = 0


def benefit_counts(counts: DatasetCounts) -> np.ndarray:
    """Rows per benefit code ``ŷ - y + 1``: [false negatives, correct predictions, false positives].

    Read off the joint table of any facet summed over facet codes and subgroups (every row has
    exactly one facet code), so GE needs no per-row data.
    """
    table = next(iter(counts.tables.values()), None)
    if table is None:
        return np.zeros(3, dtype=np.int64)
    m = table.sum(axis=(0, 1))  # m[y, ŷ]
    return np.array([m[1, 0], m[0, 0] + m[1, 1], m[0, 1]], dtype=np.int64)


def batch_column(batch: pa.RecordBatch, name: str) -> pa.Array:
    """Column ``name`` of ``batch``; a missing column is reported as :class:`BiasAnalysisError`."""
    index = batch.schema.get_field_index(name)
    if index < 0:
        raise BiasAnalysisError(f"Column '{name}' is not present in the dataset")
    return batch.column(index)


def stream(
    batches: Callable[[Sequence[str]], Iterable[pa.RecordBatch]], columns: Sequence[str]
) -> Iterator[pa.RecordBatch]:
    """``batches(columns)``, with a missing column reported as :class:`BiasAnalysisError`."""
    try:
        yield from progress.track(
            "Bias metrics", batches(list(columns)), "rows", lambda b: b.num_rows, batches
        )
    except KeyError as exc:
        raise BiasAnalysisError(
            f"A column needed for bias metrics is not present in the dataset: {exc} (requested: {list(columns)})"
        ) from None


def is_numeric_type(arrow_type: pa.DataType) -> bool:
    """Numeric or boolean in pandas' sense (what FT accepts); dictionaries are pandas categories."""
    return (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_null(arrow_type)
    )


def _code_dtype(num_codes: int) -> np.dtype:
    """The smallest unsigned integer dtype holding codes ``0 .. num_codes - 1``."""
    return np.min_scalar_type(max(num_codes - 1, 0))


def count_dataset(
    batches: Callable[[Sequence[str]], Iterable[pa.RecordBatch]],
    *,
    facets: dict[str, FacetEncoding],
    label_rule: Rule,
    label: str,
    prediction_rule: Rule | None = None,
    predicted_label: str | None = None,
    group: GroupEncoding | None = None,
    keep_benefits: bool = False,
    flip_test: bool = False,
    flip_test_columns: Sequence[str] = (),
    benefit_sum: PairwiseCodeSum | None = None,
) -> DatasetCounts:
    """One pass over the needed columns; returns the joint count tables (and GE/FT row data).

    With ``keep_benefits`` GE's inputs are gathered: the benefit-code counts always, and either
    ``benefit_sum`` fed batch by batch (when the first pass fixed ``N`` and ``μ``, see
    :mod:`.generalized_entropy`) or, without it, the per-row benefit codes.
    """
    columns = list(dict.fromkeys([*facets, label]))
    if prediction_rule is not None and predicted_label is not None:
        columns.append(predicted_label)
    if group is not None:
        columns.append(group.column)
    want_ft = flip_test
    if want_ft:
        columns.extend(c for c in flip_test_columns if c not in columns)
    columns = list(dict.fromkeys(columns))

    num_groups = group.num_codes if group is not None else 1
    tables = {name: np.zeros(enc.num_codes * num_groups * 4, dtype=np.int64) for name, enc in facets.items()}
    benefit_parts: list[np.ndarray] = []
    code_parts: dict[str, list[np.ndarray]] = {name: [] for name in facets}
    prediction_parts: list[np.ndarray] = []
    store: FeatureColumns | None = None
    code_dtypes = {name: _code_dtype(enc.num_codes) for name, enc in facets.items()}
    numeric: list[str] | None = None
    non_numeric: list[str] = []
    rows = 0

    for batch in stream(batches, columns):
        n = batch.num_rows
        if n == 0:
            continue
        rows += n
        y = label_rule.select(batch_column(batch, label))
        if prediction_rule is not None and predicted_label is not None:
            yhat = prediction_rule.select(batch_column(batch, predicted_label))
        else:
            yhat = np.zeros(n, dtype=bool)
        outcome = y.astype(np.int64) * 2 + yhat
        if group is not None:
            outcome = outcome + group.codes(batch_column(batch, group.column)) * 4
        if keep_benefits:
            benefits = (yhat.astype(np.int8) - y.astype(np.int8) + 1).astype(np.uint8)
            if benefit_sum is not None:
                if benefit_sum.count + n > benefit_sum.n:
                    raise BiasAnalysisError(
                        f"The dataset changed while it was read: the first pass saw {benefit_sum.n} rows, "
                        "the second more. Do not modify the input while the analysis runs."
                    )
                benefit_sum.add(benefits)
            else:
                benefit_parts.append(benefits)
        for name, encoding in facets.items():
            codes = encoding.codes(batch_column(batch, name))
            index = codes * (num_groups * 4) + outcome
            tables[name] += np.bincount(index, minlength=tables[name].size)
            if want_ft:
                code_parts[name].append(codes.astype(code_dtypes[name]))
        if want_ft:
            if numeric is None:
                numeric = [c for c in flip_test_columns if is_numeric_type(batch_column(batch, c).type)]
                non_numeric = [c for c in flip_test_columns if c not in numeric]
                store = FeatureColumns(len(numeric))
            assert numeric is not None
            assert store is not None
            prediction_parts.append(yhat)
            for j, name in enumerate(numeric):
                store.append(j, float_values(batch_column(batch, name)))

    result = DatasetCounts(
        tables={
            name: table.reshape(facets[name].num_codes, num_groups, 2, 2) for name, table in tables.items()
        },
        rows=rows,
    )
    if keep_benefits:
        result.benefit_counts = benefit_counts(result)
        if benefit_sum is not None:
            if benefit_sum.count != rows:
                raise BiasAnalysisError(
                    f"The dataset changed while it was read: the first pass saw {benefit_sum.n} rows, "
                    f"the second {rows}. Do not modify the input while the analysis runs."
                )
            result.benefit_sum = benefit_sum
        else:
            result.benefit_codes = (
                np.concatenate(benefit_parts) if benefit_parts else np.zeros(0, dtype=np.uint8)
            )
    if want_ft:
        result.flip_test = FlipTestData(
            features=store if store is not None else np.zeros((0, 0)),
            used_columns=list(numeric or []),
            non_numeric_columns=non_numeric,
        )
        result.predictions = np.concatenate(prediction_parts) if prediction_parts else np.zeros(0, dtype=bool)
        result.facet_codes = {
            name: np.concatenate(parts) if parts else np.zeros(0, dtype=code_dtypes[name])
            for name, parts in code_parts.items()
        }
    return result
