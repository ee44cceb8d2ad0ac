"""Reading the history back: one query per page view over the XCom rows the audit tasks recorded.

:func:`dag_history` returns the last ``limit`` runs of one DAG that recorded history, shaped for the
page: one series per metric (stage, facet, group, metric) with the gate's band and the violated
points, SHAP importances per run, the NDCG drift score, and the gate's verdict per run.
:func:`overview` returns each audited DAG with its latest verdict. Both read the metadata database
through the caller's SQLAlchemy session (the API server's); neither opens a result file, so a page
view costs the same whether results live on S3 or on disk.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec

from airflow_provider_clarify.engine.metric_sentences import metric_sentence
from airflow_provider_clarify.history.summary import HISTORY_XCOM_KEY, SCHEMA_VERSION

#: Most runs one history request returns.
MAX_RUNS = 1000

_json_decode = msgspec.json.decode
#: Gate verdicts from best to worst: a run shows the worst of its gates'.
_VERDICT_ORDER = ("passed", "skipped", "inconclusive", "violated")


def _decode(value: Any) -> dict[str, Any] | None:
    """An XCom value as stored -> the record, or ``None`` for anything that is not a record we know.

    Airflow stores an XCom as the JSON text of its serialised value (a JSON string holding JSON), or,
    on a database whose driver decodes JSON columns, as that string or the decoded value itself.
    msgspec (an Airflow dependency) decodes a record several times faster than :mod:`json`, which
    is what a 1,000-run history spends most of its time on.
    """
    while isinstance(value, (str, bytes)):  # a tuple: faster than a union in this loop
        try:
            value = _json_decode(value)
        except msgspec.DecodeError:
            return None
    if not isinstance(value, dict) or value.get("v") != SCHEMA_VERSION:
        return None
    return value


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _matches(rule: dict[str, Any], series: dict[str, Any]) -> bool:
    if str(rule.get("metric") or "").upper() != series["metric"].upper():
        return False
    return all(rule.get(name) in (None, series[name]) for name in ("stage", "facet", "group"))


def _specificity(rule: dict[str, Any]) -> int:
    return (
        4 * (rule.get("group") is not None)
        + 2 * (rule.get("facet") is not None)
        + (rule.get("stage") is not None)
    )


def _ndcg(baseline: dict[str, float], current: dict[str, float]) -> float | None:
    from airflow_provider_clarify.analysis.checks import ndcg

    score = ndcg(baseline, current)
    return None if math.isnan(score) else score


def history_rows(session: Any, dag_id: str, limit: int) -> list[Any]:
    """``(run_id, logical_date, run_after, state, task_id, value)`` of the last ``limit`` audited runs.

    Oldest run first, each run's records by task id. Two Core queries on the tables (no ORM object
    per row), each on an index Airflow has: the runs through ``xcom``'s ``(dag_id, ...)`` index and
    ``dag_run``'s primary key, then their records by ``xcom``'s primary key ``(dag_run_id, ...)``.
    The value comes back as the stored text, decoded once by :func:`_decode`.
    """
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from sqlalchemy import Text, select, type_coerce

    xcom = XComModel.__table__
    run = DagRun.__table__
    audited = select(xcom.c.dag_run_id).where(xcom.c.dag_id == dag_id, xcom.c.key == HISTORY_XCOM_KEY)
    last = (
        select(run.c.id, run.c.run_id, run.c.logical_date, run.c.run_after, run.c.state)
        .where(run.c.dag_id == dag_id, run.c.id.in_(audited))
        .order_by(run.c.run_after.desc(), run.c.id.desc())
        .limit(limit)
    )
    runs = session.execute(last).all()
    if not runs:
        return []
    records = session.execute(
        select(xcom.c.dag_run_id, xcom.c.task_id, type_coerce(xcom.c.value, Text))
        .where(
            xcom.c.dag_run_id.in_(select(last.subquery().c.id)),
            xcom.c.key == HISTORY_XCOM_KEY,
            xcom.c.map_index == -1,
        )
        .order_by(xcom.c.dag_run_id, xcom.c.task_id)
    ).all()
    by_run: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    for dag_run_id, task_id, value in records:
        by_run[dag_run_id].append((task_id, value))
    return [
        (run_id, logical_date, run_after, state, task_id, value)
        for pk, run_id, logical_date, run_after, state in reversed(runs)
        for task_id, value in by_run.get(pk, ())
    ]


def dag_history(session: Any, dag_id: str, *, limit: int = 100) -> dict[str, Any]:
    """The history of one DAG, shaped for the page (oldest run first).

    Each run lists the ``reports`` it has: the ids of the tasks that recorded a report (served by
    the app's ``.../runs/{run_id}/tasks/{task_id}/report`` route).
    """
    limit = max(1, min(int(limit), MAX_RUNS))
    runs: list[dict[str, Any]] = []
    tasks_of: list[dict[str, dict[str, Any]]] = []  # aligned with runs: task id -> record
    current = None
    for run_id, logical_date, run_after, state, task_id, value in history_rows(session, dag_id, limit):
        record = _decode(value)
        if record is None:
            continue
        if run_id != current:  # rows come grouped by run
            current = run_id
            run = {
                "run_id": run_id,
                "logical_date": _iso(logical_date),
                "run_after": _iso(run_after),
                "state": str(state) if state is not None else None,
                "verdict": None,
                "violations": 0,
                "reports": [],
            }
            runs.append(run)
            tasks: dict[str, dict[str, Any]] = {}
            tasks_of.append(tasks)
        tasks[task_id] = record
        verdict = record.get("verdict")
        if verdict:
            # the worst verdict of the run's gates wins
            if run["verdict"] is None or _VERDICT_ORDER.index(verdict) > _VERDICT_ORDER.index(run["verdict"]):
                run["verdict"] = verdict
            run["violations"] += len(record.get("violations") or ())
        if record.get("report_uri") and record.get("kind") != "gate":
            run["reports"].append(task_id)
    return {"dag_id": dag_id, "limit": limit, "runs": runs, **_series(tasks_of)}


class _Ndcg:
    """NDCG of each run's SHAP ranking against one baseline, with the baseline's part computed once.

    Same definition as :func:`airflow_provider_clarify.analysis.checks.ndcg` (the gate's drift score),
    which the tests compare it with: relevance = baseline attribution, ties in the current ranking
    keep the baseline's order, a feature missing on one side counts 0, NaN when nothing to rank.
    """

    def __init__(self, baseline: dict[str, float]) -> None:
        self.baseline = baseline
        ideal = sorted(baseline, key=lambda f: (-baseline[f], f))
        self.rank = {f: i for i, f in enumerate(ideal)}
        self.idcg = sum(baseline[f] / math.log2(i + 2) for i, f in enumerate(ideal))

    def __call__(self, current: dict[str, float]) -> float | None:
        if self.idcg == 0 or math.isnan(self.idcg) or any(math.isnan(v) for v in current.values()):
            return None
        features = set(self.baseline) | set(current)
        if len(features) != len(self.baseline):
            return _ndcg(self.baseline, current)  # new features: the general definition
        observed = sorted(features, key=lambda f: (-current.get(f, 0.0), self.rank[f]))
        dcg = sum(self.baseline[f] / math.log2(i + 2) for i, f in enumerate(observed))
        return dcg / self.idcg


def _series(tasks_of: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Metric series with bands and violations, SHAP over runs, and NDCG against the first run shown.

    :param tasks_of: per run (oldest first), its records by task id.

    Every list is aligned with the runs (index i = run i; ``null`` where a run has no value), so the
    payload for 1,000 runs stays small and the page needs no joins.
    """
    n = len(tasks_of)
    series: dict[tuple, dict[str, Any]] = {}
    latest_bands: list[dict[str, Any]] = []
    shap_rows: list[dict[str, float] | None] = [None] * n
    for i, tasks in enumerate(tasks_of):
        records = tasks.values()
        violations = [v for record in records for v in (record.get("violations") or ())]
        for record in records:
            if record.get("bands"):
                latest_bands = record["bands"]
        seen: set[tuple] = set()
        for task_id, record in tasks.items():
            for m in record.get("metrics") or ():
                key = (m["stage"], m["facet"], m["group"], m["metric"])
                if key in seen:
                    continue  # a gate re-records the metrics of the analysis it checked
                seen.add(key)
                entry = series.get(key)
                if entry is None:
                    entry = series[key] = {
                        "id": "|".join(str(part) for part in key),
                        "stage": m["stage"],
                        "facet": m["facet"],
                        "group": m["group"],
                        "metric": m["metric"],
                        "task_id": task_id,
                        "explain": metric_sentence(m["metric"]),
                        "values": [None] * n,
                        "texts": {},
                        "violated": [False] * n,
                    }
                entry["values"][i] = m.get("value")
                if m.get("text"):
                    entry["texts"][i] = m["text"]
                if violations:
                    entry["violated"][i] = any(_matches(v, entry) for v in violations)
            shap = record.get("shap")
            if shap and shap.get("values") and shap_rows[i] is None:
                shap_rows[i] = shap["values"]
    for entry in series.values():
        rules = [rule for rule in latest_bands if _matches(rule, entry)]
        rule = max(rules, key=_specificity) if rules else None
        entry["band"] = {"lower": rule.get("lower"), "upper": rule.get("upper")} if rule else None
    features: dict[str, float] = defaultdict(float)
    for row in shap_rows:
        for name, value in (row or {}).items():
            features[name] += abs(value)
    ordered_features = sorted(features, key=lambda f: -features[f])
    baseline = next((row for row in shap_rows if row), None)
    score = _Ndcg(baseline) if baseline else None
    # the gated metrics (those with a band) first, then pre- before post-training, then by name
    stages = {"pre_training": 0, "post_training": 1}
    ordered = sorted(
        series.values(),
        key=lambda s: (s["band"] is None, stages.get(s["stage"], 2), s["facet"], s["group"], s["metric"]),
    )
    return {
        "metrics": ordered,
        "shap": {
            "features": ordered_features,
            "values": {f: [row.get(f) if row else None for row in shap_rows] for f in ordered_features},
        },
        "ndcg": [score(row) if score and row else None for row in shap_rows],
    }


def fingerprint(session: Any, dag_id: str) -> tuple:
    """What changes whenever the history of ``dag_id`` changes: a record added, rewritten or deleted,
    or a run ending. Two aggregate queries on indexed columns; used to reuse a computed page."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from sqlalchemy import func, select

    records = session.execute(
        select(func.count(), func.max(XComModel.timestamp)).where(
            XComModel.dag_id == dag_id, XComModel.key == HISTORY_XCOM_KEY
        )
    ).one()
    ended = session.execute(
        select(func.count(DagRun.end_date), func.max(DagRun.end_date)).where(DagRun.dag_id == dag_id)
    ).one()
    return (*records, *ended)


def overview(session: Any, dag_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Every audited DAG among ``dag_ids``: audited runs, the latest run and its verdict."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from sqlalchemy import func, select

    dag_ids = sorted(set(dag_ids))
    if not dag_ids:
        return []
    counts = session.execute(
        select(XComModel.dag_id, func.count(func.distinct(XComModel.dag_run_id)), func.max(DagRun.run_after))
        .join(DagRun, DagRun.id == XComModel.dag_run_id)
        .where(XComModel.key == HISTORY_XCOM_KEY, XComModel.dag_id.in_(dag_ids))
        .group_by(XComModel.dag_id)
    ).all()
    out = []
    for dag_id, audited_runs, last_run_after in counts:
        latest = session.execute(
            select(DagRun.run_id, DagRun.state, XComModel.value)
            .join(XComModel, XComModel.dag_run_id == DagRun.id)
            .where(
                DagRun.dag_id == dag_id,
                DagRun.run_after == last_run_after,
                XComModel.key == HISTORY_XCOM_KEY,
            )
        ).all()
        records = [r for r in (_decode(value) for _, _, value in latest) if r]
        verdicts = [r["verdict"] for r in records if r.get("verdict")]
        out.append(
            {
                "dag_id": dag_id,
                "audited_runs": audited_runs,
                "last_run_id": latest[0][0] if latest else None,
                "last_run_after": _iso(last_run_after),
                "last_state": str(latest[0][1]) if latest else None,
                "verdict": max(verdicts, key=_VERDICT_ORDER.index) if verdicts else None,
                "violations": sum(len(r.get("violations") or []) for r in records),
            }
        )
    return out


def report_uri(session: Any, dag_id: str, run_id: str, task_id: str) -> str | None:
    """The report URI a task recorded for a run, or ``None``."""
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    value = session.execute(
        select(XComModel.value).where(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.task_id == task_id,
            XComModel.key == HISTORY_XCOM_KEY,
            XComModel.map_index == -1,
        )
    ).scalar()
    record = _decode(value)
    return record.get("report_uri") if record else None
