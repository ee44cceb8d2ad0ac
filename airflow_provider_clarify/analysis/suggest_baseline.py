"""What a Model Monitor baseline job leaves for the monitoring schedule (the SDK's ``suggest_baseline``).

A baseline is a normal Clarify job (``ModelBias``: pre- and post-training bias, all metrics;
``ModelExplainability``: SHAP) whose ``analysis.json`` is the constraints file. The monitoring job
definition then needs a compact analysis config and the ``EndpointInput`` attributes the SDK
remembers; both are derived here from the job's config, so the operator and any later monitoring
step agree. See ``docs/operators.md`` (ClarifySuggestBaselineOperator) for the shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The monitoring types a baseline can be suggested for.
MONITORING_TYPES: tuple[str, ...] = ("ModelBias", "ModelExplainability")


def monitoring_analysis_config(monitoring_type: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The compact analysis config a monitoring job definition needs, derived from the baseline job's config.

    ``ModelBias``: ``label_values_or_threshold``, ``facet``, ``group_variable``, ``headers``, ``label``;
    ``ModelExplainability``: ``methods.shap``, ``predictor`` (without ``label``/``probability``) and the
    feature ``headers`` (the label column left out).
    """
    if monitoring_type == "ModelBias":
        compact = {
            k: config[k] for k in ("label_values_or_threshold", "facet", "group_variable") if k in config
        }
        for key in ("headers", "label"):
            if config.get(key) is not None:
                compact[key] = config[key]
        return compact
    methods = config.get("methods", {})
    compact: dict[str, Any] = {"methods": {"shap": methods["shap"]}} if "shap" in methods else {"methods": {}}
    if "predictor" in config:
        compact["predictor"] = {
            k: v for k, v in config["predictor"].items() if k not in ("label", "probability")
        }
    headers = config.get("headers")
    if headers is not None:
        label = config.get("label")
        compact["headers"] = [h for h in headers if h != label]
    return compact


def monitoring_input_attributes(
    monitoring_type: str, *, data_config: Any, label_config: Any = None, model_scores: Any = None
) -> dict[str, Any]:
    """The ``EndpointInput`` attributes ``suggest_baseline`` remembers (only those that are set).

    :param data_config: the ``DataConfig`` (its ``features`` becomes ``features_attribute``).
    :param label_config: the ``ModelPredictedLabelConfig`` of a ``ModelBias`` baseline.
    :param model_scores: the ``model_scores`` of a ``ModelExplainability`` baseline (index, JSONPath,
        dict or ``ModelPredictedLabelConfig``).
    """
    attributes: dict[str, Any] = {}
    features = getattr(data_config, "features", None)
    if features is not None:
        attributes["features_attribute"] = features
    if monitoring_type == "ModelBias":
        if label_config is not None:
            for source, target in (
                ("label", "inference_attribute"),
                ("probability", "probability_attribute"),
            ):
                value = getattr(label_config, source, None)
                if value is not None:
                    attributes[target] = str(value)
            threshold = getattr(label_config, "probability_threshold", None)
            if threshold is not None:
                attributes["probability_threshold_attribute"] = threshold
    elif model_scores is not None:
        scores = model_scores
        if isinstance(scores, Mapping):
            scores = scores.get("label")
        elif not isinstance(scores, str | int):
            scores = getattr(scores, "label", None)
        attributes["inference_attribute"] = str(scores)
    return attributes
