"""The compact analysis configs a Model Monitor job definition points to (its ``ConfigUri``).

``BiasAnalysisConfig`` and ``ExplainabilityAnalysisConfig`` take the SDK's constructor arguments and
``to_dict()`` equals the SDK's ``_to_dict()``: no ``methods``/``dataset_type``/``predictor`` for bias
(the monitoring container computes pre- and post-training ``"all"`` on the captured records), SHAP
``methods`` plus a ``predictor`` for explainability. How to read captured records is not in these
files: it is in the ``EndpointInput`` / ``BatchTransformInput`` attributes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar

from airflow_provider_clarify.analysis.errors import ClarifyConfigError


def _fragment(obj: Any, method: str, name: str, accepted: str) -> dict[str, Any]:
    if isinstance(obj, dict):
        return copy.deepcopy(obj)
    getter = getattr(obj, method, None)
    if getter is None:
        raise ClarifyConfigError.invalid(name, obj, accepted)
    return getter()


def _check_headers(name: str, headers: Any) -> None:
    if headers is not None and (
        not isinstance(headers, list | tuple) or not all(isinstance(h, str) and h for h in headers)
    ):
        raise ClarifyConfigError.invalid(name, headers, "None or a list of column names")


@dataclass
class BiasAnalysisConfig:
    """Analysis config of ``ModelBiasMonitor`` (SDK ``BiasAnalysisConfig``).

    :param bias_config: a :class:`~airflow_provider_clarify.analysis.configs.BiasConfig` (or its dict).
    :param headers: column names of the merged records: features, then the label (for JSON Lines
        capture the label is the last header).
    :param label: the ground-truth column name.
    """

    bias_config: Any
    headers: list[str] | None = None
    label: str | None = None

    template_fields: ClassVar[tuple[str, ...]] = ("bias_config", "headers", "label")

    def to_dict(self) -> dict[str, Any]:
        _check_headers("headers", self.headers)
        config = _fragment(self.bias_config, "get_config", "bias_config", "a BiasConfig or its dict")
        if not config.get("facet"):
            raise ClarifyConfigError.invalid("bias_config", config, "a BiasConfig with at least one facet")
        if self.headers is not None:
            config["headers"] = list(self.headers)
        if self.label is not None:
            config["label"] = self.label
        if self.headers is not None and self.label is not None and self.label not in self.headers:
            raise ClarifyConfigError(
                f"label {self.label!r} is not in headers {self.headers!r}: the monitoring job names the "
                "merged columns with headers, features first and the ground-truth label last. Add the label "
                "to headers.",
                field="label",
                value=self.label,
                accepted="one of headers",
            )
        return config

    _to_dict = to_dict  # the SDK's name


@dataclass
class ExplainabilityAnalysisConfig:
    """Analysis config of ``ModelExplainabilityMonitor`` (SDK ``ExplainabilityAnalysisConfig``).

    :param explainability_config: a ``SHAPConfig`` (or its ``{"shap": {...}}`` dict).
    :param model_config: a ``ModelConfig`` (or its predictor dict).
    :param headers: feature names (no label).
    :param label_headers: names of the model's output scores (replace ``label0``... in the report).
    """

    explainability_config: Any
    model_config: Any
    headers: list[str] | None = None
    label_headers: list[str] | None = None

    template_fields: ClassVar[tuple[str, ...]] = (
        "explainability_config",
        "model_config",
        "headers",
        "label_headers",
    )

    def to_dict(self) -> dict[str, Any]:
        _check_headers("headers", self.headers)
        _check_headers("label_headers", self.label_headers)
        methods = _fragment(
            self.explainability_config,
            "get_explainability_config",
            "explainability_config",
            "a SHAPConfig or its {'shap': {...}} dict",
        )
        if "shap" not in methods:
            raise ClarifyConfigError.invalid(
                "explainability_config",
                methods,
                "a SHAPConfig: Model Monitor's feature-attribution drift compares SHAP values",
            )
        predictor = _fragment(
            self.model_config, "get_predictor_config", "model_config", "a ModelConfig or its dict"
        )
        config: dict[str, Any] = {"methods": methods, "predictor": predictor}
        if self.headers is not None:
            config["headers"] = list(self.headers)
        if self.label_headers is not None:
            predictor["label_headers"] = list(self.label_headers)
        return config

    _to_dict = to_dict
