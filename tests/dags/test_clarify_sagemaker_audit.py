"""Whole-DAG runs of dags/clarify_sagemaker_audit.py with dag.test() against the fake AWS.

The DAG file is copied into its own folder and a LocalDagBundle points at it (see tests/support/dag_runs.py). Jobs are held ``InProgress`` for several polls (``scripted_status``), so each analysis task really
defers, the trigger polls DescribeProcessingJob over aiobotocore (run inline by dag.test), the task
resumes in ``execute_complete`` and the downstream task receives the three result URIs.

moto never runs the Clarify container, so the test writes each job's ``analysis.json`` itself: the
smclarify golden output for the ``sex_female`` case (``tests/data/golden``) and a kernel_shap
block in the shape the Clarify container writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pendulum
import pytest

from airflow_provider_clarify.operators.clarify import clarify_job_name
from airflow_provider_clarify.triggers.clarify import ClarifyProcessingJobTrigger
from tests.support.aws import ACCOUNT_ID, BUCKET, REGION
from tests.support.dag_runs import bundled_dag, folder_with, task_states as states, xcom
from tests.support.paths import DAGS_DIR, GOLDEN_DIR

DAG_FILE = DAGS_DIR / "clarify_sagemaker_audit.py"
DAG_ID = "clarify_sagemaker_audit"
GOLDEN = GOLDEN_DIR / "smclarify_golden.json"
LOGICAL_DATE = pendulum.datetime(2024, 3, 1, tz="UTC")
RUN_ID = f"manual__{LOGICAL_DATE.isoformat()}"
ROLE_NAME = "ClarifySageMakerRole"
TASKS = {
    "pre_training_bias": ("Clarify-Pretraining-Bias", "pre-training"),
    "post_training_bias": ("Clarify-Posttraining-Bias", "post-training"),
    "explainability": ("Clarify-Explainability", "explainability"),
}
SHAP = {"sex": 0.031, "credit_amount": 0.052, "age": 0.012, "job": 0.004, "housing": 0.002, "duration": 0.02}


def job_name(task_id: str) -> str:
    return clarify_job_name(TASKS[task_id][0], dag_id=DAG_ID, task_id=task_id, run_id=RUN_ID)


def run_folder(run_id: str) -> str:
    """The DAG's per-run result folder: the run id with ``:`` and ``+`` replaced."""
    return run_id.replace(":", "-").replace("+", "-")


def result_uri(task_id: str, run_id: str = RUN_ID) -> str:
    return f"s3://{BUCKET}/clarify/{run_folder(run_id)}/{TASKS[task_id][1]}"


DATASETS = ("train.csv", "scored.csv", "features.csv")
MODEL_NAME = "credit-model"


def golden_case() -> dict:
    return next(case for case in json.loads(GOLDEN.read_text()) if case["name"] == "sex_female")


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory) -> Path:
    return folder_with(tmp_path_factory, DAG_FILE, "sagemaker-audit-dags")


@pytest.fixture
def audit_dag(dag_folder, airflow_db, monkeypatch):
    return bundled_dag(monkeypatch, dag_folder, DAG_ID, bundle_name="sagemaker-audit-dags")


@pytest.fixture
def fake_aws(aws_conn, s3_bucket, moto_endpoint):
    """Role and the files the three jobs would write."""
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name=REGION)
    role_arn = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name=REGION).create_model(
        ModelName=MODEL_NAME,
        ExecutionRoleArn=role_arn,
        PrimaryContainer={"Image": "img", "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz"},
    )
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    for name in DATASETS:  # the jobs' inputs are checked before they start
        s3.put_object(Bucket=BUCKET, Key=f"credit/2024-03-01/{name}", Body=b"female,30,1\n")
    case = golden_case()
    bias = {
        "version": "1.0",
        "pre_training_bias_metrics": case["pre_training_bias_metrics"],
        "post_training_bias_metrics": case["post_training_bias_metrics"],
    }
    explanations = {
        "version": "1.0",
        "explanations": {"kernel_shap": {"label0": {"global_shap_values": SHAP, "expected_value": 0.61}}},
    }
    for task_id, document in (
        ("pre_training_bias", bias),
        ("post_training_bias", bias),
        ("explainability", explanations),
    ):
        key = result_uri(task_id).split(f"{BUCKET}/", 1)[1] + "/analysis.json"
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())
    return s3


@pytest.fixture
def trigger_runs(monkeypatch) -> list[str]:
    """Names of the jobs the triggerer path waited for (dag.test runs triggers in line)."""
    seen: list[str] = []
    original = ClarifyProcessingJobTrigger.run

    def run(self):
        seen.append(self.job_name)
        return original(self)

    monkeypatch.setattr(ClarifyProcessingJobTrigger, "run", run)
    return seen


def run_audit(dag):
    return dag.test(
        logical_date=LOGICAL_DATE,
        run_after=LOGICAL_DATE,
        run_conf={"bucket": BUCKET, "role": ROLE_NAME, "check_interval": 0.5},
    )


def test_every_example_dag_imports_cleanly(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert DAG_ID in bag.dag_ids
    dag = bag.get_dag(DAG_ID)
    assert dag.catchup is False
    assert dag.get_task("explainability").downstream_task_ids == {"summarize"}
    assert dag.get_task("pre_training_bias").downstream_task_ids == {"post_training_bias", "summarize"}


def test_audit_defers_polls_resumes_and_hands_uris_downstream(
    audit_dag, fake_aws, scripted_status, trigger_runs
):
    for task_id in TASKS:
        scripted_status(job_name(task_id), ["InProgress", "InProgress", "Completed"])

    run = run_audit(audit_dag)

    assert states(run) == {
        "pre_training_bias": "success",
        "post_training_bias": "success",
        "explainability": "success",
        "summarize": "success",
    }
    assert trigger_runs == [job_name(t) for t in TASKS]
    for task_id in TASKS:
        assert scripted_status.seen[job_name(task_id)] == ["InProgress", "InProgress", "Completed"]
        assert xcom(run, task_id) == result_uri(task_id)
        assert xcom(run, task_id, "job_name") == job_name(task_id)
        assert xcom(run, task_id, "job_arn") == (
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:processing-job/{job_name(task_id)}"
        )
        assert xcom(run, task_id, "analysis_config_uri") == (
            f"{result_uri(task_id)}/{job_name(task_id)}/analysis_config.json"
        )
    assert xcom(run, "pre_training_bias", "_link_ClarifyProcessingJobLink") == (
        f"https://console.aws.amazon.com/sagemaker/home?region={REGION}"
        f"#/processing-jobs/{job_name('pre_training_bias')}"
    )
    assert xcom(run, "explainability", "_link_ClarifyAnalysisResultLink") == (
        f"https://console.aws.amazon.com/s3/buckets/{BUCKET}?region={REGION}&prefix=clarify/{run_folder(RUN_ID)}/explainability/"
    )

    summary = xcom(run, "summarize")
    golden = golden_case()
    expected_pre = {
        m["name"]: m["value"] for m in golden["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]
    }
    assert summary["pre_training"] == expected_pre
    assert summary["post_training"]["DPPL"] == pytest.approx(0.269690908957706)
    assert summary["top_features"] == [
        {"feature": "credit_amount", "global_shap": 0.052},
        {"feature": "sex", "global_shap": 0.031},
        {"feature": "duration", "global_shap": 0.02},
    ]
    assert summary["results"] == {
        "pre_training": result_uri("pre_training_bias"),
        "post_training": result_uri("post_training_bias"),
        "explainability": result_uri("explainability"),
    }

    uploaded = json.loads(
        fake_aws.get_object(
            Bucket=BUCKET, Key=f"clarify/{run_folder(RUN_ID)}/pre-training/analysis_config.json"
        )["Body"].read()
    )
    assert uploaded["facet"] == [{"name_or_index": "sex", "value_or_threshold": ["female"]}]
    assert uploaded["excluded_columns"] == ["score", "predicted"]


def test_failed_job_fails_its_task_without_retries_and_stops_the_audit(
    audit_dag, fake_aws, scripted_status, trigger_runs
):
    reason = "ClientError: Unable to locate the facet."
    scripted_status(
        job_name("pre_training_bias"), ["InProgress", "InProgress", "Failed"], failure_reason=reason
    )

    run = run_audit(audit_dag)

    # AirflowFailException: "failed", not "up_for_retry", although the DAG sets retries=2.
    assert states(run) == {
        "pre_training_bias": "failed",
        "post_training_bias": "upstream_failed",
        "explainability": "upstream_failed",
        "summarize": "upstream_failed",
    }
    assert trigger_runs == [job_name("pre_training_bias")]
    assert scripted_status.seen[job_name("pre_training_bias")] == ["InProgress", "InProgress", "Failed"]


@pytest.fixture
def jobs_write_their_results(fake_aws, monkeypatch):
    """Each processing job writes the ``analysis.json`` of its task to its own output, as Clarify does
    (moto runs no container); needed when the output folder depends on a run id known only at run time."""
    from moto.s3.models import s3_backends
    from moto.sagemaker.models import SageMakerModelBackend

    documents = {
        folder: json.loads(
            fake_aws.get_object(
                Bucket=BUCKET, Key=f"{result_uri(task_id).split(f'{BUCKET}/', 1)[1]}/analysis.json"
            )["Body"].read()
        )
        for task_id, (_, folder) in TASKS.items()
    }
    original = SageMakerModelBackend.create_processing_job

    def create(self, *args, **kwargs):
        job = original(self, *args, **kwargs)
        output = kwargs["processing_output_config"]["Outputs"][0]["S3Output"]["S3Uri"]
        bucket, key = output[len("s3://") :].split("/", 1)
        document = documents[key.rsplit("/", 1)[-1]]
        s3_backends[ACCOUNT_ID]["aws"].put_object(
            bucket, f"{key}/analysis.json", json.dumps(document).encode()
        )
        return job

    monkeypatch.setattr(SageMakerModelBackend, "create_processing_job", create)


def test_a_manual_run_without_a_logical_date_audits_and_names_everything_by_run_id(
    audit_dag, fake_aws, jobs_write_their_results
):
    """Airflow 3 manual runs have no logical date: ``{{ ds }}``/``ts_nodash`` are undefined there."""
    run = audit_dag.test(
        logical_date=None,
        run_after=LOGICAL_DATE,
        run_conf={"bucket": BUCKET, "role": ROLE_NAME, "check_interval": 0.5},
    )

    assert run.logical_date is None
    assert states(run) == {task_id: "success" for task_id in (*TASKS, "summarize")}
    for task_id, (prefix, _) in TASKS.items():
        assert xcom(run, task_id) == result_uri(task_id, run.run_id)
        assert xcom(run, task_id, "job_name") == clarify_job_name(
            prefix, dag_id=DAG_ID, task_id=task_id, run_id=run.run_id
        )
    assert xcom(run, "summarize")["post_training"]["DPPL"] == pytest.approx(0.269690908957706)
