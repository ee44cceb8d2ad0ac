"""Synthetic audited runs: DagRun rows and their history XComs, written straight to the metadata DB.

For the tests and the benchmark that need a DAG with many runs (1,000 ``dag.test()`` runs would take
far too long). The rows are what the real path writes: ``record_gate``/``record_analysis`` records
built by :func:`~airflow_provider_clarify.history.summary.make_record`, serialised by
``XComModel.serialize_value`` under the history key, one per task and run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from airflow_provider_clarify.history.summary import HISTORY_XCOM_KEY, make_record


def analysis_document(metrics: dict[str, float], shap: dict[str, float] | None = None) -> dict:
    """A post-training analysis.json for facet gender=female with the given metric values."""
    document: dict[str, Any] = {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": "approved",
            "label_value_or_threshold": "1",
            "facets": {
                "gender": [
                    {
                        "value_or_threshold": "female",
                        "metrics": [{"name": k, "description": k, "value": v} for k, v in metrics.items()],
                    }
                ]
            },
        },
    }
    if shap:
        document["explanations"] = {"kernel_shap": {"label0": {"global_shap_values": shap}}}
    return document


def di_of_run(i: int) -> float:
    """The synthetic DI of run ``i``: a slow oscillation that leaves the [0.8, 1.25] band now and then."""
    return round(0.95 + 0.2 * (((i * 37) % 100) / 100 - 0.5), 4)


def default_records(i: int, result_uri: str) -> list[tuple[str, dict]]:
    di = di_of_run(i)
    analysis = analysis_document(
        {"DI": di, "DPPL": round(1 - di, 4)}, {"income": 0.3, "gender": 0.01 * (i % 7)}
    )
    violations = (
        [{"metric": "DI", "stage": "post_training", "facet": "gender", "group": "female", "value": di,
          "bound": "[0.8, 1.25]", "check": "threshold", "reason": "outside"}]
        if not 0.8 <= di <= 1.25
        else []
    )  # fmt: skip
    return [
        ("bias_audit", make_record("analysis", analysis=analysis, result_uri=result_uri,
                                   report_uri=f"{result_uri}/report.html")),
        ("fairness_gate", make_record("gate", verdict="violated" if violations else "passed",
                                      violations=violations, result_uri=result_uri,
                                      thresholds=[{"metric": "DI", "lower": 0.8, "upper": 1.25}])),
    ]  # fmt: skip


def add_synthetic_runs(
    dag_id: str,
    count: int,
    *,
    start: datetime,
    records: Callable[[int, str], list[tuple[str, dict]]] = default_records,
) -> list[str]:
    """Insert ``count`` successful runs of ``dag_id`` (one a day from ``start``) with history XComs."""
    from airflow.models.dag_version import DagVersion
    from airflow.models.dagrun import DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    run_ids = []
    dag = SerializedDagModel.get_dag(dag_id)
    assert dag is not None, f"{dag_id} must be in the DB first (run it once, or serialise it)"
    with create_session() as session:
        version_id = DagVersion.get_latest_version(dag_id, session=session).id
        runs = []
        for i in range(count):
            when = start + timedelta(days=i)
            run = DagRun(
                dag_id=dag_id,
                run_id=f"scheduled__{when.isoformat()}",
                logical_date=when,
                run_after=when,
                start_date=when,
                state=DagRunState.SUCCESS,
                run_type=DagRunType.SCHEDULED,
            )
            runs.append(run)
        session.add_all(runs)
        session.flush()
        rows = [
            (run, task_id, record)
            for i, run in enumerate(runs)
            for task_id, record in records(i, f"s3://audits/{dag_id}/{i}")
        ]
        session.add_all(
            TaskInstance(dag.get_task(task_id), version_id, run.run_id, state="success")
            for run, task_id, _ in rows
        )
        session.flush()
        for run, task_id, record in rows:
            session.add(
                XComModel(
                    dag_run_id=run.id,
                    task_id=task_id,
                    map_index=-1,
                    key=HISTORY_XCOM_KEY,
                    dag_id=dag_id,
                    run_id=run.run_id,
                    value=XComModel.serialize_value(record),
                )
            )
        run_ids = [run.run_id for run in runs]
    return run_ids
