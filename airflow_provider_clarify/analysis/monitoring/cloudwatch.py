"""Model Monitor's CloudWatch metrics for an execution's ``analysis.json`` (namespaces, names, dimensions).

Bias: ``bias_metric_<SHORT>`` with dimensions ``Endpoint`` (if any), ``MonitoringSchedule``,
``BiasStage`` (``Pre-training`` / ``Post-Training``), ``Label``, ``LabelValue``, ``Facet``,
``FacetValue``. Feature attribution: ``feature_<name>`` (global SHAP) and ``ExpectedValue``, with
``Endpoint``, ``MonitoringSchedule``, ``ExplainabilityMethod`` (``KernelShap``), ``Label``,
``ValueType`` (``GlobalShapValues`` / ``ExpectedValue``). Infinities are published as
±2.348543e108; null or failed metrics are not published. Pure: builds the ``MetricData`` lists that
``PutMetricData`` takes.
"""

from __future__ import annotations

import math
from typing import Any

INFINITY = 2.348543e108
MAX_DATA_PER_CALL = 1000
_NAMESPACES = {
    ("ModelBias", True): "aws/sagemaker/Endpoints/bias-metrics",
    ("ModelBias", False): "aws/sagemaker/ModelMonitoring/bias-metrics",
    ("ModelExplainability", True): "aws/sagemaker/Endpoints/explainability-metrics",
    ("ModelExplainability", False): "aws/sagemaker/ModelMonitoring/explainability-metrics",
}
_STAGES = (("pre_training_bias_metrics", "Pre-training"), ("post_training_bias_metrics", "Post-Training"))


def namespace(monitoring_type: str, endpoint_name: str | None) -> str:
    """The namespace: ``Endpoints`` for an endpoint input, ``ModelMonitoring`` for batch transform."""
    return _NAMESPACES[(monitoring_type, bool(endpoint_name))]


def _value(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    if math.isnan(raw):
        return None
    if math.isinf(raw):
        return math.copysign(INFINITY, raw)
    return float(raw)


def _dims(pairs: list[tuple[str, Any]]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": str(value)} for name, value in pairs if value is not None]


def metric_data(
    analysis: dict[str, Any],
    monitoring_type: str,
    *,
    monitoring_schedule: str,
    endpoint_name: str | None = None,
) -> list[dict[str, Any]]:
    """The ``MetricData`` entries Model Monitor publishes for ``analysis``."""
    data: list[dict[str, Any]] = []
    base = [("Endpoint", endpoint_name), ("MonitoringSchedule", monitoring_schedule)]
    if monitoring_type == "ModelBias":
        for key, stage in _STAGES:
            section = analysis.get(key) or {}
            for facet, groups in (section.get("facets") or {}).items():
                for group in groups or []:
                    for metric in group.get("metrics") or []:
                        value = _value(metric.get("value"))
                        if value is None or metric.get("error"):
                            continue
                        dims = [
                            *base,
                            ("BiasStage", stage),
                            ("Label", section.get("label")),
                            ("LabelValue", section.get("label_value_or_threshold")),
                            ("Facet", facet),
                            ("FacetValue", group.get("value_or_threshold")),
                        ]
                        data.append(
                            {
                                "MetricName": f"bias_metric_{metric['name']}",
                                "Dimensions": _dims(dims),
                                "Value": value,
                            }
                        )
        return data
    for label, entry in ((analysis.get("explanations") or {}).get("kernel_shap") or {}).items():
        common = [*base, ("ExplainabilityMethod", "KernelShap"), ("Label", label)]
        for feature, raw in (entry.get("global_shap_values") or {}).items():
            value = _value(raw)
            if value is not None:
                dims = _dims([*common, ("ValueType", "GlobalShapValues")])
                data.append({"MetricName": f"feature_{feature}", "Dimensions": dims, "Value": value})
        expected = _value(entry.get("expected_value"))
        if expected is not None:
            dims = _dims([*common, ("ValueType", "ExpectedValue")])
            data.append({"MetricName": "ExpectedValue", "Dimensions": dims, "Value": expected})
    return data


def batches(data: list[dict[str, Any]], size: int = MAX_DATA_PER_CALL) -> list[list[dict[str, Any]]]:
    """``data`` in chunks PutMetricData accepts."""
    return [data[i : i + size] for i in range(0, len(data), size)]
