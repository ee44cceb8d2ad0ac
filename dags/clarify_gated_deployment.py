"""Gated deployment: train -> bias audit -> fairness gate -> deploy, or alert. Runs offline.

Tasks::

    prepare_data -> train_model -> bias_audit -> fairness_gate -> deploy_model
                                                              \\-> alert_fairness_team

* ``prepare_data`` generates seeded loan applications (nothing is downloaded).
* ``train_model`` fits a scikit-learn logistic regression (``gender`` is one of its features).
* ``bias_audit`` is a :class:`ClarifyPostTrainingBiasOperator` with ``compute="local"``: the open
  engine runs on the worker, calls the trained model and writes ``analysis.json`` exactly as the
  SageMaker Clarify container would.
* ``fairness_gate`` is a :class:`ClarifyCheckBranchOperator`: the four-fifths rule on Disparate
  Impact (``DI`` in [0.8, 1.25]) and a +-0.1 bar on the difference in positive proportions of the
  predictions (``DPPL``). With no violation it follows ``deploy_model``; otherwise it writes
  ``constraint_violations.json`` next to ``analysis.json`` and follows ``alert_fairness_team``.
* ``deploy_model`` publishes the model into a local "model registry" folder (offline stand-in for
  SageMaker hosting); ``alert_fairness_team`` writes an alert file with the violations.

The data and the injected bias (DAG param ``bias_strength``)
----------------------------------------------------------------
4,000 applications (3,000 train, 1,000 audit; seed 20240301) with ``gender`` (40% female), ``age``,
``income`` (thousands), ``credit_amount``, ``duration`` (months) and the label ``approved``::

    log-odds(approved) = -0.4 + 0.06 * (income - 45) - 0.0002 * (credit_amount - 4000)
                         - 0.02 * (duration - 24) + bias_strength * [gender == male]

Income does not depend on gender, so with ``bias_strength = 0`` the labels, and therefore the model,
treat both groups alike: DI is about 1 and the model is deployed. The default ``bias_strength = 1.5``
multiplies a man's odds of approval by e^1.5 (about 4.5); the model learns it, DI falls far below 0.8
and the gate blocks the deployment.

Try it::

    airflow dags test clarify_gated_deployment                                  # biased: alert
    airflow dags test clarify_gated_deployment -c '{"bias_strength": 0.0}'      # fair: deploy

Outputs go under the ``output_dir`` param (default ``$CLARIFY_GATED_OUTPUT`` or
``demo-output/gated-deployment`` in the project), one folder per run.

On AWS
------
Set ``compute="sagemaker"`` (S3 paths, a role, a SageMaker model) on ``bias_audit`` and replace
``deploy_model`` with the amazon provider's operators, keeping the task id the gate routes to::

    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerEndpointOperator

    deploy_model = SageMakerEndpointOperator(task_id="deploy_model", config={...}, wait_for_completion=True)

The gate works the same on an ``s3://`` analysis result.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_clarify.analysis import BiasConfig, DataConfig, ModelConfig
from airflow_provider_clarify.operators.checks import ClarifyCheckBranchOperator
from airflow_provider_clarify.operators.clarify import ClarifyPostTrainingBiasOperator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = os.environ.get("CLARIFY_GATED_OUTPUT") or str(
    PROJECT_ROOT / "demo-output" / "gated-deployment"
)

SEED = 20240301
N_TRAIN = 3000
N_AUDIT = 1000
HEADERS = ["gender", "age", "income", "credit_amount", "duration", "approved"]
FEATURES = HEADERS[:-1]
DEFAULT_BIAS_STRENGTH = 1.5

#: The gate: four-fifths rule on DI, and at most 10 points of difference in predicted approval rates.
FAIRNESS_THRESHOLDS = {"DI": (0.8, 1.25), "DPPL": (-0.1, 0.1)}

#: One folder per DAG run (run ids contain ':' and '+', which are awkward in paths).
RUN_DIR = "{{ params.output_dir }}/runs/{{ run_id | replace(':', '-') | replace('+', '-') }}"


def run_dir(context) -> Path:
    """The Python twin of :data:`RUN_DIR`."""
    safe = context["run_id"].replace(":", "-").replace("+", "-")
    return Path(context["params"]["output_dir"]) / "runs" / safe


def generate_applications(n: int, seed: int, bias_strength: float) -> list[list]:
    """Seeded loan applications; ``bias_strength`` is the log-odds bonus of being male (module docstring)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    gender = np.where(rng.random(n) < 0.4, "female", "male")
    age = rng.integers(19, 70, n)
    income = np.round(rng.gamma(6.0, 7.5, n), 1)
    credit_amount = rng.integers(500, 12000, n)
    duration = rng.choice([6, 12, 18, 24, 36, 48, 60], n)
    log_odds = (
        -0.4
        + 0.06 * (income - 45)
        - 0.0002 * (credit_amount - 4000)
        - 0.02 * (duration - 24)
        + bias_strength * (gender == "male")
    )
    approved = (rng.random(n) < 1.0 / (1.0 + np.exp(-log_odds))).astype(int)
    return [
        [g, int(a), float(i), int(c), int(d), int(y)]
        for g, a, i, c, d, y in zip(gender, age, income, credit_amount, duration, approved, strict=True)
    ]


def _write_csv(path: Path, rows: list[list]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    tmp.replace(path)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


BIAS = BiasConfig(label_values_or_threshold=[1], facet_name="gender", facet_values_or_threshold=["female"])
# On SageMaker this names a model created with CreateModel; locally `local_model` supplies predictions.
MODEL = ModelConfig(
    model_name="clarify-gated-model",
    instance_type="ml.m5.xlarge",
    instance_count=1,
    accept_type="text/csv",
    content_type="text/csv",
)


@dag(
    dag_id="clarify_gated_deployment",
    schedule=None,
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "fairness-gate", "offline"],
    doc_md=__doc__,
    params={
        "bias_strength": Param(
            DEFAULT_BIAS_STRENGTH,
            type="number",
            description="Log-odds bonus for men injected into the labels (0 = fair data, fair model).",
        ),
        "output_dir": Param(
            DEFAULT_OUTPUT, type="string", description="Where data, results and the registry go."
        ),
    },
)
def clarify_gated_deployment():
    @task
    def prepare_data(**context) -> str:
        """Generate the applications and split them into training and audit sets."""
        bias_strength = float(context["params"]["bias_strength"])
        rows = generate_applications(N_TRAIN + N_AUDIT, SEED, bias_strength)
        data_dir = run_dir(context) / "data"
        _write_csv(data_dir / "train.csv", rows[:N_TRAIN])
        _write_csv(data_dir / "audit.csv", rows[N_TRAIN:])
        print(
            f"bias_strength={bias_strength}: wrote {N_TRAIN} training and {N_AUDIT} audit rows to {data_dir}"
        )
        return str(data_dir)

    @task
    def train_model(data_dir: str, **context) -> str:
        """Fit one-hot(gender) + scaled numeric features -> logistic regression; save it with joblib."""
        import csv

        import joblib
        import numpy as np
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        with (Path(data_dir) / "train.csv").open(newline="") as handle:
            rows = list(csv.reader(handle))[1:]
        features = np.array([[r[0], *map(float, r[1:5])] for r in rows], dtype=object)
        labels = np.array([int(r[5]) for r in rows])
        model = make_pipeline(
            ColumnTransformer(
                [
                    ("gender", OneHotEncoder(handle_unknown="ignore"), [0]),
                    ("numeric", StandardScaler(), [1, 2, 3, 4]),
                ]
            ),
            LogisticRegression(max_iter=1000),
        )
        model.fit(features, labels)
        path = run_dir(context) / "model" / "model.joblib"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        joblib.dump(model, tmp)
        tmp.replace(path)
        print(f"training accuracy {model.score(features, labels):.3f}; model saved to {path}")
        return str(path)

    bias_audit = ClarifyPostTrainingBiasOperator(
        task_id="bias_audit",
        compute="local",
        data_config=DataConfig(
            s3_data_input_path=f"{RUN_DIR}/data/audit.csv",
            s3_output_path=f"{RUN_DIR}/bias_audit",
            label="approved",
            headers=HEADERS,
            dataset_type="text/csv",
        ),
        bias_config=BIAS,
        model_config=MODEL,
        methods=["DPPL", "DI", "AD", "RD"],
        # Our own train_model task wrote this file, so unpickling it is trusted.
        local_model={"artifact": f"{RUN_DIR}/model/model.joblib", "format": "joblib", "trust": True},
    )

    fairness_gate = ClarifyCheckBranchOperator(
        task_id="fairness_gate",
        analysis_result_uri=bias_audit.output,
        thresholds=FAIRNESS_THRESHOLDS,
        on_pass="deploy_model",
        on_violation="alert_fairness_team",
    )

    @task
    def deploy_model(model_path: str, **context) -> str:
        """Publish the approved model into the local registry folder (offline stand-in for an endpoint)."""
        import shutil

        ti = context["ti"]
        version = run_dir(context).name
        target = Path(context["params"]["output_dir"]) / "registry" / "clarify-gated-model" / version
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / ".model.joblib.tmp"
        shutil.copyfile(model_path, tmp)
        tmp.replace(target / "model.joblib")
        _write_json(
            target / "model_card.json",
            {
                "model": "clarify-gated-model",
                "version": version,
                "fairness_gate": "passed",
                "bias_report": ti.xcom_pull(task_ids="fairness_gate", key="calculated_baseline_constraints"),
                "thresholds": {k: list(v) for k, v in FAIRNESS_THRESHOLDS.items()},
            },
        )
        print(f"deployed {model_path} to {target}")
        return str(target)

    @task
    def alert_fairness_team(**context) -> str:
        """Record why the model was blocked: an alert file with the violations (swap in email/Slack)."""
        ti = context["ti"]
        violations = ti.xcom_pull(task_ids="fairness_gate", key="violations") or []
        report = ti.xcom_pull(task_ids="fairness_gate", key="violation_report")
        alert = run_dir(context) / "ALERT.json"
        _write_json(
            alert,
            {
                "model": "clarify-gated-model",
                "blocked": True,
                "violation_report": report,
                "violations": violations,
            },
        )
        lines = [
            f"Deployment blocked by the fairness gate ({len(violations)} violation(s)); report: {report}"
        ]
        lines += [
            f"  {v['metric']} {v['facet']}={v['group']}: {v['value']} not in {v['bound']}" for v in violations
        ]
        print("\n".join(lines))
        return str(alert)

    model_path = train_model(prepare_data())
    model_path >> bias_audit >> fairness_gate
    fairness_gate >> [deploy_model(model_path), alert_fairness_team()]


clarify_gated_deployment()
