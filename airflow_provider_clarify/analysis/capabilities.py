"""What an analysis config asks of the compute that runs it: a model, and the open engine's support.

Two questions are answered here and nowhere else, so preflight, the operators, ``compute="local"``
and the open engine all decide them the same way:

* :func:`model_methods` / :func:`needs_model`: which requested methods call the model
  (explanations always; post-training bias unless the data carries the predictions, as a
  ``predicted_label`` column or a ``predicted_label_dataset_uri``).
* :func:`engine_problems`: what in a config the open engine (``compute="local"``, the CLI) cannot
  run, e.g. ``dataset_type: application/x-image`` or computer-vision SHAP. Preflight rejects these
  for ``compute="local"`` before credentials are fetched or anything is uploaded.
* :func:`spark_problems`: what the engine's Spark backend (``engine/spark``) cannot run. The one rule
  of ``engine.spark.runner.check_spark_config`` (at run time), ``compute="spark"`` and
  ``compute="sagemaker_spark"`` (when the plan is built, before any upload or spend).

Pure functions over the ``analysis_config`` dict: no Airflow, no AWS, no numeric library.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_clarify.analysis import constants as C
from airflow_provider_clarify.analysis.errors import short_repr

#: The dataset types the open engine reads (the managed container also reads images and captures).
ENGINE_DATASET_TYPES: tuple[str, ...] = C.TABULAR_DATASET_TYPES
#: The ``methods`` entries the open engine computes (``report`` is always accepted).
ENGINE_METHODS: tuple[str, ...] = ("pre_training_bias", "post_training_bias", "shap", "pdp", "report")
#: The dataset types the engine's Spark backend reads (one-document JSON is not split into rows).
SPARK_DATASET_TYPES: tuple[str, ...] = (C.CSV, C.JSONLINES, C.PARQUET)
#: The ``methods`` entries the engine's Spark backend computes (bias metrics from dataset columns,
#: tabular Kernel SHAP and PDP with the model called from the executors).
SPARK_METHODS: tuple[str, ...] = ("pre_training_bias", "post_training_bias", "shap", "pdp", "report")


def _methods(config: Mapping[str, Any]) -> Mapping[str, Any]:
    methods = config.get("methods")
    return methods if isinstance(methods, Mapping) else {}


def has_predictions(config: Mapping[str, Any]) -> bool:
    """Whether the data itself carries the model's predictions (no model call needed for bias)."""
    return any(
        config.get(key) is not None and config.get(key) not in ("", [], {})
        for key in ("predicted_label", "predicted_label_dataset_uri")
    )


def model_methods(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The requested methods that call the model, in the order of the config's ``methods``."""
    methods = _methods(config)
    needs = [name for name in methods if name in C.EXPLAINABILITY_METHODS]
    if "post_training_bias" in methods and not has_predictions(config):
        needs.append("post_training_bias")
    return tuple(needs)


def needs_model(config: Mapping[str, Any]) -> bool:
    """Whether running ``config`` calls a model (explanations, or post-training bias without predictions)."""
    return bool(model_methods(config))


def engine_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(JSON path, message)`` for each part of ``config`` the open engine cannot run (empty: it can).

    The messages say what to change or to run the analysis with ``compute="sagemaker"``.
    """
    problems: list[tuple[str, str]] = []
    dataset_type = config.get("dataset_type")
    if isinstance(dataset_type, str) and dataset_type.lower() not in ENGINE_DATASET_TYPES:
        message = (
            f"{dataset_type!r} is not read by the open engine (compute='local'); it reads "
            f"{', '.join(ENGINE_DATASET_TYPES)}. Convert the data, or run with compute='sagemaker'."
        )
        problems.append(("dataset_type", message))
    methods = _methods(config)
    for name in methods:
        if name not in ENGINE_METHODS:
            computed = ", ".join(m for m in ENGINE_METHODS if m != "report")
            message = (
                f"is not computed by the open engine (compute='local' computes {computed}). "
                "Run with compute='sagemaker'."
            )
            problems.append((f"methods.{name}", message))
    shap = methods.get("shap")
    if isinstance(shap, Mapping) and shap.get("image_config") is not None:
        message = (
            "computer-vision explanations are not computed by the open engine (compute='local'); "
            "run with compute='sagemaker'."
        )
        problems.append(("methods.shap.image_config", message))
    return problems


def spark_problems(
    config: Mapping[str, Any],
    *,
    instead: str = "compute='local' or compute='sagemaker'",
    model_given: bool = False,
) -> list[tuple[str, str]]:
    """``(JSON path, message)`` for each part of ``config`` the engine's Spark backend cannot run.

    :param instead: how the caller's user runs it without the Spark backend (the engine's CLI says
        ``--backend local``, the operators ``compute='local'``); quoted in the messages.
    :param model_given: the caller passes the model to explain itself (``run_analysis_spark(model=...)``,
        the CLI's ``--model-*``); otherwise explanations need ``predictor.endpoint_name``.
    """
    problems: list[tuple[str, str]] = []
    dataset_type = config.get("dataset_type")
    if str(dataset_type or "").lower() not in SPARK_DATASET_TYPES:
        message = (
            f"{short_repr(dataset_type)} is not read by the Spark backend (it reads "
            f"{', '.join(SPARK_DATASET_TYPES)}); convert the data to CSV, JSON Lines or Parquet, or run "
            f"with {instead}."
        )
        problems.append(("dataset_type", message))
    methods = _methods(config)
    for name in methods:
        if name not in SPARK_METHODS:
            message = (
                f"{name} is not computed by the Spark backend (it computes {', '.join(SPARK_METHODS)}); "
                f"run it with {instead} in a task of its own."
            )
            problems.append((f"methods.{name}", message))
    shap = methods.get("shap")
    if isinstance(shap, Mapping):
        for option, what in (("text_config", "text"), ("image_config", "computer-vision")):
            if shap.get(option) is not None:
                message = (
                    f"{what} explanations are not computed by the Spark backend (it explains tabular "
                    f"records); run them with {instead}."
                )
                problems.append((f"methods.shap.{option}", message))
    predictor = config.get("predictor")
    endpoint = isinstance(predictor, Mapping) and bool(predictor.get("endpoint_name"))
    if any(name in methods for name in C.EXPLAINABILITY_METHODS) and not (model_given or endpoint):
        message = (
            "explanations on the Spark backend call the model from the executors: give "
            "predictor.endpoint_name (a deployed endpoint; a model_name alone needs a shadow endpoint, "
            f"which the open engine does not create), or a model to run_analysis_spark(model=...) / the "
            f"CLI's --model-url, --model-endpoint or --model-artifact (operators with compute='spark': local_model); or run with "
            f"{instead}."
        )
        problems.append(("predictor", message))
    for side in ("facet_dataset_uri", "predicted_label_dataset_uri"):
        if config.get(side):
            message = (
                f"a side dataset ({short_repr(config[side])}) is not joined by the Spark backend; join its "
                f"columns into the main dataset first, or run with {instead}."
            )
            problems.append((side, message))
    if "post_training_bias" in methods and config.get("predicted_label") is None:
        message = (
            "post-training bias on the Spark backend reads the model's predictions from a dataset column "
            "(it calls no model); add them as a column and name it in DataConfig(predicted_label=...)."
        )
        problems.append(("predicted_label", message))
    return problems
