"""Offline audit beyond Clarify: confidence intervals, an intersectional scan and a gate that can say
"inconclusive" (docs/uncertainty.md).

Tasks::

    prepare_data -> bias_audit -> fairness_gate -> deploy_model | alert_fairness_team | review_small_groups
                               -> summary

The data (seeded, generated on the fly): 6,000 scored loan applications with ``gender`` (female,
male, and 30 applicants who gave another answer), ``age``, ``housing``, the label ``approved`` and the
model's decision ``predicted``. Two things are planted:

* an **interaction**: the model turns down half of the approvals it would give women over 60 (every
  other group, women under 60 included, is treated alike); the gender facet alone dilutes it
  (female DI 0.88, inside the four-fifths band);
* a **tiny group**: the 30 "other" applicants get fewer approvals by chance (DI 0.60), a value that
  a point-value gate would call a violation.

``bias_audit`` is a ``ClarifyBiasOperator`` on the open engine (``compute="local"``) with its
``confidence_intervals`` and ``intersections`` options; the gate
(DI in [0.8, 1.25] per gender group, ``interval_mode="inconclusive"``, ``min_group_size=50``)
follows ``review_small_groups``: no group violates beyond doubt, the 30 are too few to conclude.
The scan in ``intersectional_bias.json`` (and report.html) lists ``gender = female AND age = (60,
inf)`` first. ``summary`` prints both. Outputs go under the ``output_dir`` param (default
``demo-output/uncertainty-audit`` or ``$CLARIFY_UNCERTAINTY_OUTPUT``).
"""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path

import pendulum
from airflow.sdk import Param, dag, task

from airflow_provider_clarify.operators.checks import ClarifyCheckBranchOperator
from airflow_provider_clarify.operators.clarify import ClarifyBiasOperator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = os.environ.get("CLARIFY_UNCERTAINTY_OUTPUT") or str(
    PROJECT_ROOT / "demo-output" / "uncertainty-audit"
)
SEED = 20240302
ROWS = 6000
HEADERS = ["gender", "age", "housing", "approved", "predicted"]

BIAS_CONFIG = {"label_values_or_threshold": [1], "facet_name": "gender"}
CONFIDENCE_INTERVALS = {"level": 0.95, "resamples": 1000, "seed": 1}
INTERSECTIONS = {
    "facets": [{"name": "women_over_60", "conditions": [["gender", "==", "female"], ["age", ">", 60]]}],
    "scan_columns": ["gender", "age", "housing"],
    "bins": {"age": [30, 45, 60]},
    "min_group_size": 50,
    "correction": "holm",
}
RUN_DIR = "{{ params.output_dir }}/runs/{{ run_id | replace(':', '-') | replace('+', '-') }}"


def generate_applications(n: int, seed: int) -> list[list]:
    """Seeded applications with the planted interaction and the tiny group (module docstring)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        gender = "other" if i % 200 == 0 else ("female" if rng.random() < 0.45 else "male")
        age = rng.randint(19, 79)
        housing = rng.choices(["own", "rent", "free"], weights=[0.6, 0.3, 0.1])[0]
        approved = int(rng.random() < 0.55)
        predicted = approved if rng.random() < 0.85 else 1 - approved
        if gender == "female" and age > 60 and predicted and rng.random() < 0.5:
            predicted = 0  # the planted interaction
        if gender == "other" and predicted and rng.random() < 0.4:
            predicted = 0  # chance in a group of 30
        rows.append([gender, age, housing, approved, predicted])
    return rows


@dag(
    dag_id="clarify_uncertainty_audit",
    schedule=None,
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    tags=["clarify", "uncertainty", "offline"],
    params={"output_dir": Param(DEFAULT_OUTPUT, type="string")},
    doc_md=__doc__,
)
def clarify_uncertainty_audit():
    @task
    def prepare_data(run_dir: str) -> str:
        path = Path(run_dir) / "data" / "applications.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            writer.writerows(generate_applications(ROWS, SEED))
        tmp.replace(path)
        return str(path)

    data = prepare_data(RUN_DIR)
    # The open engine (compute="local"); the two options add the sidecars and the report sections.
    bias_audit = ClarifyBiasOperator(
        task_id="bias_audit",
        compute="local",
        data_config={
            "s3_data_input_path": RUN_DIR + "/data/applications.csv",
            "s3_output_path": RUN_DIR + "/bias_audit",
            "label": "approved",
            "headers": HEADERS,
            "predicted_label": "predicted",
            "dataset_type": "text/csv",
        },
        bias_config=BIAS_CONFIG,
        pre_training_methods=["CI", "DPL"],
        post_training_methods=["DPPL", "DI", "AD"],
        confidence_intervals=CONFIDENCE_INTERVALS,
        intersections=INTERSECTIONS,
    )
    data >> bias_audit
    audit = bias_audit.output

    fairness_gate = ClarifyCheckBranchOperator(
        task_id="fairness_gate",
        analysis_result_uri=audit,
        thresholds={"DI": (0.8, 1.25)},
        interval_mode="inconclusive",
        min_group_size=50,
        on_pass="deploy_model",
        on_violation="alert_fairness_team",
        on_inconclusive="review_small_groups",
    )

    @task
    def deploy_model() -> str:
        return "deployed"

    @task
    def alert_fairness_team(ti=None) -> list:
        return ti.xcom_pull(task_ids="fairness_gate", key="violations")

    @task
    def review_small_groups(ti=None) -> list:
        """Findings the data cannot settle: ask for more data or a human review."""
        findings = ti.xcom_pull(task_ids="fairness_gate", key="inconclusive")
        for finding in findings:
            print(f"inconclusive: {finding['facet']}={finding['group']} {finding['description']}")
        return findings

    @task
    def summary(folder: str) -> dict:
        scan = json.loads((Path(folder) / "intersectional_bias.json").read_text())
        worst = scan["scan"]["groups"][0]
        facet = scan["facets"][0]
        print(f"intersectional facet {facet['definition']}: n={facet['n_d']}, p={facet['p_value']:.3g}")
        print(f"worst group of the scan: {worst['text']} (adjusted p={worst['adjusted_p_value']:.3g})")
        return {"worst_group": worst["text"], "significant": worst["significant"]}

    fairness_gate >> [deploy_model(), alert_fairness_team(), review_small_groups()]
    summary(audit)


clarify_uncertainty_audit()
