"""Reading the history from a real Airflow metadata DB (SQLite): the two Core queries and the decoder.

The oracle is Airflow's own path: ``XComModel`` rows loaded through the ORM and decoded with
``XComModel.deserialize_value``, filtered and ordered in plain Python. The DB holds, besides the
audited runs of the DAG under test, what the queries must leave out: another DAG's records, other
XCom keys, a mapped task's record, a record of an unknown layout version, malformed text, and a
run with no history at all.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pendulum
import pytest
from hypothesis import given, strategies as st

from airflow_provider_clarify.history.query import _decode, dag_history, history_rows
from airflow_provider_clarify.history.summary import HISTORY_XCOM_KEY, make_record
from airflow_provider_clarify.plugins.app import encode_json
from tests.support.dag_runs import bundled_dag
from tests.support.history_runs import add_synthetic_runs

DAGS = """
import pendulum
from airflow.sdk import dag, task


def audited(dag_id):
    @dag(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2020, 1, 1, tz="UTC"))
    def pipeline():
        @task
        def bias_audit() -> None: ...

        @task
        def fairness_gate() -> None: ...

        @task
        def late_task() -> None: ...

        bias_audit() >> fairness_gate() >> late_task()

    return pipeline()


audited("rows_under_test")
audited("rows_other_dag")
"""
RUNS = 40
START = datetime(2022, 6, 1, tzinfo=UTC)


def _xcom(session, run, task_id, value, *, key=HISTORY_XCOM_KEY, map_index=-1, raw=False, ti=False):
    from airflow.models.dag_version import DagVersion
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    if ti:  # the task instance the XCom belongs to (a foreign key)
        task = SerializedDagModel.get_dag(run.dag_id).get_task(task_id)
        version = DagVersion.get_latest_version(run.dag_id, session=session).id
        session.add(TaskInstance(task, version, run.run_id, map_index=map_index, state="success"))
        session.flush()

    session.add(
        XComModel(
            dag_run_id=run.id,
            task_id=task_id,
            map_index=map_index,
            key=key,
            dag_id=run.dag_id,
            run_id=run.run_id,
            value=value if raw else XComModel.serialize_value(value),
        )
    )


@pytest.fixture(scope="module")
def history(airflow_db, tmp_path_factory):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    folder = tmp_path_factory.mktemp("rows-dags")
    (folder / "rows_dags.py").write_text(DAGS)
    patch = pytest.MonkeyPatch()
    for dag_id in ("rows_under_test", "rows_other_dag"):
        dag = bundled_dag(patch, folder, dag_id, bundle_name="rows-dags")
        dag.test(logical_date=pendulum.datetime(2019, 1, 1, tz="UTC"))  # registers the DAG
    run_ids = add_synthetic_runs("rows_under_test", RUNS, start=START)
    add_synthetic_runs("rows_other_dag", 5, start=START + timedelta(hours=1))
    with create_session() as session:
        runs = {
            r.run_id: r
            for r in session.scalars(select(DagRun).where(DagRun.dag_id == "rows_under_test")).all()
        }
        newest = runs[run_ids[-1]]
        _xcom(session, newest, "bias_audit", {"other": 1}, key="return_value")
        _xcom(session, newest, "bias_audit", make_record("analysis"), map_index=0, ti=True)  # mapped
        _xcom(session, runs[run_ids[-2]], "late_task", {"v": 99, "metrics": []}, ti=True)  # future layout
        _xcom(session, runs[run_ids[-3]], "late_task", "{not json", raw=True, ti=True)
        # the newest run of all holds only a malformed record: counted by the limit, then dropped
        only_bad = runs[run_ids[-1]].run_id + "-retry"
        bad_run = DagRun(
            dag_id="rows_under_test",
            run_id=only_bad,
            logical_date=START + timedelta(days=RUNS),
            run_after=START + timedelta(days=RUNS),
            state="success",
            run_type="manual",
        )
        session.add(bad_run)
        session.flush()
        _xcom(session, bad_run, "bias_audit", "[1, 2", raw=True, ti=True)
        # a run without any history
        session.add(
            DagRun(
                dag_id="rows_under_test",
                run_id="no-history",
                logical_date=START + timedelta(days=RUNS + 1),
                run_after=START + timedelta(days=RUNS + 1),
                state="success",
                run_type="manual",
            )
        )
    yield {"run_ids": run_ids, "bad_run": only_bad}
    patch.undo()


def _oracle(dag_id: str, limit: int) -> list[tuple]:
    """The same rows through the ORM and Airflow's own deserialisation, filtered in Python."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        xcoms = session.scalars(select(XComModel).where(XComModel.dag_id == dag_id)).all()
        runs = {r.id: r for r in session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)).all()}
        audited = {x.dag_run_id for x in xcoms if x.key == HISTORY_XCOM_KEY}
        last = sorted(audited, key=lambda pk: (runs[pk].run_after, pk))[-limit:]
        rows = []
        for pk in last:
            run = runs[pk]
            for x in sorted(xcoms, key=lambda x: x.task_id):
                if x.dag_run_id == pk and x.key == HISTORY_XCOM_KEY and x.map_index == -1:
                    rows.append(
                        (run.run_id, run.logical_date, run.run_after, run.state, x.task_id,
                         XComModel.deserialize_value(x))
                    )  # fmt: skip
        return rows


def _airflow_record(value):
    """What Airflow's deserialisation gives, read as a record (``None``: not one of layout 1)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) and value.get("v") == 1 else None


@pytest.mark.parametrize("limit", [1, 3, 10, RUNS + 5])
def test_rows_are_the_last_audited_runs_oldest_first_as_airflow_reads_them(history, limit):
    from airflow.utils.session import create_session

    with create_session() as session:
        got = history_rows(session, "rows_under_test", limit)
    want = _oracle("rows_under_test", limit)
    assert [row[:5] for row in got] == [row[:5] for row in want]
    for got_row, want_row in zip(got, want, strict=True):
        assert _decode(got_row[5]) == _airflow_record(want_row[5])


def test_the_page_skips_what_is_not_a_record_and_runs_left_without_one(history):
    from airflow.utils.session import create_session

    with create_session() as session:
        page = dag_history(session, "rows_under_test", limit=5)
    run_ids = history["run_ids"]
    # the limit counted the malformed-only run (newest), which is then dropped: 4 runs remain
    assert [run["run_id"] for run in page["runs"]] == run_ids[-4:]
    assert history["bad_run"] not in [run["run_id"] for run in page["runs"]]
    assert all(run["reports"] == ["bias_audit"] for run in page["runs"])
    (di,) = [s for s in page["metrics"] if s["metric"] == "DI"]
    assert len(di["values"]) == 4
    assert None not in di["values"]


def test_other_dags_are_never_read(history):
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = history_rows(session, "rows_other_dag", 100)
        none = history_rows(session, "no_such_dag", 100)
    assert len({row[0] for row in rows}) == 5  # its 5 synthetic runs; its dag.test() run has no history
    assert none == []


def test_decode_reads_every_form_a_database_returns():
    from airflow.models.xcom import XComModel

    record = make_record("gate", verdict="violated", violations=[{"metric": "DI", "value": float("inf")}])
    stored = XComModel.serialize_value(record)
    assert _decode(stored) == record  # JSON text
    assert _decode(stored.encode()) == record  # bytes
    assert _decode(json.dumps(stored)) == record  # a JSON string holding the text (Airflow 3 rows)
    assert _decode(record) == record  # a driver that decodes JSON columns
    assert _decode({**record, "v": 2}) is None
    assert _decode("{broken") is None
    assert _decode(json.dumps(["not", "a", "record"])) is None
    assert _decode(None) is None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(document=st.dictionaries(st.text(), json_values, max_size=6))
def test_the_response_encoder_writes_what_json_reads_back(document):
    assert json.loads(encode_json(document)) == document  # every float read back exactly
