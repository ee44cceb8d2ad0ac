"""One plain sentence per bias metric, saying what it measures and which direction is "unfair".

Used by the HTML report (each metric's row) and by the fairness-history page (each chart's caption).
"d" is the facet group the audit names (e.g. ``gender = female``), "the others" everyone else. The
directions follow the definitions in docs/bias-metrics.md: e.g. DPL = q_a - q_d, so a positive value
means the others get the positive label more often than d.
Pure standard library, cheap to import.
"""

from __future__ import annotations

#: metric -> (what it measures, when it is unfair to group d)
METRIC_SENTENCES: dict[str, tuple[str, str]] = {
    "CI": (
        "Class imbalance: how much smaller group d is than the others in the data (n_a - n_d) / n.",
        "Positive means d is under-represented; near +1, a model sees too few examples of d.",
    ),
    "DPL": (
        "Difference in the share of positive labels: the others' rate minus d's rate.",
        "Positive means d is labelled positive less often than the others.",
    ),
    "KL": (
        "Kullback-Leibler divergence of the others' label distribution from d's.",
        "Larger means the label distributions differ more; 0 means they are the same.",
    ),
    "JS": (
        "Jensen-Shannon divergence between the label distributions of d and the others.",
        "Larger means the label distributions differ more; 0 means they are the same.",
    ),
    "LP": (
        "L2 distance between the label distributions of d and the others.",
        "Larger means the label distributions differ more; 0 means they are the same.",
    ),
    "TVD": (
        "Total variation distance between the label distributions of d and the others.",
        "Larger means the label distributions differ more; 0 means they are the same.",
    ),
    "KS": (
        "Largest gap between the label distributions of d and the others.",
        "Larger means the label distributions differ more; 0 means they are the same.",
    ),
    "CDDL": (
        "Demographic disparity in the labels, averaged over the subgroups of the group variable.",
        "Positive means d gets a larger share of the rejections than of the acceptances.",
    ),
    "DPPL": (
        "Difference in the share of positive predictions: the others' rate minus d's rate.",
        "Positive means the model predicts the positive outcome for d less often.",
    ),
    "DI": (
        "Disparate impact: d's rate of positive predictions divided by the others' rate.",
        "Below 1 means d gets fewer positive predictions (the four-fifths rule flags values under 0.8).",
    ),
    "DCA": (
        "Difference in conditional acceptance: observed over predicted positives, others minus d.",
        "Negative means d is accepted less than its labels warrant relative to the others.",
    ),
    "DCR": (
        "Difference in conditional rejection: observed over predicted negatives, d minus the others.",
        "Negative means d is rejected more than its labels warrant relative to the others.",
    ),
    "RD": (
        "Recall difference: the others' true-positive rate minus d's.",
        "Positive means qualified members of d are missed more often.",
    ),
    "SD": (
        "Specificity difference: d's true-negative rate minus the others'.",
        "Negative means members of d who should be rejected are more often accepted; positive favours d.",
    ),
    "DAR": (
        "Difference in acceptance rates (precision): the others' precision minus d's.",
        "Positive means the model's positive predictions are less reliable for d.",
    ),
    "DRR": (
        "Difference in rejection rates: d's negative predictive value minus the others'.",
        "Negative means d's rejections are more often wrong than the others'.",
    ),
    "AD": (
        "Accuracy difference: the others' accuracy minus d's.",
        "Positive means the model is less accurate for d.",
    ),
    "CDDPL": (
        "Demographic disparity in the predictions, averaged over the subgroups of the group variable.",
        "Positive means d gets a larger share of the predicted rejections than of the acceptances.",
    ),
    "TE": (
        "Treatment equality: d's ratio of false negatives to false positives minus the others'.",
        "Positive means d's errors lean more towards wrongful rejections.",
    ),
    "FT": (
        "Flip test: how often d's members would be treated differently if they were like the others.",
        "Positive means d's members would more often get the positive outcome as one of the others.",
    ),
    "GE": (
        "Generalized entropy of the benefits the predictions give each individual.",
        "Larger means the benefits are spread less evenly; 0 means everyone is treated alike.",
    ),
}


def metric_sentence(metric: str) -> str | None:
    """The plain sentence for ``metric`` (case-insensitive), or ``None`` for an unknown metric."""
    entry = METRIC_SENTENCES.get(str(metric).upper())
    return f"{entry[0]} {entry[1]}" if entry else None
