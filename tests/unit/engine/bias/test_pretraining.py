"""Pre-training metrics on counts: closed forms and properties (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, strategies as st

from airflow_provider_clarify.engine.bias import pretraining as pre
from airflow_provider_clarify.engine.bias.counts import ConfusionCounts
from airflow_provider_clarify.engine.bias.errors import MetricFailure
from airflow_provider_clarify.engine.bias.inputs import EntryInputs


def inputs(a: ConfusionCounts, d: ConfusionCounts) -> EntryInputs:
    total = ConfusionCounts(a.tp + d.tp, a.fp + d.fp, a.fn + d.fn, a.tn + d.tn)
    return EntryInputs(
        a=a, d=d, total=total, subgroups=None, generalized_entropy=lambda: 0.0, flip_test=lambda: 0.0
    )


def labels(pos: int, neg: int) -> ConfusionCounts:
    return ConfusionCounts(tp=0, fp=0, fn=pos, tn=neg)


counts = st.tuples(st.integers(0, 500), st.integers(0, 500))


def test_main_dataset_closed_forms():
    """Main golden dataset, d = F: a has 4 of 7 positive, d 2 of 5."""
    x = inputs(labels(4, 3), labels(2, 3))
    assert pre.class_imbalance(x) == 2 / 12
    assert pre.difference_in_positive_proportions_in_labels(x) == 4 / 7 - 2 / 5
    assert abs(pre.kullback_leibler(x) - ((3 / 7) * math.log(5 / 7) + (4 / 7) * math.log(10 / 7))) < 1e-15
    assert pre.kolmogorov_smirnov(x) == 0.17142857142857143
    assert pre.total_variation_distance(x) == 0.1714285714285714


@given(counts, counts)
def test_ci_and_dpl_flip_sign_when_groups_swap(a, d):
    assume(sum(a) > 0 and sum(d) > 0)
    x, swapped = inputs(labels(*a), labels(*d)), inputs(labels(*d), labels(*a))
    assert pre.class_imbalance(x) == -pre.class_imbalance(swapped)
    assert pre.difference_in_positive_proportions_in_labels(
        x
    ) == -pre.difference_in_positive_proportions_in_labels(swapped)
    assert -1 < pre.class_imbalance(x) < 1


@given(counts, counts)
def test_distribution_metrics_bounds(a, d):
    x = inputs(labels(*a), labels(*d))
    shared = sum(1 for i in (0, 1) if a[i] > 0 and d[i] > 0)
    if shared == 0:
        with pytest.raises(MetricFailure, match="No instance of common facet found"):
            pre.jensen_shannon(x)
        return
    assert 0 <= pre.total_variation_distance(x) <= 1
    assert 0 <= pre.kolmogorov_smirnov(x) <= 1
    assert 0 <= pre.lp_norm(x) <= math.sqrt(2)
    if shared == 2:
        assert -1e-15 <= pre.jensen_shannon(x) <= math.log(2)
        assert pre.kullback_leibler(x) >= -1e-15
        swapped = inputs(labels(*d), labels(*a))
        assert abs(pre.jensen_shannon(x) - pre.jensen_shannon(swapped)) <= 1e-15
        assert pre.kolmogorov_smirnov(x) == pytest.approx(
            abs(pre.difference_in_positive_proportions_in_labels(x)), abs=1e-15
        )


def test_empty_groups_error_in_smclarify_order():
    with pytest.raises(MetricFailure, match=r"^CI: negated facet set is empty"):
        pre.class_imbalance(inputs(labels(0, 0), labels(0, 0)))
    with pytest.raises(MetricFailure, match=r"^Negative facet set is empty\.$"):
        pre.difference_in_positive_proportions_in_labels(inputs(labels(0, 0), labels(0, 0)))
    with pytest.raises(MetricFailure, match=r"^Facet set is empty\.$"):
        pre.difference_in_positive_proportions_in_labels(inputs(labels(1, 0), labels(0, 0)))
