"""Operator arguments to config objects: a plain dict of SDK keyword arguments becomes its config class.

DAG authors may pass ``data_config={"s3_data_input_path": ..., ...}`` instead of ``DataConfig(...)``
(dicts survive DAG serialisation and Jinja rendering). These functions turn such dicts into the
config classes once, when the plan is built (:mod:`.plan`); objects pass through unchanged. A dict
with a keyword the class does not take fails with a :class:`ClarifyConfigError` naming the argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_clarify.analysis import configs
from airflow_provider_clarify.analysis.errors import ClarifyConfigError

#: The config class each config-object argument of the operators becomes.
CONFIG_CLASSES: dict[str, str] = {
    "data_config": "DataConfig",
    "bias_config": "BiasConfig",
    "model_config": "ModelConfig",
    "model_predicted_label_config": "ModelPredictedLabelConfig",
}
_EXPLAINABILITY_CLASSES = {"shap": "SHAPConfig", "pdp": "PDPConfig"}


def config_object(field: str, value: Any, class_name: str | None = None) -> Any:
    """``value`` as the config class of argument ``field`` (a dict is converted, anything else is kept)."""
    if value is None or not isinstance(value, Mapping):
        return value
    class_name = class_name or CONFIG_CLASSES[field.split(".")[-1].split("[")[0]]
    cls = getattr(configs, class_name)
    try:
        return cls(**dict(value))
    except TypeError as err:
        raise ClarifyConfigError(
            f"{field} has an unknown or missing keyword for {class_name}: {err}",
            field=field,
            value=dict(value),
            accepted=f"the keyword arguments of {class_name}",
        ) from err


def explainability_configs(value: Any, field: str = "explainability_config") -> Any:
    """``SHAPConfig``/``PDPConfig`` objects, from objects or dicts ``{"shap": {...}}`` / ``{"pdp": {...}}`` (or a list)."""
    if isinstance(value, list | tuple):
        items: list[Any] = []
        for index, item in enumerate(value):
            converted = explainability_configs(item, f"{field}[{index}]")
            items.extend(converted if isinstance(converted, list) else [converted])
        return items
    if not isinstance(value, Mapping):
        return value
    unknown = sorted(set(value) - set(_EXPLAINABILITY_CLASSES))
    if unknown or not value:
        raise ClarifyConfigError(
            f"{field} has keys {sorted(value)}; expected a SHAPConfig/PDPConfig or a dict keyed by "
            "'shap' and/or 'pdp' with their keyword arguments",
            field=field,
            value=dict(value),
            accepted="{'shap': {...}} and/or {'pdp': {...}}",
        )
    converted = [
        config_object(f"{field}.{key}", dict(value[key]), _EXPLAINABILITY_CLASSES[key]) for key in value
    ]
    return converted[0] if len(converted) == 1 else converted


def model_scores(value: Any) -> Any:
    """``model_scores``: an index/JSONPath as given, a dict as ``ModelPredictedLabelConfig``."""
    if isinstance(value, Mapping):
        return config_object("model_scores", value, "ModelPredictedLabelConfig")
    return value
