"""Regenerate ``sdk_requests.json``: what the SageMaker Python SDK v2 sends for Model Monitor (the oracle).

Not part of the test suite: it needs the SageMaker SDK, which is never a dependency of this project.
Run it in a scratch environment:

    python3 -m venv /tmp/sdk-h7 && /tmp/sdk-h7/bin/pip install "sagemaker<3"
    /tmp/sdk-h7/bin/python tests/data/monitoring/make_fixtures.py

Each case builds a real ``ModelBiasMonitor`` / ``ModelExplainabilityMonitor`` on a recording session (a
``MagicMock`` standing in for ``sagemaker.Session``: nothing reaches AWS) with the clock and
``uuid4`` fixed, calls ``create_monitoring_schedule`` / ``update_monitoring_schedule``, and stores the
keyword arguments of every SageMaker API call and the analysis config the SDK uploaded. The test
(tests/unit/analysis/monitoring/test_sdk_parity.py) rebuilds every request with this package from the
same inputs and compares.
"""

from __future__ import annotations

import json
import uuid
from importlib.metadata import version
from pathlib import Path
from unittest import mock

from sagemaker import clarify
from sagemaker.model_monitor import (
    BatchTransformInput,
    BiasAnalysisConfig,
    CronExpressionGenerator,
    EndpointInput,
    ExplainabilityAnalysisConfig,
    ModelBiasMonitor,
    ModelExplainabilityMonitor,
)
from sagemaker.model_monitor.dataset_format import MonitoringDatasetFormat
from sagemaker.network import NetworkConfig

HERE = Path(__file__).resolve().parent
FIXED_TIME = 1714564800.123  # 2024-05-01T12:00:00.123Z
FIXED_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")
ROLE = "arn:aws:iam::111122223333:role/MonitorRole"


def recording_session() -> mock.MagicMock:
    session = mock.MagicMock(name="Session")
    session.boto_session.region_name = "us-west-2"
    session.boto_region_name = "us-west-2"
    session.sagemaker_config = None
    session.default_bucket.return_value = "bkt"
    session.default_bucket_prefix = None
    session.read_s3_file.return_value = '{"version": "1.0"}'  # the baseline analysis.json the SDK reads
    session.expand_role.side_effect = lambda role: role
    session._append_sagemaker_config_tags.side_effect = lambda tags, key: tags
    return session


def calls_of(session: mock.MagicMock) -> list[dict]:
    out = []
    for name, _args, kwargs in session.sagemaker_client.method_calls:
        out.append({"operation": name, "params": json.loads(json.dumps(kwargs))})
    for name, _args, kwargs in session.method_calls:
        if name == "upload_string_as_file_body":
            out.append(
                {
                    "operation": "upload",
                    "params": {
                        "uri": f"s3://{kwargs['bucket']}/{kwargs['key']}",
                        "body": json.loads(kwargs["body"]),
                        "kms_key": kwargs.get("kms_key"),
                    },
                }
            )
    return out


BIAS_CONFIG = {
    "label_values_or_threshold": [0],
    "facet_name": "customer_gender_female",
    "facet_values_or_threshold": [1],
    "group_name": "occupation",
}
SHAP_CONFIG = {"baseline": [[0.5, 0.2]], "num_samples": 100, "agg_method": "mean_abs"}
MODEL_CONFIG = {
    "model_name": "model-name",
    "instance_type": "ml.m5.xlarge",
    "instance_count": 1,
    "accept_type": "text/csv",
    "content_type": "text/csv",
}
MONITOR = {
    "instance_count": 1,
    "instance_type": "ml.m5.xlarge",
    "volume_size_in_gb": 30,
    "volume_kms_key": "volume-kms-key",
    "output_kms_key": "output-kms-key",
    "max_runtime_in_seconds": 1800,
    "env": {"LOG_LEVEL": "debug"},
    "tags": [{"Key": "team", "Value": "ml"}],
    "network": {"enable_network_isolation": False, "security_group_ids": ["sg-1"], "subnets": ["subnet-1"]},
}
ENDPOINT_INPUT = {
    "endpoint_name": "my-endpoint",
    "destination": "/opt/ml/processing/input/endpoint",
    "start_time_offset": "-PT1H",
    "end_time_offset": "-PT0H",
    "features_attribute": "features",
    "inference_attribute": "0",
    "probability_attribute": "1",
    "probability_threshold_attribute": 0.6,
}
BATCH_INPUT = {
    "data_captured_destination_s3_uri": "s3://bkt/batch-capture",
    "destination": "/opt/ml/processing/input/batch",
    "dataset_format": {"Json": {"Line": True}},
    "start_time_offset": "-P1D",
    "end_time_offset": "-P0D",
    "features_attribute": "features",
    "inference_attribute": "predicted_label",
    "exclude_features_attribute": "1,3",
}


def monitor(cls, session, *, full: bool, base_job_name=None):
    kwargs = {"role": ROLE, "sagemaker_session": session, "base_job_name": base_job_name}
    if full:
        net = MONITOR["network"]
        kwargs.update(
            {k: v for k, v in MONITOR.items() if k != "network"},
            network_config=NetworkConfig(
                enable_network_isolation=net["enable_network_isolation"],
                security_group_ids=net["security_group_ids"],
                subnets=net["subnets"],
            ),
        )
    return cls(**kwargs)


def case_bias_endpoint_full(session):
    m = monitor(ModelBiasMonitor, session, full=True)
    config = BiasAnalysisConfig(
        clarify.BiasConfig(**BIAS_CONFIG),
        headers=["fraud", "customer_gender_female", "occupation", "f2"],
        label="fraud",
    )
    m.create_monitoring_schedule(
        endpoint_input=EndpointInput(**ENDPOINT_INPUT),
        ground_truth_input="s3://bkt/ground-truth",
        analysis_config=config,
        output_s3_uri="s3://bkt/monitor/output",
        constraints="s3://bkt/baseline/analysis.json",
        monitor_schedule_name="bias-schedule",
        schedule_cron_expression=CronExpressionGenerator.hourly(),
    )


def case_bias_defaults(session):
    m = monitor(ModelBiasMonitor, session, full=False)
    m.latest_baselining_job_name = "baseline-suggestion-job-1"
    m.create_monitoring_schedule(
        endpoint_input="my-endpoint",
        ground_truth_input="s3://bkt/ground-truth",
        analysis_config="s3://bkt/configs/analysis_config.json",
        schedule_cron_expression=CronExpressionGenerator.daily(6),
    )


def case_bias_base_name_and_update(session):
    m = monitor(ModelBiasMonitor, session, full=False, base_job_name="fraud-bias")
    m.create_monitoring_schedule(
        endpoint_input="my-endpoint",
        ground_truth_input="s3://bkt/ground-truth",
        analysis_config="s3://bkt/configs/analysis_config.json",
        output_s3_uri="s3://bkt/out",
        schedule_cron_expression=CronExpressionGenerator.daily_every_x_hours(6, 2),
        enable_cloudwatch_metrics=False,
    )
    m._wait_for_schedule_changes_to_apply = lambda: None
    m.update_monitoring_schedule(schedule_cron_expression=CronExpressionGenerator.hourly())


def case_explainability_batch_now(session):
    m = monitor(ModelExplainabilityMonitor, session, full=False)
    config = ExplainabilityAnalysisConfig(
        clarify.SHAPConfig(**SHAP_CONFIG),
        clarify.ModelConfig(**MODEL_CONFIG),
        headers=["customer_gender_female", "f2"],
        label_headers=["fraud_prob"],
    )
    m.create_monitoring_schedule(
        batch_transform_input=BatchTransformInput(
            **{**BATCH_INPUT, "dataset_format": MonitoringDatasetFormat.json(lines=True)}
        ),
        analysis_config=config,
        output_s3_uri="s3://bkt/explain/output",
        monitor_schedule_name="explain-once",
        schedule_cron_expression=CronExpressionGenerator.now(),
        data_analysis_start_time="-PT5H",
        data_analysis_end_time="-PT1H",
    )


BATCH_FORMATS = {
    "csv_header": lambda: MonitoringDatasetFormat.csv(header=True),
    "csv_no_header": lambda: MonitoringDatasetFormat.csv(header=False),
    "json_document": lambda: MonitoringDatasetFormat.json(lines=False),
    "parquet": lambda: MonitoringDatasetFormat.parquet(),
}


def bias_batch_case(format_name):
    def case(session):
        m = monitor(ModelBiasMonitor, session, full=False)
        m.create_monitoring_schedule(
            batch_transform_input=BatchTransformInput(
                **{
                    **BATCH_INPUT,
                    "dataset_format": BATCH_FORMATS[format_name](),
                    "probability_attribute": "score",
                    "probability_threshold_attribute": 0.4,
                }
            ),
            ground_truth_input="s3://bkt/ground-truth",
            analysis_config="s3://bkt/configs/analysis_config.json",
            output_s3_uri="s3://bkt/batch/output",
            monitor_schedule_name=f"bias-batch-{format_name.replace('_', '-')}",
            schedule_cron_expression=CronExpressionGenerator.hourly(),
        )

    return case


def case_explainability_endpoint_uri(session):
    m = monitor(ModelExplainabilityMonitor, session, full=True)
    m.create_monitoring_schedule(
        endpoint_input=EndpointInput(**{**ENDPOINT_INPUT, "probability_attribute": None}),
        analysis_config="s3://bkt/configs/explain.json",
        output_s3_uri="s3://bkt/explain/output",
        constraints="s3://bkt/baseline/analysis.json",
        monitor_schedule_name="explain-hourly",
        schedule_cron_expression=CronExpressionGenerator.hourly(),
    )


CASES = {
    "bias_endpoint_full": case_bias_endpoint_full,
    "bias_defaults": case_bias_defaults,
    "bias_base_name_and_update": case_bias_base_name_and_update,
    "explainability_batch_now": case_explainability_batch_now,
    "explainability_endpoint_uri": case_explainability_endpoint_uri,
    **{f"bias_batch_{name}": bias_batch_case(name) for name in BATCH_FORMATS},
}


def main() -> None:
    out = {
        "sdk_version": version("sagemaker"),
        "fixed_time": FIXED_TIME,
        "fixed_uuid": str(FIXED_UUID),
        "inputs": {
            "role": ROLE,
            "bias_config": BIAS_CONFIG,
            "shap_config": SHAP_CONFIG,
            "model_config": MODEL_CONFIG,
            "monitor": MONITOR,
            "endpoint_input": ENDPOINT_INPUT,
            "batch_input": BATCH_INPUT,
        },
        "cases": {},
    }
    for name, case in CASES.items():
        session = recording_session()
        with (
            mock.patch("time.time", return_value=FIXED_TIME),
            mock.patch("uuid.uuid4", return_value=FIXED_UUID),
            mock.patch(
                "sagemaker.image_uris.retrieve",
                return_value="306415355426.dkr.ecr.us-west-2.amazonaws.com/sagemaker-clarify-processing:1.0",
            ),
        ):
            case(session)
        out["cases"][name] = calls_of(session)
    (HERE / "sdk_requests.json").write_text(json.dumps(out, indent=2, sort_keys=False) + "\n")
    print(f"wrote {HERE / 'sdk_requests.json'} ({len(out['cases'])} cases)")


if __name__ == "__main__":
    main()
