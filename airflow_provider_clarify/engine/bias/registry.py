"""Metric names, descriptions and functions per stage, in smclarify's registration order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from airflow_provider_clarify.engine.bias import posttraining as post, pretraining as pre
from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError
from airflow_provider_clarify.engine.bias.inputs import EntryInputs


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric: short name, the ``description`` string emitted, and its function."""

    name: str
    description: str
    compute: Callable[[EntryInputs], float | int]


PRE_TRAINING_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("CI", "Class Imbalance (CI)", pre.class_imbalance),
    MetricSpec(
        "DPL",
        "Difference in Positive Proportions in Labels (DPL)",
        pre.difference_in_positive_proportions_in_labels,
    ),
    MetricSpec("KL", "Kullback-Liebler Divergence (KL)", pre.kullback_leibler),
    MetricSpec("JS", "Jensen-Shannon Divergence (JS)", pre.jensen_shannon),
    MetricSpec("LP", "L-p Norm (LP)", pre.lp_norm),
    MetricSpec("TVD", "Total Variation Distance (TVD)", pre.total_variation_distance),
    MetricSpec("KS", "Kolmogorov-Smirnov Distance (KS)", pre.kolmogorov_smirnov),
    MetricSpec(
        "CDDL",
        "Conditional Demographic Disparity in Labels (CDDL)",
        pre.conditional_demographic_disparity_in_labels,
    ),
)

POST_TRAINING_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "DPPL",
        "Difference in Positive Proportions in Predicted Labels (DPPL)",
        post.difference_in_positive_proportions_in_predicted_labels,
    ),
    MetricSpec("DI", "Disparate Impact (DI)", post.disparate_impact),
    MetricSpec(
        "DCA", "Difference in Conditional Acceptance (DCA)", post.difference_in_conditional_acceptance
    ),
    MetricSpec("DCR", "Difference in Conditional Rejection (DCR)", post.difference_in_conditional_rejection),
    MetricSpec("RD", "Recall Difference (RD)", post.recall_difference),
    MetricSpec("SD", "Specificity Difference (SD)", post.specificity_difference),
    MetricSpec("DAR", "Difference in Acceptance Rates (DAR)", post.difference_in_acceptance_rates),
    MetricSpec("DRR", "Difference in Rejection Rates (DRR)", post.difference_in_rejection_rates),
    MetricSpec("AD", "Accuracy Difference (AD)", post.accuracy_difference),
    MetricSpec(
        "CDDPL",
        "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
        post.conditional_demographic_disparity_in_predicted_labels,
    ),
    MetricSpec("TE", "Treatment Equality (TE)", post.treatment_equality),
    MetricSpec("FT", "Flip Test (FT)", post.flip_test),
    MetricSpec("GE", "Generalized Entropy (GE)", post.generalized_entropy),
)


def select_metrics(registered: tuple[MetricSpec, ...], methods: str | list | None) -> list[MetricSpec] | None:
    """smclarify's metric selection: ``"all"``/``["all"]`` -> every metric; else known names only.

    Returns ``None`` when the stage is not requested; the list is sorted by name (report order).
    An unknown name fails the whole report with smclarify's message.
    """
    if methods is None:
        return None
    names = [methods] if isinstance(methods, str) else list(methods)
    if names == ["all"]:
        chosen = list(registered)
    else:
        known = [spec.name for spec in registered]
        if not set(names).issubset(known):
            raise BiasAnalysisError(
                f"Invalid metric_name: metrics should be one of the registered metrics{known}"
            )
        chosen = [spec for spec in registered if spec.name in names]
    return sorted(chosen, key=lambda spec: spec.name)
