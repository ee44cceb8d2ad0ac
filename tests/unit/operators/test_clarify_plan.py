"""One plan per run: the operators compose, convert and build the job request once (issue 10 item 8).

Counting wrappers around the real functions (they still run) measure how often a run converts the
dict arguments to config objects, composes the analysis config and builds the CreateProcessingJob
request; the jobs run on the moto server through a real ``aws`` connection.
"""

from __future__ import annotations

import json
from collections import Counter

import boto3
import pytest

from airflow_provider_clarify.analysis import analysis_config as analysis_config_module, processing_job
from airflow_provider_clarify.analysis.configs import (
    BiasConfig,
    DataConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
)
from airflow_provider_clarify.operators import clarify as operators_module
from airflow_provider_clarify.operators.clarify import (
    ClarifyPreTrainingBiasOperator,
    ClarifySuggestBaselineOperator,
)
from tests.support.aws import ACCOUNT_ID, BUCKET, REGION

DATA_URI = f"s3://{BUCKET}/credit/train.csv"
OUT_URI = f"s3://{BUCKET}/clarify/out"
HEADERS = ["sex", "age", "approved"]
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/ClarifyRole"


class _TI:
    dag_id, task_id, run_id, map_index, try_number = "d", "t", "manual__2024-03-01", -1, 1

    def __init__(self) -> None:
        self.xcoms: dict = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcoms[key] = value


@pytest.fixture
def counts(monkeypatch):
    """How often each step ran: ``conversions`` (dict -> config object, per class), ``compositions``
    (``AnalysisConfig._compose``) and ``requests`` (``processing_job_request``)."""
    counter: Counter = Counter()

    def counting(name, function):
        def wrapper(*args, **kwargs):
            counter[name] += 1
            return function(*args, **kwargs)

        return wrapper

    for cls in (DataConfig, BiasConfig, ModelConfig, ModelPredictedLabelConfig):
        monkeypatch.setattr(cls, "__init__", counting(f"conversions.{cls.__name__}", cls.__init__))
    monkeypatch.setattr(
        analysis_config_module.AnalysisConfig,
        "_compose",
        counting("compositions", analysis_config_module.AnalysisConfig._compose),
    )
    wrapped = counting("requests", processing_job.processing_job_request)
    for module_name in ("airflow_provider_clarify.analysis.plan", operators_module.__name__):
        try:
            module = __import__(module_name, fromlist=["x"])
        except ModuleNotFoundError:
            continue
        if hasattr(module, "processing_job_request"):
            monkeypatch.setattr(module, "processing_job_request", wrapped)
    return counter


@pytest.fixture
def aws(aws_conn, s3_bucket, moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="credit/train.csv", Body=b"female,30,1\n")
    return s3


DATA = {"s3_data_input_path": DATA_URI, "s3_output_path": OUT_URI, "label": "approved", "headers": HEADERS}
BIAS = {"label_values_or_threshold": [1], "facet_name": "sex", "facet_values_or_threshold": ["female"]}


def test_a_plain_run_converts_composes_and_builds_the_request_once(aws, counts):
    op = ClarifyPreTrainingBiasOperator(
        task_id="t", role=ROLE_ARN, data_config=dict(DATA), bias_config=dict(BIAS), check_interval=0.05
    )
    counts.clear()  # count the run only, not the construction
    op.execute({"ti": _TI()})
    assert dict(counts) == {
        "conversions.DataConfig": 1,
        "conversions.BiasConfig": 1,
        "compositions": 1,
        "requests": 1,
    }


def test_a_baseline_run_converts_composes_and_builds_the_request_once(aws, counts, moto_endpoint):
    boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION).create_model(
        ModelName="credit",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": "img", "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"},
    )
    ti = _TI()
    op = ClarifySuggestBaselineOperator(
        task_id="t",
        role=ROLE_ARN,
        monitoring_type="ModelBias",
        data_config=dict(DATA),
        bias_config=dict(BIAS),
        model_config={"model_name": "credit", "instance_count": 1, "instance_type": "ml.m5.xlarge"},
        model_predicted_label_config={"probability_threshold": 0.6},
        check_interval=0.05,
    )
    counts.clear()
    op.execute({"ti": ti})
    assert dict(counts) == {
        "conversions.DataConfig": 1,
        "conversions.BiasConfig": 1,
        "conversions.ModelConfig": 1,
        "conversions.ModelPredictedLabelConfig": 1,
        "compositions": 1,
        "requests": 1,
    }
    assert ti.xcoms["monitoring_input_attributes"] == {"probability_threshold_attribute": 0.6}
    assert json.dumps(ti.xcoms["monitoring_analysis_config"])  # derived from the one composed config
