"""Load a DAG file so that ``dag.test()`` can run it (a LocalDagBundle over the file's own folder).

``dag.test()`` only runs DAGs that a configured DAG bundle holds, so :func:`bundled_dag` points a
``LocalDagBundle`` at the folder first (read when ``dag.test()`` runs, hence ``monkeypatch.setenv``),
then parses the DAG with a ``DagBag`` and checks that the folder imports cleanly.
:func:`folder_with` copies one DAG file into a folder of its own, so that the bundle serialises that
DAG alone. :func:`task_states` and :func:`xcom` read a finished run back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

BUNDLE_ENV = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"


def folder_with(tmp_path_factory: pytest.TempPathFactory, dag_file: Path, name: str) -> Path:
    """A new temporary folder ``name`` holding a copy of ``dag_file``."""
    folder = tmp_path_factory.mktemp(name)
    shutil.copy(dag_file, folder / dag_file.name)
    return folder


def bundled_dag(
    monkeypatch: pytest.MonkeyPatch,
    folder: Path,
    dag_id: str,
    *,
    bundle_name: str,
    parse: Path | None = None,
) -> Any:
    """Serve ``folder`` as DAG bundle ``bundle_name`` and return DAG ``dag_id`` parsed from it.

    ``parse`` narrows the parsing to one file of the folder (default: the whole folder). Needs the
    ``airflow_db`` fixture.
    """
    monkeypatch.setenv(
        BUNDLE_ENV,
        json.dumps(
            [
                {
                    "name": bundle_name,
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(folder), "refresh_interval": 0},
                }
            ]
        ),
    )
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(parse or folder))
    assert bag.import_errors == {}
    return bag.get_dag(dag_id)


def task_states(run: Any) -> dict[str, str]:
    """``task_id -> state`` of every task instance of a finished ``dag.test()`` run."""
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    """The deserialised XCom ``key`` that task ``task_id`` pushed in ``run`` (fails when there is none)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.execute(
            XComModel.get_many(
                run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key=key
            ).with_only_columns(XComModel.value)
        ).first()
        assert row is not None, f"no XCom {key!r} for {task_id}"
        return XComModel.deserialize_value(row)
