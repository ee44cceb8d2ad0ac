"""Train, suggest a SHAP baseline, deploy with online explanations and data capture, call, read explanations.

The training DAG that ends in "deploy with explanations and capture on". Two targets (the ``target``
param):

* ``local`` (default; offline, no AWS): the open explainer, ``python -m airflow_provider_clarify.engine
  explain-server``, runs as a background process in front of a model server for the trained artifact,
  configured with the very ``ExplainerConfig`` dict that SageMaker would get; it writes SageMaker
  data-capture files under ``$CLARIFY_DEMO_OUTPUT/online/capture``. ``teardown`` stops it.
* ``sagemaker``: :class:`~airflow_provider_clarify.operators.deployment.ClarifyDeployEndpointOperator`
  creates the endpoint config (``ExplainerConfig`` + ``DataCaptureConfig``) and creates or updates the
  endpoint ``endpoint_name`` serving the SageMaker model ``model_name`` (create it from the artifact
  with the amazon provider's ``SageMakerModelOperator``); ``capture_s3_uri`` receives the capture.

Either way the ``invoke`` task calls the endpoint with boto3's ``sagemaker-runtime`` client (for the
local target through ``endpoint_url``): the same request, the same response document.

Tasks::

    prepare_data -> train_model -> suggest_baseline -> explainer_config -> choose_target
        -> deploy_local | deploy_sagemaker -> invoke -> read_explanations -> teardown

The data (seeded, generated on the fly): 2,000 loan applications with numeric features ``age``,
``income`` (thousands), ``credit_amount``, ``duration`` (months) and ``existing_loans``; approval odds
rise with income and fall with credit amount, duration and existing loans; age plays no part. The
model is a scikit-learn logistic regression. The baseline is a k-means summary of the training
features that fits SageMaker's 4 KB in-line limit. With 5 features every one of the 30 coalitions is
evaluated, so the explanations are exact Shapley values; ``EnableExplanations`` asks for
explanations of the applications the model would decline (score below 0.5) only.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from airflow_provider_clarify.operators.deployment import ClarifyDeployEndpointOperator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
OUTPUT = Path(os.environ.get("CLARIFY_DEMO_OUTPUT") or PROJECT_ROOT / "demo-output").resolve() / "online"
MODEL_PATH = OUTPUT / "model" / "model.joblib"
FEATURES = ["age", "income", "credit_amount", "duration", "existing_loans"]
SEED = 20240301
N_TRAIN = 2000
N_CALLS = 20


def generate_applications(n: int, seed: int) -> list[list[float]]:
    """Seeded applications: the features, then the label ``approved`` (see the module docstring)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        age = rng.randint(19, 69)
        income = round(rng.gammavariate(6.0, 7.5), 1)
        credit_amount = rng.randint(500, 11999)
        duration = rng.choice([6, 12, 18, 24, 36, 48, 60])
        loans = rng.choice([0, 0, 0, 1, 1, 2, 3])
        log_odds = (
            0.5
            + 0.05 * (income - 45)
            - 0.0002 * (credit_amount - 4000)
            - 0.03 * (duration - 24)
            - 0.5 * loans
        )
        approved = int(rng.random() < 1.0 / (1.0 + math.exp(-log_odds)))
        rows.append([age, income, credit_amount, duration, loans, approved])
    return rows


@dag(
    dag_id="clarify_online_explainability",
    schedule=None,
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "online-explainability", "deployment"],
    doc_md=__doc__,
    params={
        "target": Param("local", enum=["local", "sagemaker"]),
        "endpoint_name": Param("credit-explainer", type="string"),
        "model_name": Param("credit-model", type="string"),
        "capture_s3_uri": Param("s3://my-bucket/credit-explainer/capture", type="string"),
    },
)
def clarify_online_explainability():
    @task
    def prepare_data() -> str:
        rows = generate_applications(N_TRAIN + N_CALLS, SEED)
        path = OUTPUT / "data.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"train": rows[:N_TRAIN], "calls": [r[:-1] for r in rows[N_TRAIN:]]}))
        return str(path)

    @task
    def train_model(data_path: str) -> str:
        import joblib
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        train = json.loads(Path(data_path).read_text())["train"]
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit([r[:-1] for r in train], [r[-1] for r in train])
        MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, MODEL_PATH)
        return str(MODEL_PATH)

    @task
    def suggest_baseline(data_path: str) -> str:
        """A k-means summary of the training features that fits the 4,096-character in-line limit."""
        from airflow_provider_clarify.analysis.online import summarize_baseline

        train = json.loads(Path(data_path).read_text())["train"]
        baseline = summarize_baseline([r[:-1] for r in train], headers=FEATURES, max_rows=4, seed=SEED)
        print(f"SHAP baseline ({len(baseline)} characters):\n{baseline}")
        return baseline

    @task
    def explainer_config(baseline: str) -> dict:
        """The ExplainerConfig request dict: the same for SageMaker and for the open explainer."""
        from airflow_provider_clarify.analysis.online import (
            ClarifyExplainerConfig,
            ClarifyInferenceConfig,
            ClarifyShapBaselineConfig,
            ClarifyShapConfig,
            ExplainerConfig,
        )

        config = ExplainerConfig(
            ClarifyExplainerConfig(
                shap_config=ClarifyShapConfig(ClarifyShapBaselineConfig(shap_baseline=baseline), seed=SEED),
                enable_explanations="[0]<`0.5`",  # explain the applications the model would decline
                inference_config=ClarifyInferenceConfig(
                    feature_headers=FEATURES,
                    label_headers=["approved"],
                    probability_index=0,
                    max_record_count=500,
                ),
            )
        )
        return config.to_request_dict()

    @task.branch
    def choose_target(params: dict) -> str:
        return "deploy_local" if params["target"] == "local" else "deploy_sagemaker"

    @task
    def deploy_local(config: dict, model_path: str) -> dict:
        from airflow_provider_clarify.engine.explain_server.local import start_local_endpoint

        capture = {
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": str(OUTPUT / "capture"),
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
        endpoint = start_local_endpoint(
            config,
            OUTPUT / "endpoint",
            model_artifact=model_path,
            data_capture_config=capture,
            endpoint_name=get_current_context()["params"]["endpoint_name"],
        )
        print(f"open explainer serving at {endpoint['url']} (pids {endpoint['pids']})")
        return endpoint

    @task(trigger_rule="none_failed_min_one_success")
    def invoke(data_path: str, params: dict) -> str:
        """Call the endpoint with boto3 (SageMaker, or the local explainer through endpoint_url)."""
        import boto3

        calls = json.loads(Path(data_path).read_text())["calls"]
        body = "".join(",".join(str(v) for v in row) + "\n" for row in calls)
        local = get_current_context()["ti"].xcom_pull(task_ids="deploy_local")
        kwargs = {"endpoint_url": local["url"], "region_name": "us-east-1"} if local else {}
        if local:  # the local explainer does not check signatures; boto3 still needs some credentials
            kwargs.update(aws_access_key_id="local", aws_secret_access_key="local")
        client = boto3.client("sagemaker-runtime", **kwargs)
        answer = client.invoke_endpoint(
            EndpointName=params["endpoint_name"],
            Body=body.encode(),
            ContentType="text/csv",
            Accept="text/csv",
        )
        path = OUTPUT / "response.json"
        path.write_text(answer["Body"].read().decode())
        return str(path)

    @task
    def read_explanations(response_path: str) -> str:
        """Print, for each declined application, the features that pushed its score down the most."""
        document = json.loads(Path(response_path).read_text())
        scores = [float(line) for line in document["predictions"]["data"].split()]
        lines = []
        for i, record in enumerate(document["explanations"].get("kernel_shap", [])):
            if record is None:
                continue
            values = {f["feature_header"]: f["attributions"][0]["attribution"][0] for f in record}
            worst = sorted(values.items(), key=lambda item: item[1])[:2]
            reasons = ", ".join(f"{name} ({value:+.3f})" for name, value in worst)
            lines.append(f"application {i}: score {scores[i]:.3f}, declined mainly because of {reasons}")
        summary = "\n".join(lines) or "no application was declined"
        print(summary)
        (OUTPUT / "explanations.txt").write_text(summary + "\n")
        return summary

    @task(trigger_rule="all_done")
    def teardown() -> None:
        from airflow_provider_clarify.engine.explain_server.local import stop_local_endpoint

        local = get_current_context()["ti"].xcom_pull(task_ids="deploy_local")
        if local:
            stop_local_endpoint(local)

    data = prepare_data()
    model = train_model(data)
    config = explainer_config(suggest_baseline(data))
    local = deploy_local(config, model)
    deploy_sagemaker = ClarifyDeployEndpointOperator(
        task_id="deploy_sagemaker",
        endpoint_name="{{ params.endpoint_name }}",
        model_name="{{ params.model_name }}",
        instance_type="ml.m5.xlarge",
        explainer_config=config,  # the request dict from XCom, validated again before any AWS call
        data_capture_config={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "{{ params.capture_s3_uri }}",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    branch = choose_target()
    config >> branch >> [local, deploy_sagemaker]
    model >> branch
    response = invoke(data)
    [local, deploy_sagemaker] >> response
    read_explanations(response) >> teardown()


clarify_online_explainability()
