"""Preflight for monitoring setups that make real executions fail late or say nothing useful.

Model Monitor reports a baseline that does not fit the analysis config as "Failure reason unknown"
(or silently compares nothing). These checks run before any job or execution starts and raise a
:class:`ClarifyConfigError` naming what differs and how to fix it.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError

_STAGES = ("pre_training_bias_metrics", "post_training_bias_metrics")


def _facet_keys(config: dict[str, Any]) -> set[tuple[str, str | None]]:
    keys = set()
    for facet in config.get("facet") or []:
        values = facet.get("value_or_threshold")
        text = None if values is None else ",".join(str(v) for v in values)
        keys.add((str(facet.get("name_or_index")), text))
    return keys


def _baseline_facets(baseline: dict[str, Any]) -> tuple[set[tuple[str, str]], set[str]]:
    facets: set[tuple[str, str]] = set()
    labels: set[str] = set()
    for stage in _STAGES:
        section = baseline.get(stage) or {}
        if section.get("label") is not None:
            labels.add(str(section["label"]))
        for name, groups in (section.get("facets") or {}).items():
            for group in groups or []:
                facets.add((str(name), str(group.get("value_or_threshold"))))
    return facets, labels


def check_bias_baseline(analysis_config: dict[str, Any], baseline: dict[str, Any]) -> None:
    """The baseline ``analysis.json`` has bias metrics for the config's label and every facet.

    Facets without values are one-vs-rest (every value is a group), so only their name is compared.
    """
    facets, labels = _baseline_facets(baseline)
    if not facets:
        raise ClarifyConfigError(
            "The baseline analysis.json has no bias metrics (no pre_training_bias_metrics or "
            "post_training_bias_metrics facets), so bias drift cannot be checked. Use the analysis.json of a "
            "bias baseline (ClarifySuggestBaselineOperator with a BiasConfig).",
            field="constraints",
        )
    label = analysis_config.get("label")
    if label is not None and labels and str(label) not in labels:
        raise ClarifyConfigError(
            f"The baseline was computed for label {sorted(labels)} but the analysis config's label is {label!r}: "
            "drift would compare different outcomes. Re-run the baseline with this label or fix 'label'.",
            field="label",
            value=label,
            accepted=f"one of {sorted(labels)}",
        )
    names = {name for name, _ in facets}
    missing = []
    for name, values in sorted(_facet_keys(analysis_config), key=str):
        interval = any(n == name and v.startswith(("(", "[")) for n, v in facets)  # a continuous threshold
        if name not in names or (values is not None and not interval and (name, values) not in facets):
            missing.append(name if values is None else f"{name}={values}")
    if missing:
        have = sorted(f"{n}={v}" for n, v in facets)
        raise ClarifyConfigError(
            f"The baseline has no metrics for facet(s) {missing} of the analysis config (it has {have}): "
            "every execution would report nothing to compare. Use a baseline computed with the same BiasConfig "
            "(facet names and values), or change the config's facets.",
            field="facet",
            value=missing,
            accepted=f"facets of the baseline: {have}",
        )


def check_explainability_baseline(baseline: dict[str, Any]) -> None:
    """The baseline has ``explanations.kernel_shap`` global SHAP values to rank features by."""
    shap = ((baseline.get("explanations") or {}).get("kernel_shap")) or {}
    if not any((entry or {}).get("global_shap_values") for entry in shap.values()):
        raise ClarifyConfigError(
            "The baseline analysis.json has no explanations.kernel_shap global_shap_values, so feature-attribution "
            "drift cannot be checked. Use the analysis.json of an explainability baseline (SHAPConfig).",
            field="constraints",
        )
