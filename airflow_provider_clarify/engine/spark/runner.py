"""``run_analysis_spark``: the engine's ``run_analysis`` with the dataset passes on a Spark cluster.

Same inputs and the same ``analysis.json`` as
:func:`~airflow_provider_clarify.engine.runner.run_analysis` (configuration loading and validation,
name resolution and the output writing are the single-machine engine's own code); only the passes
over the rows run on the executors (:mod:`.bias`). Outputs are written by the driver, atomically,
after every Spark job has finished: a driver that dies mid-run leaves no partial ``analysis.json``.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.analysis import capabilities
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.engine import datasets, io, runner
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.output import write_analysis

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from airflow_provider_clarify.engine.spark.dataset import SparkDataset

log = logging.getLogger(__name__)

#: What the Spark backend computes today (the rule itself is pure: ``analysis/capabilities.py``).
SUPPORTED_DATASET_TYPES = capabilities.SPARK_DATASET_TYPES
SUPPORTED_METHODS = capabilities.SPARK_METHODS


def check_spark_config(config: dict, *, model_given: bool = False) -> None:
    """Refuse, before any Spark job, what the Spark backend does not compute.

    The rule is :func:`~airflow_provider_clarify.analysis.capabilities.spark_problems`, the one the
    operators check when their plan is built (``compute="spark"``, ``"sagemaker_spark"``).

    :raises EngineConfigError: listing every problem; ``field`` is the first one's top-level key.
    """
    problems = capabilities.spark_problems(
        config, instead="the single-machine engine (--backend local)", model_given=model_given
    )
    if problems:
        error = EngineConfigError.from_problems(problems, subject="analysis_config (--backend spark)")
        error.field = problems[0][0].split(".")[0]
        error.value = config.get(error.field)
        raise error


def run_analysis_spark(
    spark: SparkSession,
    analysis_config: Any,
    dataset: str | None = None,
    output: str | None = None,
    *,
    storage_options: dict | None = None,
    endpoint_url: str | None = None,
    output_kms_key: str | None = None,
    model: Any = None,
) -> str:
    """Run the analyses of ``analysis_config`` on ``dataset`` with ``spark``; write them under ``output``.

    Arguments as :func:`~airflow_provider_clarify.engine.runner.run_analysis` (``spark``: an active
    ``SparkSession``, e.g. the one of a ``@task.pyspark`` or a notebook). The executors need this
    package, ``pyarrow``, ``numpy`` and (for FT) ``scikit-learn``; :func:`ship_package` adds the
    package to the session when the cluster does not have it installed.

    :param model: the model SHAP and PDP explain, as for ``run_analysis`` (a model URL or endpoint
        is called from the executors; an in-process model or trusted artifact is broadcast to them);
        default: the config's ``predictor.endpoint_name``. Bias reads predictions from a column.
    :returns: the URI / path of the written ``analysis.json``.
    :raises ClarifyConfigError: as ``run_analysis``, and for what the Spark backend does not compute
        (text explanations, side datasets, predictions without a column, ``application/json``
        datasets), before any Spark job.
    """
    from airflow_provider_clarify.engine.spark.dataset import open_dataset

    storage_options = runner._merge_storage_options(storage_options, endpoint_url)
    config = runner.load_config(analysis_config, storage_options)
    runner.validate_config(config)
    check_spark_config(config, model_given=model is not None)
    dataset_uri = dataset or config.get("dataset_uri")
    if not dataset_uri:
        raise ClarifyConfigError(
            "No dataset given: pass dataset= (or --dataset) or set 'dataset_uri' in the analysis_config.",
            field="dataset_uri",
        )
    if not output:
        raise ClarifyConfigError("No output location given: pass output= (or --output).", field="output")
    location = io.OutputLocation(output, storage_options, kms_key=output_kms_key)
    if isinstance(config["methods"].get("report"), dict):
        runner._report_file_name(config["methods"]["report"])  # a bad name fails before any Spark job

    json_lines = str(config["dataset_type"]).lower() == datasets.JSONLINES
    data = open_dataset(
        spark,
        dataset_uri,
        config["dataset_type"],
        headers=config.get("headers"),
        features=config.get("features"),
        label=config.get("label") if json_lines else None,
        predicted_label=config.get("predicted_label") if json_lines else None,
        storage_options=storage_options,
    )
    explain = {"model": model, "storage_options": storage_options, "endpoint_url": endpoint_url}
    return analyse_dataset(config, data, location, where=f"the dataset {dataset_uri!r}", explain=explain)


def analyse_dataset(
    config: dict,
    data: SparkDataset,
    location: io.OutputLocation,
    *,
    where: str,
    explain: dict | None = None,
) -> str:
    """The analyses of a validated ``config`` on an opened Spark dataset, written under ``location``.

    ``explain``: ``model``, ``storage_options`` and ``endpoint_url`` for SHAP and PDP.
    """
    from airflow_provider_clarify.engine.spark.bias import spark_bias_sections

    methods = config["methods"]
    report = methods.get("report")
    report_name = runner._report_file_name(report) if isinstance(report, dict) else None
    json_lines = data.dataset_type == datasets.JSONLINES
    if json_lines:
        data.settle()  # the column names of JSON Lines come from reading the records
    names = data.column_names

    def resolve(value: Any, field_name: str) -> str:
        return datasets.resolve_column(value, names, field_name, where=where)

    wants_bias = any(m in methods for m in runner.BIAS_METHODS)
    wants_explain = any(m in methods for m in runner.EXPLAIN_METHODS)
    for required, example in (
        ("label", '"target"'),
        ("label_values_or_threshold", "[1]"),
        ("facet", "[...]"),
    ):
        if wants_bias and not config.get(required):
            raise ClarifyConfigError(
                f"analysis_config field {required!r} is required for bias metrics, e.g. {example}.",
                field=required,
                value=config.get(required),
            )
    label = None
    if config.get("label") is not None:
        label = data.label_column if json_lines else resolve(config["label"], "label")
    predicted_label = None
    if "post_training_bias" in methods:
        predicted_label = (
            data.predicted_label_column
            if json_lines
            else resolve(config["predicted_label"], "predicted_label")
        )
    facets = runner._resolve_facets(config, names, where)
    group_variable = None
    if config.get("group_variable") is not None:
        group_variable = resolve(config["group_variable"], "group_variable")
    joinsource = None
    if config.get("joinsource_name_or_index") is not None:
        joinsource = resolve(config["joinsource_name_or_index"], "joinsource_name_or_index")
    excluded = {
        resolve(c, f"excluded_columns[{i}]") for i, c in enumerate(config.get("excluded_columns") or [])
    }
    not_features = {label, predicted_label, joinsource, *excluded}
    feature_columns = [c for c in names if c not in not_features]

    explainer = None
    if wants_explain:
        from airflow_provider_clarify.engine.spark.explain import SparkExplainer

        shown = predicted_label
        if shown is None and config.get("predicted_label") is not None:  # as one machine: not a feature
            shown = (
                data.predicted_label_column
                if json_lines
                else resolve(config["predicted_label"], "predicted_label")
            )
        explainer = SparkExplainer.prepare(
            config,
            data,
            feature_columns=[c for c in names if c not in {label, shown, joinsource, *excluded}],
            join_column=joinsource,
            **(explain or {}),
        )

    if not json_lines:
        data.settle()
    log.info("Spark backend: %d rows, column types %s", data.num_rows, data.types)
    analysis: dict[str, Any] = {"version": "1.0"}
    if wants_bias:
        analysis.update(
            spark_bias_sections(
                data,
                label=label,
                label_values=runner._listify(config["label_values_or_threshold"]),
                facets=facets,
                group_variable=group_variable,
                predicted_label=predicted_label,
                pre_training_methods=runner._method_list(methods["pre_training_bias"])
                if "pre_training_bias" in methods
                else None,
                post_training_methods=runner._method_list(methods["post_training_bias"])
                if "post_training_bias" in methods
                else None,
                feature_columns=feature_columns,
            )
        )
    local_shap_csv: list[str] = []  # explanations_shap/out.csv as written, for the report's beeswarm
    if explainer is not None:
        analysis["explanations"] = explainer.explanations(location, local_shap_csv.append)
    if report_name is not None:
        runner._write_report(
            location,
            analysis,
            config,
            report_name,
            local_shap_csv=local_shap_csv[-1] if local_shap_csv else None,
        )
    return write_analysis(location, analysis)


def ship_package(spark: SparkSession) -> None:
    """Add this package (as a zip of its sources) to the session, for clusters without it installed."""
    archive = _package_archive()
    try:
        spark.sparkContext.addPyFile(archive)
    except Exception:  # Spark Connect has no SparkContext: artifacts instead
        spark.addArtifacts(archive, pyfile=True)


@functools.cache
def _package_archive() -> str:
    """The zip of this package's sources, built once per process.

    Spark serves an added file from its path for as long as the session lives (executors that join
    later fetch it then), so the archive stays until the process exits (removed then); building it
    once means one temporary folder and one zip of the sources however many times
    :func:`ship_package` is called, each call adding the same file.
    """
    import atexit
    import os
    import shutil
    import tempfile
    import zipfile

    from airflow_provider_clarify.engine.spark.session import package_root

    root = package_root()
    folder = tempfile.mkdtemp(prefix="clarify-spark-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    archive = os.path.join(folder, "airflow_provider_clarify.zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for base, _dirs, files in os.walk(os.path.join(root, "airflow_provider_clarify")):
            for name in files:
                if name.endswith((".py", ".json", ".html", ".j2", ".css", ".js")):
                    path = os.path.join(base, name)
                    zf.write(path, os.path.relpath(path, root))
    return archive


__all__ = ["analyse_dataset", "check_spark_config", "run_analysis_spark", "ship_package"]
