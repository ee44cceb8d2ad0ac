"""How the SageMaker SDK composes an ``analysis_config`` from config objects (``_AnalysisConfigGenerator``).

Pure functions over the config objects, mirroring the SDK's rules (``docs/configs.md#how-analysisconfig-composes-the-sdk-generators-rules``): the top-level
key order per run method, the ``report`` block always first in ``methods``, merging of a list of
explainability configs, merging of ``ModelPredictedLabelConfig`` into ``predictor`` and the top-level
``probability_threshold``. Where the SDK crashes (``AttributeError``/``KeyError``) on plausible input,
a :class:`ClarifyConfigError` with the fix is raised instead.

Every function takes ``strict``: ``False`` while an operator is being built (Jinja not rendered yet,
checks that read templates are deferred), ``True`` when the final dict is produced.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_clarify.analysis import constants as C
from airflow_provider_clarify.analysis.configs import (
    AsymmetricShapleyValueConfig,
    BiasConfig,
    DataConfig,
    ExplainabilityConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
)
from airflow_provider_clarify.analysis.configs._base import ClarifyConfig
from airflow_provider_clarify.analysis.errors import ClarifyConfigError

_NOT_TIME_SERIES = "Please do not provide Asymmetric Shapley Value configs for non-TimeSeries uses."
_NO_METHOD = (
    "analysis_config must have at least one working method: One of the "
    "`pre_training_methods`, `post_training_methods`, `explainability_config`."
)


def fragment(config: ClarifyConfig, strict: bool) -> Any:
    """Check ``config`` (strictly, or deferring unrendered templates) and build its JSON fragment."""
    config._check(strict)
    return config._build()


def expect(name: str, value: Any, cls: type, *, optional: bool = False) -> None:
    """Type-check an argument of an :class:`AnalysisConfig` factory."""
    if value is None and optional:
        return
    if not isinstance(value, cls):
        raise ClarifyConfigError.invalid(
            name,
            value,
            f"a {cls.__name__}" + (" or None" if optional else ""),
            f"Expected a {cls.__name__}{' or None' if optional else ''}, got {type(value).__name__}.",
        )


def check_label_config(value: Any) -> None:
    """``model_predicted_label_config`` / ``model_scores``: a ModelPredictedLabelConfig, str, int or None."""
    if value is None or isinstance(value, ModelPredictedLabelConfig):
        return
    if isinstance(value, str | int) and not isinstance(value, bool):
        return
    raise ClarifyConfigError.invalid(
        "model_predicted_label_config",
        value,
        "a ModelPredictedLabelConfig, an index/JMESPath (str or int) or None",
        "Expected a ModelPredictedLabelConfig, or a label index/JMESPath (str or int), or None; "
        f"got {type(value).__name__}.",
    )


def explainability_items(explainability_config: Any) -> list[ExplainabilityConfig]:
    """The explainability configs given (one object or a list), type-checked."""
    if explainability_config is None:
        return []
    items = explainability_config if isinstance(explainability_config, list) else [explainability_config]
    for item in items:
        if not isinstance(item, ExplainabilityConfig):
            raise ClarifyConfigError.invalid(
                "explainability_config",
                explainability_config,
                "a SHAPConfig, PDPConfig or AsymmetricShapleyValueConfig, or a list of SHAPConfig/PDPConfig",
                "Expected a SHAPConfig, PDPConfig or AsymmetricShapleyValueConfig, or a list of them; "
                f"got {type(item).__name__}.",
            )
    return items


def model_config_required() -> ClarifyConfigError:
    """Explainability calls the model, so it needs a :class:`ModelConfig`."""
    return ClarifyConfigError(
        "model_config must be provided when explainability methods are selected.",
        field="model_config",
        value=None,
        accepted="a ModelConfig",
    )


def _pdp_features_required() -> ClarifyConfigError:
    """PDP alone cannot rank features by SHAP importance: it needs its own feature list."""
    return ClarifyConfigError(
        "PDP features must be provided when ShapConfig is not provided: give PDPConfig(features=[...]) "
        "or add a SHAPConfig.",
        field="features",
        value=None,
        accepted="a list of feature names or indices",
    )


def merge_explainability(explainability_config: Any, strict: bool) -> dict[str, Any]:
    """The ``methods`` entries of one explainability config or a list of them (SDK merge rules)."""
    items = explainability_items(explainability_config)
    if isinstance(explainability_config, AsymmetricShapleyValueConfig):
        raise ClarifyConfigError(
            _NOT_TIME_SERIES,
            field="explainability_config",
            value=explainability_config,
            accepted="SHAPConfig / PDPConfig for non-time-series data",
        )
    if isinstance(explainability_config, PDPConfig) and explainability_config.features is None:
        raise _pdp_features_required()
    if not isinstance(explainability_config, list):
        return fragment(explainability_config, strict)
    if not items:
        raise ClarifyConfigError(
            "Please provide at least one explainability config.",
            field="explainability_config",
            value=[],
            accepted="a non-empty list",
        )
    if any(isinstance(item, AsymmetricShapleyValueConfig) for item in items):
        raise ClarifyConfigError(
            _NOT_TIME_SERIES,
            field="explainability_config",
            value=explainability_config,
            accepted="SHAPConfig / PDPConfig in a list",
        )
    merged: dict[str, Any] = {}
    for item in items:
        merged.update(fragment(item, strict))
    if len(merged) != len(items):
        raise ClarifyConfigError(
            "Duplicate explainability configs are provided: give at most one SHAPConfig and one PDPConfig "
            f"(got {[type(item).__name__ for item in items]}).",
            field="explainability_config",
            value=explainability_config,
            accepted="one config per kind",
        )
    if "shap" not in merged and "features" not in merged["pdp"]:
        raise _pdp_features_required()
    return merged


def add_methods(
    config: dict[str, Any],
    strict: bool,
    *,
    pre_training_methods: Any = None,
    post_training_methods: Any = None,
    explainability_config: Any = None,
) -> dict[str, Any]:
    """Add ``methods`` (report first, then bias, then explainability), as the SDK does."""
    if not any([pre_training_methods, post_training_methods, explainability_config]):
        raise ClarifyConfigError(
            _NO_METHOD,
            field="methods",
            value=None,
            accepted="at least one of pre/post-training methods or an explainability config",
        )
    config = {**config}
    methods = config.setdefault("methods", {})
    methods["report"] = dict(C.REPORT_BLOCK)
    if pre_training_methods:
        methods["pre_training_bias"] = {"methods": pre_training_methods}
    if post_training_methods:
        methods["post_training_bias"] = {"methods": post_training_methods}
    if explainability_config is not None:
        if isinstance(explainability_config, AsymmetricShapleyValueConfig):
            extra = fragment(explainability_config, strict)
        else:
            extra = merge_explainability(explainability_config, strict)
        config["methods"] = {**methods, **extra}
    return config


def add_predictor(
    config: dict[str, Any], strict: bool, model_config: ModelConfig | None, label_config: Any
) -> dict[str, Any]:
    """Add ``predictor`` (and ``probability_threshold``) with the SDK's merge rules."""
    config = {**config}
    if model_config is not None:
        config["predictor"] = fragment(model_config, strict)
    else:
        methods = config.get("methods", {})
        if any(name in methods for name in C.EXPLAINABILITY_METHODS):
            raise model_config_required()
        if "predicted_label_dataset_uri" not in config and "predicted_label" not in config:
            raise ClarifyConfigError(
                "model_config must be provided when `predicted_label_dataset_uri` or `predicted_label` "
                "are not provided in data_config.",
                field="model_config",
                value=None,
                accepted="a ModelConfig, or DataConfig(predicted_label=...) / predicted_label_dataset_uri",
            )
    if isinstance(label_config, ModelPredictedLabelConfig):
        partial = fragment(label_config, strict)
        if partial and "predictor" in config:
            config["predictor"].update(partial)
        if label_config.probability_threshold is not None:
            config["probability_threshold"] = label_config.probability_threshold
    elif "predictor" in config and label_config is not None:
        config["predictor"]["label"] = label_config
    return config


def check_time_series_explainability(
    data_config: DataConfig, model_config: ModelConfig, explainability_config: Any, data: dict[str, Any]
) -> None:
    """The SDK's time-series pairing rules for ``run_explainability``."""
    has_series_data = "time_series_data_config" in data
    has_series_model = bool(model_config.time_series_model_config)
    if isinstance(explainability_config, AsymmetricShapleyValueConfig):
        if not has_series_data:
            raise ClarifyConfigError(
                "Please provide a TimeSeriesDataConfig to DataConfig (time_series_data_config=...) "
                "for AsymmetricShapleyValueConfig.",
                field="time_series_data_config",
                value=None,
                accepted="a TimeSeriesDataConfig",
            )
        if not has_series_model:
            raise ClarifyConfigError(
                "Please provide a TimeSeriesModelConfig to ModelConfig (time_series_model_config=...) "
                "for AsymmetricShapleyValueConfig.",
                field="time_series_model_config",
                value=None,
                accepted="a TimeSeriesModelConfig",
            )
        check_static_covariates_baseline(explainability_config, data["time_series_data_config"])
        return
    for present, name in (
        (has_series_data, "TimeSeriesDataConfig"),
        (has_series_model, "TimeSeriesModelConfig"),
    ):
        if present:
            raise ClarifyConfigError(
                "Please provide an AsymmetricShapleyValueConfig for time series explainability cases. "
                f"For non time series cases, please do not provide a {name}.",
                field="explainability_config",
                value=explainability_config,
                accepted="an AsymmetricShapleyValueConfig with time-series configs",
            )


def check_static_covariates_baseline(asv: AsymmetricShapleyValueConfig, series: dict[str, Any]) -> None:
    """Static-covariate baselines need one value per covariate column, for every item id."""
    baseline = asv.baseline
    if not isinstance(baseline, dict) or "static_covariates" not in baseline:
        return
    count = len(series.get("static_covariates", []))
    field = "baseline.static_covariates"
    if count == 0:
        raise ClarifyConfigError(
            "Static covariate baselines are provided in AsymmetricShapleyValueConfig when no static "
            "covariate columns are provided in TimeSeriesDataConfig. Please check these configs.",
            field=field,
            value=baseline["static_covariates"],
            accepted="no static_covariates baseline",
        )
    entries = baseline["static_covariates"]
    if not isinstance(entries, dict):
        raise ClarifyConfigError.invalid(
            field,
            entries,
            "a dict {item_id: [value per covariate]}",
            f"Expected a dict mapping each item id to {count} baseline value(s).",
        )
    for item_id, entry in entries.items():
        if not isinstance(entry, list):
            raise ClarifyConfigError.invalid(
                f"{field}.{item_id}",
                entry,
                "a list",
                f"Baseline entry for {item_id} must be a list, is {type(entry)}.",
            )
        if len(entry) != count:
            raise ClarifyConfigError.invalid(
                f"{field}.{item_id}",
                entry,
                f"a list of {count} value(s)",
                f"Length of baseline entry for {item_id} does not match number of static covariate "
                f"columns ({count}). Please ensure every covariate has a baseline value for every item id.",
            )


def data_and_bias(data_config: DataConfig, bias_config: BiasConfig, strict: bool) -> dict[str, Any]:
    """DataConfig keys followed by BiasConfig keys."""
    expect("data_config", data_config, DataConfig)
    expect("bias_config", bias_config, BiasConfig)
    return {**fragment(data_config, strict), **fragment(bias_config, strict)}
