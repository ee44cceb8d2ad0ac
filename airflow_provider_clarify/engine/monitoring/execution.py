"""One Model Monitor execution, anywhere: job definition + scheduled time -> Model Monitor's files.

:func:`run_monitoring_execution` reads the CreateModelBiasJobDefinition /
CreateModelExplainabilityJobDefinition request (the document that goes to SageMaker), selects the
captured records of the analysis window, joins ground truth (bias), and writes to the output:

* ``analysis.json`` and ``report.html``: computed by :func:`~airflow_provider_clarify.engine.runner.run_analysis`
  on the merged records (bias: pre- and post-training ``"all"``, as the Clarify container's monitoring
  mode; explainability: the config's SHAP on the captured features);
* ``constraint_violations.json`` when the baseline's drift rules find violations;
* ``monitoring_execution.json``: status (``Completed`` / ``CompletedWithViolations`` / ``Failed``), the
  failure reason, the window and the reading statistics (malformed lines are counted, never hidden).
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.monitoring import capture_format as cf
from airflow_provider_clarify.analysis.monitoring.requests import MODEL_BIAS, monitoring_type_of
from airflow_provider_clarify.analysis.monitoring.schedule import analysis_window, as_utc
from airflow_provider_clarify.engine import io
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.monitoring import columnar
from airflow_provider_clarify.engine.monitoring.batch_transform import (
    check_attributes,
    dataset_kind,
    is_capture_file,
    iter_batch_transform_events,
    neutral_attributes,
)
from airflow_provider_clarify.engine.monitoring.capture import (
    CaptureEvent,
    ReadStats,
    capture_files,
    hours_between,
    iter_capture_events,
    iter_capture_items,
    read_ground_truth,
)
from airflow_provider_clarify.engine.monitoring.columnar import CaptureBatch
from airflow_provider_clarify.engine.monitoring.labels import DEFAULT_MAX_IN_MEMORY, LabelStore
from airflow_provider_clarify.engine.monitoring.merge import MergedWriter
from airflow_provider_clarify.engine.monitoring.records import (
    CSV_TYPES,
    Attributes,
    RecordError,
    input_rows,
    output_predictions,
    payload_kind,
)

log = logging.getLogger(__name__)

COMPLETED = "Completed"
COMPLETED_WITH_VIOLATIONS = "CompletedWithViolations"
FAILED = "Failed"
EXECUTION_FILE = "monitoring_execution.json"
VIOLATIONS_FILE = "constraint_violations.json"
PREDICTED_LABEL = "_predicted_label"


class MonitoringInputError(EngineConfigError):
    """The window has nothing to analyse (Model Monitor's "Job inputs had no data"), or the setup
    cannot work (capture location unknown, ground truth that matches nothing)."""


@dataclass
class MonitoringExecutionResult:
    """What one execution produced (also written as ``monitoring_execution.json``)."""

    status: str
    monitoring_type: str
    scheduled_time: str
    window_start: str
    window_end: str
    output: str
    analysis_uri: str | None = None
    violations_uri: str | None = None
    violations: list[dict[str, Any]] = field(default_factory=list)
    failure_reason: str | None = None
    records: int = 0
    capture: dict[str, Any] = field(default_factory=dict)
    ground_truth: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_job_definition(job_definition: Any, storage_options: dict | None = None) -> dict[str, Any]:
    """A job definition from a dict, JSON text, or a path / ``file://`` / ``s3://`` URI of a JSON file."""
    if isinstance(job_definition, dict):
        return job_definition
    text = job_definition
    if isinstance(text, str) and not text.lstrip().startswith("{"):
        text = io.read_bytes(text, storage_options).decode("utf-8")
    try:
        loaded = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ClarifyConfigError(
            f"The job definition is not JSON ({exc}); pass the CreateModelBiasJobDefinition or "
            "CreateModelExplainabilityJobDefinition request as a dict, JSON text or a JSON file.",
            field="job_definition",
        ) from exc
    if not isinstance(loaded, dict):
        raise ClarifyConfigError.invalid("job_definition", type(loaded).__name__, "a JSON object")
    return loaded


@dataclass
class _Plan:
    kind: str
    config: dict[str, Any]
    job_input: dict[str, Any]
    source_key: str
    ground_truth_uri: str | None
    baseline_uri: str | None
    baselining_job: str | None
    default_output: str | None


def _plan(definition: dict[str, Any], storage_options: dict | None) -> _Plan:
    from airflow_provider_clarify.engine.runner import load_config

    kind = monitoring_type_of(definition)
    app = definition.get(f"{kind}AppSpecification") or {}
    if not app.get("ConfigUri"):
        raise ClarifyConfigError(
            f"{kind}AppSpecification.ConfigUri is missing: the job definition must point to the monitoring "
            "analysis config (BiasAnalysisConfig / ExplainabilityAnalysisConfig as JSON).",
            field=f"{kind}AppSpecification.ConfigUri",
        )
    config = load_config(app["ConfigUri"], storage_options)
    job_input = definition.get(f"{kind}JobInput") or {}
    keys = [k for k in ("EndpointInput", "BatchTransformInput") if k in job_input]
    if len(keys) != 1:
        raise ClarifyConfigError(
            f"{kind}JobInput must hold exactly one of EndpointInput and BatchTransformInput, found {keys}.",
            field=f"{kind}JobInput",
            value=keys,
        )
    ground_truth = (job_input.get("GroundTruthS3Input") or {}).get("S3Uri")
    if kind == MODEL_BIAS and not ground_truth:
        raise ClarifyConfigError(
            "ModelBiasJobInput.GroundTruthS3Input.S3Uri is missing: bias monitoring needs the ground-truth labels.",
            field="ModelBiasJobInput.GroundTruthS3Input",
        )
    baseline = definition.get(f"{kind}BaselineConfig") or {}
    outputs = (definition.get(f"{kind}JobOutputConfig") or {}).get("MonitoringOutputs") or [{}]
    return _Plan(
        kind=kind,
        config=config,
        job_input=job_input[keys[0]],
        source_key=keys[0],
        ground_truth_uri=ground_truth,
        baseline_uri=(baseline.get("ConstraintsResource") or {}).get("S3Uri"),
        baselining_job=baseline.get("BaseliningJobName"),
        default_output=(outputs[0].get("S3Output") or {}).get("S3Uri"),
    )


def _column_names(plan: _Plan, width: int) -> tuple[list[str], str | None]:
    """Feature column names and the label name for ``width`` captured feature values."""
    headers = list(plan.config.get("headers") or [])
    label = plan.config.get("label") if plan.kind == MODEL_BIAS else None
    if label is not None and not isinstance(label, str):
        label = headers[label] if isinstance(label, int) and label < len(headers) else str(label)
    features = [h for h in headers if h != label] if headers else []
    if not features:
        features = [f"_c{i}" for i in range(width)]
    if len(features) != width:
        raise MonitoringInputError(
            f"The analysis config's headers name {len(features)} feature(s) {features} but the captured "
            f"requests carry {width} value(s). Headers must list the model's input features in order"
            + (" followed by the label." if plan.kind == MODEL_BIAS else "."),
            field="headers",
            value=headers,
        )
    return features, (label or "label") if plan.kind == MODEL_BIAS else None


def _excluded(attributes: Attributes, features: list[str], keep: set[str]) -> set[int]:
    out = set()
    for item in attributes.exclude:
        index = int(item) if item.isdigit() else (features.index(item) if item in features else None)
        if index is None or index >= len(features):
            raise MonitoringInputError(
                f"ExcludeFeaturesAttribute names {item!r}, which is neither a feature index nor a feature name "
                f"of {features}.",
                field="ExcludeFeaturesAttribute",
                value=item,
            )
        if features[index] not in keep:
            out.add(index)
    return out


def _facet_columns(config: dict[str, Any]) -> set[str]:
    names = {str(f.get("name_or_index")) for f in config.get("facet") or []}
    if config.get("group_variable") is not None:
        names.add(str(config["group_variable"]))
    return names


class _Merger:
    """Turns captured events (and blocks of them) into merged rows of the window's Parquet file."""

    def __init__(
        self,
        plan: _Plan,
        labels: LabelStore | None,
        path: str,
        stats: ReadStats,
        attributes: Attributes | None = None,
        writer_factory: Any = MergedWriter,
    ) -> None:
        self.plan = plan
        self.labels = labels
        self.path = path
        self.stats = stats
        self.attributes = attributes or Attributes.from_input(plan.job_input)
        self.writer_factory = writer_factory  # (path, columns, stats) -> a MergedWriter-like sink
        self.writer: MergedWriter | None = None
        self.features: list[str] = []
        self.label_name: str | None = None
        self.dropped: set[int] = set()
        self.unmatched = 0
        self.kinds: dict[str, str] = {}

    def _open(self, width: int) -> None:
        self.features, self.label_name = _column_names(self.plan, width)
        self.dropped = _excluded(self.attributes, self.features, _facet_columns(self.plan.config))
        columns = [f for i, f in enumerate(self.features) if i not in self.dropped]
        if self.plan.kind == MODEL_BIAS:
            columns += [self.label_name, PREDICTED_LABEL]
        self.writer = self.writer_factory(self.path, columns, self.stats)

    def feed(self, item: CaptureEvent | CaptureBatch) -> None:
        """One item of a reader: a single event or a block decoded by the columnar path."""
        if isinstance(item, CaptureEvent):
            self.event(item)
        else:
            self.batch(item)

    def event(self, event: CaptureEvent) -> None:
        where = f"event {event.event_id}"
        try:
            rows = input_rows(event, self.attributes)
            predictions = (
                output_predictions(event, self.attributes, len(rows))
                if self.plan.kind == MODEL_BIAS
                else None
            )
        except (RecordError, ValueError, UnicodeDecodeError) as exc:
            self.stats.bad(where, str(exc))
            return
        if not rows:
            self.stats.bad(where, "the request holds no records")
            return
        if self.writer is None:
            self._open(len(rows[0]))
        if self.labels is not None:
            label = self.labels.get(event.join_id)
            if label is None:
                self.unmatched += len(rows)
                return
        for index, row in enumerate(rows):
            values = [v for i, v in enumerate(row) if i not in self.dropped]
            if self.plan.kind == MODEL_BIAS:
                values += [label, predictions[index][0]]
            self.writer.add(values, where)

    def batch(self, batch: CaptureBatch) -> None:
        """A block decoded by the columnar path: CSV rows at once, every other row as an event."""
        import pyarrow as pa
        import pyarrow.compute as pc

        for content_type in pc.unique(
            pa.concat_arrays([batch.input_content_type, batch.output_content_type])
        ).to_pylist():
            if content_type not in self.kinds:
                kind = payload_kind(content_type, b"")
                self.kinds[content_type] = kind if kind != "csv" or _csv_by_type(content_type) else "?"
        width = len(self.features) if self.writer is not None else None
        features, predicted, fast = columnar.csv_decode(
            batch, self.kinds, self.attributes, width, self.plan.kind == MODEL_BIAS
        )
        if features:
            if self.writer is None:
                self._open(len(features))
            columns = [f for i, f in enumerate(features) if i not in self.dropped]
            if self.labels is not None:
                ids = pc.filter(batch.join_id, fast).to_pylist()
                found = self.labels.get_many(ids)
                matched = pa.array([label is not None for label in found], pa.bool_())
                self.unmatched += len(found) - pc.sum(matched).as_py() if found else 0
                truth = pa.array([None if v is None else str(v) for v in found], pa.string())
                columns = [pc.filter(c, matched) for c in columns]
                columns += [pc.filter(truth, matched), pc.filter(predicted, matched)]
            self.writer.add_columns(columns)
        for row in pc.indices_nonzero(pc.invert(fast)).to_pylist():
            self.event(
                CaptureEvent(
                    event_id=batch.event_id[row].as_py(),
                    inference_id=batch.join_id[row].as_py(),
                    inference_time=None,
                    input_content_type=batch.input_content_type[row].as_py(),
                    input_payload=batch.input_data[row].as_py().encode("utf-8"),
                    output_content_type=batch.output_content_type[row].as_py(),
                    output_payload=batch.output_data[row].as_py().encode("utf-8"),
                )
            )


def _csv_by_type(content_type: str) -> bool:
    """Whether a content type alone makes a payload CSV (else the payload's first byte decides)."""
    return cf.base_content_type(content_type) in CSV_TYPES


def _merge(
    plan: _Plan,
    items,
    labels: LabelStore | None,
    path: str,
    stats: ReadStats,
    gt_stats: ReadStats,
    attributes: Attributes | None = None,
) -> tuple[list[str], str | None, int]:
    merger = _Merger(plan, labels, path, stats, attributes)
    for item in items:
        merger.feed(item)
    gt_stats.outside_window = merger.unmatched  # captured records without a label (reported)
    if merger.writer is None:
        return [], None, 0
    return merger.writer.columns, merger.label_name, merger.writer.close()


def _analysis_config(plan: _Plan, columns: list[str], label: str | None) -> dict[str, Any]:
    report = {"name": "report", "title": "Analysis Report"}
    if plan.kind == MODEL_BIAS:
        config: dict[str, Any] = {
            "dataset_type": "application/x-parquet",
            "headers": columns,
            "label": label,
            "predicted_label": PREDICTED_LABEL,
            "label_values_or_threshold": plan.config.get("label_values_or_threshold"),
            "facet": plan.config.get("facet"),
        }
        if plan.config.get("group_variable") is not None:
            config["group_variable"] = plan.config["group_variable"]
        config["methods"] = {
            "report": report,
            "pre_training_bias": {"methods": "all"},
            "post_training_bias": {"methods": "all"},
        }
        return config
    methods = dict(plan.config.get("methods") or {})
    methods["report"] = report
    config = {"dataset_type": "application/x-parquet", "headers": columns, "methods": methods}
    if plan.config.get("predictor"):
        config["predictor"] = plan.config["predictor"]
    return config


def _require_rows(
    plan: _Plan, stats: ReadStats, files: int, start: datetime, end: datetime, rows: int, count_labels
) -> None:
    """Model Monitor's "Job inputs had no data", with the reason (``count_labels()``: labels read)."""
    if stats.in_window == 0:
        raise MonitoringInputError(
            f"Job inputs had no data: {stats.lines} captured record(s) in {files} file(s), none with an "
            f"inferenceTime in {start.isoformat()} .. {end.isoformat()}.",
            field="StartTimeOffset",
        )
    if rows == 0:
        reason = (
            f"none of the {stats.in_window} captured record(s) has a ground-truth label: {count_labels()} "
            f"label(s) read from {plan.ground_truth_uri!r}; labels' eventMetadata.eventId must equal the "
            "capture's inferenceId (when sent) or eventId"
            if plan.kind == MODEL_BIAS
            else f"all {stats.in_window} captured record(s) were malformed"
        )
        raise MonitoringInputError(f"Job inputs had no data: {reason}.", field="GroundTruthS3Input")


def file_items(
    uri: str,
    stats: ReadStats,
    start: datetime,
    end: datetime,
    storage_options: dict | None,
    *,
    columnar: bool = True,
    dataset_format: dict[str, Any] | None = None,
    attributes: Attributes | None = None,
):
    """The items the execution's reader yields for one file (``dataset_format``: raw batch-transform
    output in that format, read with ``attributes``; else capture JSON Lines). The readers go file by
    file, so the items of every file in order are the items of the whole window."""
    if dataset_format is not None:
        return iter_batch_transform_events(
            [uri], dataset_format, attributes, start, end, stats, storage_options
        )
    reader = iter_capture_items if columnar else iter_capture_events
    return reader([uri], start, end, stats, storage_options)


def resolve_baselining_job(name: str, storage_options: dict | None) -> str:
    """The constraints URI of the baselining processing job ``name`` (DescribeProcessingJob with the
    credentials and region of ``storage_options`` and boto3's SageMaker endpoint; Airflow resolves it
    with the task's connection instead and passes ``baseline_uri``)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from airflow_provider_clarify.analysis.monitoring.baseline import constraints_uri_from_processing_job

    options = storage_options or {}
    keys = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region_name")
    client = boto3.client("sagemaker", **{k: options[k] for k in keys if options.get(k)})
    try:
        described = client.describe_processing_job(ProcessingJobName=name)
    except (BotoCoreError, ClientError) as exc:
        raise ClarifyConfigError(
            f"Cannot describe the baselining job {name!r} named by BaseliningJobName ({exc}). Give the baseline "
            "analysis.json as ConstraintsResource.S3Uri, or pass baseline_uri= (--baseline-uri).",
            field="BaseliningJobName",
            value=name,
        ) from exc
    return constraints_uri_from_processing_job(described)


def _check_drift(plan: _Plan, analysis_uri: str, storage_options: dict | None, notes: list[str]):
    from airflow_provider_clarify.analysis import checks

    if not plan.baseline_uri:
        return None
    current = json.loads(io.read_bytes(analysis_uri, storage_options))
    baseline = json.loads(io.read_bytes(plan.baseline_uri, storage_options))
    if plan.kind == MODEL_BIAS:
        return checks.check_bias_drift(current, baseline)
    return checks.check_feature_attribution_drift(current, baseline)


def _check_baseline(plan: _Plan, storage_options: dict | None) -> None:
    """Fail before reading any capture when the baseline cannot be compared with this config."""
    from airflow_provider_clarify.analysis.monitoring import preflight

    if not plan.baseline_uri:
        return
    baseline = json.loads(io.read_bytes(plan.baseline_uri, storage_options))
    if plan.kind == MODEL_BIAS:
        preflight.check_bias_baseline(plan.config, baseline)
    else:
        preflight.check_explainability_baseline(baseline)


def _output_for(plan: _Plan, output: str | None, scheduled: datetime, endpoint: str | None) -> str:
    if output:
        return output
    if not plan.default_output:
        raise ClarifyConfigError(
            "No output location: pass output= (--output) or give the job definition a MonitoringOutputs S3Uri.",
            field="output",
        )
    return io.join_uri(plan.default_output, f"{endpoint or 'batch-transform'}/{cf.hour_folder(scheduled)}")


def _merge_and_analyse_locally(
    plan: _Plan,
    files: list[str],
    events,
    start: datetime,
    end: datetime,
    until: datetime,
    stats: ReadStats,
    gt_stats: ReadStats,
    target: str,
    notes: list[str],
    *,
    storage_options: dict | None,
    columnar: bool,
    merge_attributes: Attributes | None,
    workdir: str | None,
    max_labels_in_memory: int,
    model: Any,
    endpoint_url: str | None,
) -> tuple[int, str]:
    """This machine's path: labels into a :class:`LabelStore`, the merged records into one Parquet file
    in a temporary folder, then ``run_analysis`` on it. Returns ``(records, analysis.json URI)``."""
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="clarify-monitor-", dir=workdir))
        labels = None
        if plan.kind == MODEL_BIAS:
            labels = LabelStore(tmp, max_labels_in_memory)
            stack.callback(labels.close)
            read_ground_truth(
                plan.ground_truth_uri,
                start,
                until,
                gt_stats,
                storage_options,
                labels,
                columnar=columnar,
            )
            if labels.spilled:
                notes.append(f"{len(labels)} labels kept on disk (more than {max_labels_in_memory})")
        merged = str(Path(tmp) / "merged.parquet")
        columns, label, rows = _merge(plan, events, labels, merged, stats, gt_stats, merge_attributes)
        _require_rows(
            plan, stats, len(files), start, end, rows, lambda: len(labels) if labels is not None else 0
        )
        from airflow_provider_clarify.engine.runner import run_analysis

        config = _analysis_config(plan, columns, label)
        analysis_uri = run_analysis(
            config,
            merged,
            target,
            model=model,
            endpoint_url=endpoint_url,
            storage_options=storage_options,
        )
    return rows, analysis_uri


def run_monitoring_execution(
    job_definition: Any,
    scheduled_time: datetime | str,
    *,
    data_capture_uri: str | None = None,
    output: str | None = None,
    endpoint_url: str | None = None,
    model_url: str | None = None,
    storage_options: dict | None = None,
    predictor: Any = None,
    workdir: str | None = None,
    max_labels_in_memory: int = DEFAULT_MAX_IN_MEMORY,
    columnar: bool = True,
    baseline_uri: str | None = None,
    spark: Any = None,
    staging_uri: str | None = None,
) -> MonitoringExecutionResult:
    """Run the execution of ``job_definition`` scheduled at ``scheduled_time``; see the module docstring.

    :param data_capture_uri: the endpoint's ``DataCaptureConfig.DestinationS3Uri`` (the job definition
        does not hold it); for batch transform the definition's ``DataCapturedDestinationS3Uri`` is used.
    :param output: where to write; default ``<MonitoringOutputs S3Uri>/<endpoint>/yyyy/mm/dd/hh``.
    :param max_labels_in_memory: ground-truth labels beyond this many move to a SQLite file in
        ``workdir`` (captured records always stream), so long windows fit in bounded memory.
    :param spark: a ``SparkSession``: the window's capture and ground truth are read, joined and
        analysed on its executors (:mod:`airflow_provider_clarify.engine.spark.capture`; bias drift
        only), with the same files written. ``staging_uri``: where the executors keep the merged records
        meanwhile, seen by the driver and every executor (default ``<output>/_merged-<random>``; removed).
    :returns: the result; ``status`` is ``Failed`` (with ``failure_reason``) when the window has no
        usable data, ``CompletedWithViolations`` when the baseline's drift rules fire.
    :raises ClarifyConfigError: a job definition or config that cannot work at all.
    """
    if endpoint_url:
        storage_options = {**(storage_options or {}), "endpoint_url": endpoint_url}
    definition = load_job_definition(job_definition, storage_options)
    if spark is not None:
        from airflow_provider_clarify.engine.spark.capture import check_spark_monitoring

        check_spark_monitoring(monitoring_type_of(definition))
    plan = _plan(definition, storage_options)
    if baseline_uri:
        plan.baseline_uri = baseline_uri
    elif plan.baselining_job and not plan.baseline_uri:
        plan.baseline_uri = resolve_baselining_job(plan.baselining_job, storage_options)
    if plan.baselining_job and plan.baseline_uri:
        log.info("Baseline of baselining job %s: %s", plan.baselining_job, plan.baseline_uri)
    _check_baseline(plan, storage_options)
    scheduled = as_utc(scheduled_time)
    start, end = analysis_window(
        scheduled, plan.job_input.get("StartTimeOffset"), plan.job_input.get("EndTimeOffset")
    )
    endpoint = plan.job_input.get("EndpointName")
    target = _output_for(plan, output, scheduled, endpoint)
    location = io.OutputLocation(target, storage_options)
    result = MonitoringExecutionResult(
        status=FAILED,
        monitoring_type=plan.kind,
        scheduled_time=scheduled.isoformat(),
        window_start=start.isoformat(),
        window_end=end.isoformat(),
        output=target,
    )
    stats, gt_stats = ReadStats(), ReadStats()
    try:
        source = plan.job_input.get("DataCapturedDestinationS3Uri") or data_capture_uri
        if not source:
            raise MonitoringInputError(
                "No data-capture location: pass data_capture_uri= (--data-capture-uri), the endpoint's "
                "DataCaptureConfig.DestinationS3Uri; the job definition does not hold it.",
                field="data_capture_uri",
            )
        files = capture_files(source, endpoint, start, end, storage_options)
        if not files:
            hours = hours_between(start, end)
            raise MonitoringInputError(
                f"Job inputs had no data: no capture files under {source!r} for endpoint {endpoint!r} in the hour "
                f"folders {cf.hour_folder(hours[0])} .. {cf.hour_folder(hours[-1])} (window {start.isoformat()} .. "
                f"{end.isoformat()}). Check that data capture is enabled on the endpoint, that the capture "
                "location is right, and that the offsets select hours with traffic.",
                field="data_capture_uri",
                value=source,
            )
        merge_attributes = None
        dataset_format = plan.job_input.get("DatasetFormat")
        if (
            plan.source_key == "BatchTransformInput"
            and dataset_format
            and not is_capture_file(files[0], storage_options)
        ):
            # raw transform output in its DatasetFormat (CSV, JSON, Parquet), not capture JSON Lines
            attributes = Attributes.from_input(plan.job_input)
            kind, _ = dataset_kind(dataset_format)
            check_attributes(attributes, kind, plan.kind == MODEL_BIAS)
            events = iter_batch_transform_events(
                files, dataset_format, attributes, start, end, stats, storage_options
            )
            merge_attributes = neutral_attributes(attributes)
            raw = (dataset_format, attributes)
        else:
            reader = iter_capture_items if columnar else iter_capture_events
            events = reader(files, start, end, stats, storage_options)
            raw = (None, None)
        if spark is not None:
            from airflow_provider_clarify.engine.spark.capture import merge_and_analyse_spark

            result.records, result.analysis_uri = merge_and_analyse_spark(
                spark, plan, files, start, end, max(end, scheduled), stats, gt_stats, target,
                storage_options=storage_options, columnar=columnar, raw_format=raw[0], raw_attributes=raw[1],
                merge_attributes=merge_attributes, staging_uri=staging_uri,
            )  # fmt: skip
        else:
            result.records, result.analysis_uri = _merge_and_analyse_locally(
                plan, files, events, start, end, max(end, scheduled), stats, gt_stats, target, result.notes,
                storage_options=storage_options, columnar=columnar, merge_attributes=merge_attributes,
                workdir=workdir, max_labels_in_memory=max_labels_in_memory,
                model=predictor if predictor is not None else model_url, endpoint_url=endpoint_url,
            )  # fmt: skip
        outcome = _check_drift(plan, result.analysis_uri, storage_options, result.notes)
        result.status = COMPLETED
        if outcome is not None and outcome.violations:
            result.violations = outcome.constraint_violations()["violations"]
            result.violations_uri = location.write_text(VIOLATIONS_FILE, outcome.constraint_violations_json())
            result.status = COMPLETED_WITH_VIOLATIONS
    except MonitoringInputError as exc:
        result.failure_reason = str(exc)
    except Exception as exc:
        result.failure_reason = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        result.capture = stats.to_dict()
        result.ground_truth = gt_stats.to_dict() | {"unlabelled_records": gt_stats.outside_window}
        result.ground_truth.pop("records_outside_window", None)
        if stats.malformed:
            result.notes.append(
                f"{stats.malformed} malformed capture line(s)/record(s) skipped: {stats.reasons}"
            )
        location.write_text(EXECUTION_FILE, json.dumps(result.to_dict(), indent=2))
    return result
