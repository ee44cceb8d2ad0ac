"""Offline quickstart: a complete fairness and explainability audit with no AWS account.

``make demo`` runs this DAG with ``airflow dags test``. Every analysis task uses
``compute="local"``: the open engine runs on the worker (in a child process) and writes the same
files a SageMaker Clarify job would, under ``demo-output/`` in the project (or
``$CLARIFY_DEMO_OUTPUT``). Switching an operator to ``compute="sagemaker"`` (with S3 locations and a
role) runs the same audit as a managed Clarify job.

Tasks::

    prepare_data -> train_model -> pre_training_bias -> post_training_bias -> explainability
                 -> fairness_gate -> summary

The data (seeded, generated on the fly; nothing is downloaded)
-------------------------------------------------------------
3,000 synthetic loan applications with columns ``gender``, ``age``, ``income`` (thousands),
``credit_amount``, ``duration`` (months), ``housing`` and the label ``approved`` (1 = approved).
Approval is drawn from a logistic model::

    log-odds = -1.0 + 0.04 * (income - 45) - 0.00015 * (credit_amount - 4000)
               - 0.02 * (duration - 24) + 0.4 * [housing == own]
               + 0.9 * [gender == male]                      <- the injected bias

so with everything else equal a man's odds of approval are e^0.9 ~ 2.5 times a woman's. About 40% of
the applicants are women. Income and the other features do not depend on gender, so every
difference between the groups comes from the injected term. The model (a scikit-learn logistic
regression trained on the first 2,000 rows, gender included as a feature) learns that term; the
audit runs on the other 1,000 rows.

What the summary shows (facet gender=female, positive label approved=1; seed 20240301):

* pre-training: CI = +0.19 (0.405 of the rows are women: (n_men - n_women) / n), DPL = +0.15
  (approval rate 0.405 for men vs 0.257 for women in the labels);
* post-training: the model widens the gap - DPPL ~ +0.25 and DI ~ 0.33 (women are approved a third
  as often as men), far outside the four-fifths rule;
* SHAP: gender is among the top three features by mean |SHAP|, after income and credit amount;
  age, which plays no part in the generated approvals, comes last;
* the gate (DI in [0.8, 1.25], DPPL in [-0.1, 0.1]) reports both violations. It runs with
  ``fail_on_violation=False`` so the demo reaches the summary; with the default ``True`` the task
  fails and stops whatever depends on it (a model deployment, say).
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_clarify.analysis import BiasConfig, DataConfig, ModelConfig, PDPConfig, SHAPConfig
from airflow_provider_clarify.notifiers.clarify import ClarifyViolationNotifier
from airflow_provider_clarify.operators.checks import ClarifyCheckOperator
from airflow_provider_clarify.operators.clarify import (
    ClarifyExplainabilityOperator,
    ClarifyPostTrainingBiasOperator,
    ClarifyPreTrainingBiasOperator,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: Where everything is written; tests and CI point it at a temporary directory.
OUTPUT = Path(os.environ.get("CLARIFY_DEMO_OUTPUT") or PROJECT_ROOT / "demo-output").resolve()
DATA_DIR = OUTPUT / "data"
MODEL_PATH = OUTPUT / "model" / "model.joblib"

SEED = 20240301
N_TRAIN = 2000
N_AUDIT = 1000
HEADERS = ["gender", "age", "income", "credit_amount", "duration", "housing", "approved"]
FEATURES = HEADERS[:-1]
CATEGORICAL = ["gender", "housing"]
MALE_BIAS_LOG_ODDS = 0.9

COMPUTE = "local"  # change to "sagemaker" (and use s3:// paths, a role and a model) to run on SageMaker


def generate_applications(n: int, seed: int, bias_log_odds: float = MALE_BIAS_LOG_ODDS) -> list[list]:
    """Seeded loan applications with the gender bias described in the module docstring.

    ``bias_log_odds`` is the injected term (the DAG's ``bias_log_odds`` param; ``make demo-history``
    varies it over logical dates so the history page has a trend to show). Pure Python (``random``),
    so preparing the data imports no numeric library.
    """
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        gender = "female" if rng.random() < 0.4 else "male"
        age = rng.randint(19, 69)
        income = round(rng.gammavariate(6.0, 7.5), 1)
        credit_amount = rng.randint(500, 11999)
        duration = rng.choice([6, 12, 18, 24, 36, 48, 60])
        housing = rng.choices(["own", "rent", "free"], weights=[0.6, 0.3, 0.1])[0]
        log_odds = (
            -1.0
            + 0.04 * (income - 45)
            - 0.00015 * (credit_amount - 4000)
            - 0.02 * (duration - 24)
            + 0.4 * (housing == "own")
            + bias_log_odds * (gender == "male")
        )
        approved = int(rng.random() < 1.0 / (1.0 + math.exp(-log_odds)))
        rows.append([gender, age, income, credit_amount, duration, housing, approved])
    return rows


def _write_csv(path: Path, rows: list[list]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    tmp.replace(path)


def _read_csv(path: Path) -> tuple:
    """Feature matrix (object array, dataset column order) and labels of a demo CSV."""
    import csv

    import numpy as np

    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    features = np.array(
        [[r[0], float(r[1]), float(r[2]), float(r[3]), float(r[4]), r[5]] for r in rows], dtype=object
    )
    labels = np.array([int(r[6]) for r in rows])
    return features, labels


# The analysis configs: the same objects (and import) a SageMaker Python SDK notebook uses.
BIAS = BiasConfig(label_values_or_threshold=[1], facet_name="gender", facet_values_or_threshold=["female"])
# On SageMaker this names a model created with CreateModel; locally `local_model` replaces it.
MODEL = ModelConfig(
    model_name="clarify-quickstart-model",
    instance_type="ml.m5.xlarge",
    instance_count=1,
    accept_type="text/csv",
    content_type="text/csv",
)
LOCAL_MODEL = {"artifact": str(MODEL_PATH), "format": "joblib", "trust": True}  # our own task wrote it


def _data_config(stage: str) -> DataConfig:
    return DataConfig(
        s3_data_input_path=str(DATA_DIR / "audit.csv"),
        s3_output_path=str(OUTPUT / stage),
        label="approved",
        headers=HEADERS,
        dataset_type="text/csv",
    )


@dag(
    dag_id="clarify_quickstart_audit",
    schedule=None,
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "quickstart", "offline"],
    doc_md=__doc__,
    # `make demo-history` runs the DAG for several logical dates with other values (docs/history.md).
    params={
        "seed": Param(SEED, type="integer", description="seed of the generated applications"),
        "bias_log_odds": Param(MALE_BIAS_LOG_ODDS, type="number", description="injected gender bias"),
    },
)
def clarify_quickstart_audit():
    @task
    def prepare_data(params=None) -> str:
        """Generate the seeded applications and split them into training and audit sets."""
        rows = generate_applications(N_TRAIN + N_AUDIT, int(params["seed"]), float(params["bias_log_odds"]))
        _write_csv(DATA_DIR / "train.csv", rows[:N_TRAIN])
        _write_csv(DATA_DIR / "audit.csv", rows[N_TRAIN:])
        return str(DATA_DIR)

    @task
    def train_model(data_dir: str) -> str:
        """Fit a one-hot + logistic-regression pipeline and save it with joblib."""
        import joblib
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        features, labels = _read_csv(Path(data_dir) / "train.csv")
        categorical = [FEATURES.index(c) for c in CATEGORICAL]
        numeric = [i for i in range(len(FEATURES)) if i not in categorical]
        model = make_pipeline(
            ColumnTransformer(
                [
                    ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
                    ("numeric", StandardScaler(), numeric),
                ]
            ),
            LogisticRegression(max_iter=1000),
        )
        model.fit(features, labels)
        MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
        tmp = MODEL_PATH.with_suffix(".tmp")
        joblib.dump(model, tmp)
        tmp.replace(MODEL_PATH)
        print(f"trained {type(model[-1]).__name__}: training accuracy {model.score(features, labels):.3f}")
        return str(MODEL_PATH)

    pre_training = ClarifyPreTrainingBiasOperator(
        task_id="pre_training_bias",
        compute=COMPUTE,
        data_config=_data_config("pre_training_bias"),
        bias_config=BIAS,
        methods=["CI", "DPL", "KL", "JS", "TVD", "KS"],
    )
    post_training = ClarifyPostTrainingBiasOperator(
        task_id="post_training_bias",
        compute=COMPUTE,
        data_config=_data_config("post_training_bias"),
        bias_config=BIAS,
        model_config=MODEL,
        methods=["DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "TE"],
        local_model=LOCAL_MODEL,
    )
    explainability = ClarifyExplainabilityOperator(
        task_id="explainability",
        compute=COMPUTE,
        data_config=_data_config("explainability"),
        model_config=MODEL,
        explainability_config=[
            SHAPConfig(num_samples=64, num_clusters=1, seed=7, agg_method="mean_abs"),
            PDPConfig(features=["income", "gender"], grid_resolution=10),
        ],
        local_model=LOCAL_MODEL,
    )

    # The gate: the four-fifths rule on disparate impact and a +-0.1 band on DPPL. The demo's model is
    # biased on purpose, so the gate reports violations; fail_on_violation=False keeps the demo
    # running to the summary. In production leave it True: the task fails and stops the deployment.
    gate = ClarifyCheckOperator(
        task_id="fairness_gate",
        analysis_result_uri=post_training.output,
        thresholds={"DI": "[0.8, 1.25]", "DPPL": (-0.1, 0.1)},
        fail_on_violation=False,
        # When the gate fails (with fail_on_violation=True, or when it cannot read the result), post the
        # violations to Slack through the Slack provider's `slackwebhook` connection "clarify_alerts"
        # (docs/history.md). Every audit task also records its metrics for the history page.
        on_failure_callback=ClarifyViolationNotifier(slack_webhook_conn_id="clarify_alerts"),
    )

    @task
    def summary(pre_uri: str, post_uri: str, explain_uri: str, **context) -> str:
        """Print the headline numbers and where the reports are; also save them to summary.txt."""
        from airflow_provider_clarify.analysis import AnalysisResult

        def load(uri: str) -> AnalysisResult:
            return AnalysisResult.from_json(Path(uri, "analysis.json").read_text())

        pre, post, explain = load(pre_uri), load(post_uri), load(explain_uri)
        lines = ["", "Clarify quickstart audit (compute=local) - facet gender=female, label approved=1", ""]
        lines.append(f"  {'stage':<14}{'metric':<8}{'value':>10}")
        for result, stage in ((pre, "pre_training"), (post, "post_training")):
            for row in result.metrics_table():
                value = "error" if row.value is None else f"{row.value:+.4f}"
                lines.append(f"  {stage:<14}{row.metric:<8}{value:>10}")
        shap = next(iter(explain.kernel_shap.values())).global_shap_values
        lines += ["", "  global SHAP (mean |SHAP|):"]
        for name, value in sorted(shap.items(), key=lambda item: -abs(item[1])):
            lines.append(f"    {name:<14}{value:.4f}")
        ti = context["ti"]
        passed = ti.xcom_pull(task_ids="fairness_gate", key="passed")
        violations = ti.xcom_pull(task_ids="fairness_gate", key="violations") or []
        lines += [
            "",
            f"  fairness gate (DI in [0.8, 1.25], DPPL in [-0.1, 0.1]): {'PASSED' if passed else 'VIOLATED'}",
        ]
        for violation in violations:
            value = violation["value"]
            value = f"{value:+.4f}" if isinstance(value, float) else str(value)
            lines.append(f"    {violation['metric']:<6}{value:>10}  outside {violation['bound']}")
        started = context["dag_run"].start_date
        elapsed = (pendulum.now("UTC") - started).total_seconds() if started else float("nan")
        lines += [
            "",
            f"  reports: {Path(pre_uri, 'report.html')}",
            f"           {Path(post_uri, 'report.html')}",
            f"           {Path(explain_uri, 'report.html')}",
            f"  DAG run time so far: {elapsed:.1f} s",
            "",
        ]
        text = "\n".join(lines)
        print(text)
        (OUTPUT / "summary.txt").write_text(text)
        return text

    trained = train_model(prepare_data())
    trained >> pre_training >> post_training >> explainability >> gate
    gate >> summary(pre_training.output, post_training.output, explainability.output)


clarify_quickstart_audit()
