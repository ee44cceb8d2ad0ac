"""Post-training metrics on counts: closed forms, infinities and properties (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, strategies as st

from airflow_provider_clarify.engine.bias import posttraining as post
from airflow_provider_clarify.engine.bias.counts import ConfusionCounts
from airflow_provider_clarify.engine.bias.errors import MetricFailure
from tests.unit.engine.bias.test_pretraining import inputs

confusion = st.builds(
    ConfusionCounts, st.integers(0, 200), st.integers(0, 200), st.integers(0, 200), st.integers(0, 200)
)

A_MAIN = ConfusionCounts(tp=3, fp=2, fn=1, tn=1)
D_MAIN = ConfusionCounts(tp=1, fp=1, fn=1, tn=2)


def test_main_dataset_closed_forms():
    """Main golden dataset, d = F: closed forms."""
    x = inputs(A_MAIN, D_MAIN)
    assert post.difference_in_positive_proportions_in_predicted_labels(x) == 5 / 7 - 2 / 5
    assert post.disparate_impact(x) == (2 / 5) / (5 / 7)
    assert post.difference_in_conditional_acceptance(x) == 4 / 5 - 2 / 2
    assert post.difference_in_conditional_rejection(x) == 3 / 3 - 3 / 2
    assert post.recall_difference(x) == 3 / 4 - 1 / 2
    assert post.specificity_difference(x) == 2 / 3 - 1 / 3
    assert post.difference_in_acceptance_rates(x) == 3 / 5 - 1 / 2
    assert post.difference_in_rejection_rates(x) == 2 / 3 - 1 / 2
    assert post.accuracy_difference(x) == 4 / 7 - 3 / 5
    assert post.treatment_equality(x) == 1 / 1 - 1 / 2


def test_both_infinite_ratios_give_zero_with_smclarify_types():
    every_positive = inputs(ConfusionCounts(tp=1, fp=1, fn=0, tn=0), ConfusionCounts(tp=1, fp=1, fn=0, tn=0))
    dcr = post.difference_in_conditional_rejection(every_positive)
    assert dcr == 0
    assert type(dcr) is int
    no_false_positive = inputs(
        ConfusionCounts(tp=1, fp=0, fn=1, tn=1), ConfusionCounts(tp=1, fp=0, fn=2, tn=1)
    )
    te = post.treatment_equality(no_false_positive)
    assert te == 0.0
    assert type(te) is float


def test_one_infinite_ratio_gives_infinity():
    x = inputs(ConfusionCounts(tp=0, fp=0, fn=2, tn=1), ConfusionCounts(tp=1, fp=1, fn=0, tn=1))
    assert post.difference_in_conditional_acceptance(x) == math.inf
    assert post.disparate_impact(x) == math.inf
    assert post.treatment_equality(x) == -math.inf


@given(confusion, confusion)
def test_dppl_flips_sign_and_bounded_metrics_stay_in_range(a, d):
    assume(a.n > 0 and d.n > 0)
    x, swapped = inputs(a, d), inputs(d, a)
    assert post.difference_in_positive_proportions_in_predicted_labels(
        x
    ) == -post.difference_in_positive_proportions_in_predicted_labels(swapped)
    for metric in (
        post.recall_difference,
        post.specificity_difference,
        post.difference_in_acceptance_rates,
        post.difference_in_rejection_rates,
        post.accuracy_difference,
    ):
        assert -1 <= metric(x) <= 1
        assert metric(x) == -metric(swapped)
    assert post.disparate_impact(x) >= 0


@pytest.mark.parametrize(
    ("metric", "d_empty", "a_empty"),
    [
        (post.disparate_impact, "Facet set is empty", "Negated facet set is empty"),
        (
            post.difference_in_conditional_acceptance,
            "DCO: Facet set is empty",
            "DCO: Negated Facet set is empty",
        ),
        (post.difference_in_acceptance_rates, "DLR: Facet set is empty", "DLR: Negated Facet set is empty"),
        (post.recall_difference, "DLA: Facet set is empty", "DLA: Negated Facet set is empty"),
        (post.accuracy_difference, "Facet set is empty", "Negated Facet set is empty"),
        (post.treatment_equality, "Facet set is empty", "Negated Facet set is empty"),
    ],
)
def test_empty_group_messages(metric, d_empty, a_empty):
    empty = ConfusionCounts(0, 0, 0, 0)
    with pytest.raises(MetricFailure) as err:
        metric(inputs(A_MAIN, empty))
    assert str(err.value) == d_empty
    with pytest.raises(MetricFailure) as err:
        metric(inputs(empty, D_MAIN))
    assert str(err.value) == a_empty
