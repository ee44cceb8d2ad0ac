"""The history app: JSON over the recorded audit history, the page, and the runs' reports.

Routes (under the plugin's ``/clarify`` prefix)::

    GET /                      the page (static HTML; it calls the API below)
    GET /static/...            its script and style sheet
    GET /api/dags              audited DAGs the user may read, each with its latest verdict
    GET /api/dags/{dag_id}/history?limit=100
                               one DAG's history: metric series, bands, violations, SHAP, NDCG
    GET /api/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/report
                               the report.html an analysis task recorded for a run

Authentication and authorisation are Airflow's own: the user comes from the API server's JWT (the
UI's cookie or an ``Authorization: Bearer`` token) through ``get_user``, and every DAG-scoped route
asks the configured auth manager whether the user may read that DAG's XComs
(``requires_access_dag("GET", DagAccessEntity.XCOM)``), exactly as Airflow's own XCom endpoints do.
The overview lists only DAGs the auth manager lets the user read.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Annotated

import msgspec
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, status
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from airflow_provider_clarify.history import query
from airflow_provider_clarify.history.record import REPORT_FILE
from airflow_provider_clarify.locations import is_s3, local_path, scheme


def encode_json(document: dict) -> bytes:
    """Compact JSON of a history page; msgspec (an Airflow dependency) is several times faster than
    :mod:`json` on a 1,000-run page. The history holds no NaN or infinity (records store them as
    text), so the output is strict JSON."""
    return msgspec.json.encode(document)


STATIC = Path(__file__).parent / "static"
#: Computed histories kept per API-server worker (each a few hundred KiB at most).
CACHED_PAGES = 32
_READ_AUDITS = Depends(requires_access_dag("GET", DagAccessEntity.XCOM))


def _read_report(uri: str) -> bytes:
    """The bytes of a recorded report: a local file, or an S3 object through the ``aws_default`` connection.

    Only files named ``report.html`` are served: the URI comes from an XCom row, which a user allowed
    to write XComs could edit, so this endpoint must not become a way to read any file the API
    server can.
    """
    if uri.rstrip("/").rsplit("/", 1)[-1] != REPORT_FILE:
        raise FileNotFoundError(uri)
    if is_s3(uri):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from airflow_provider_clarify.locations import split_s3_uri

        bucket, key = split_s3_uri(uri)
        return S3Hook().get_key(key, bucket_name=bucket).get()["Body"].read()
    if scheme(uri) not in ("", "file"):
        raise FileNotFoundError(uri)
    return local_path(uri).read_bytes()


def create_app() -> FastAPI:
    """Build the FastAPI app the plugin mounts."""
    app = FastAPI(title="Clarify fairness history", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/dags")
    def audited_dags(user: GetUserDep, session: SessionDep) -> dict:
        manager = get_auth_manager()
        readable = manager.get_authorized_dag_ids(user=user, method="GET")
        rows = query.overview(session, readable)
        allowed = [
            row
            for row in rows
            if manager.is_authorized_dag(
                method="GET",
                access_entity=DagAccessEntity.XCOM,
                details=DagDetails(id=row["dag_id"]),
                user=user,
            )
        ]
        return {"dags": allowed}

    pages: OrderedDict[tuple, bytes] = OrderedDict()

    @app.get("/api/dags/{dag_id}/history", dependencies=[_READ_AUDITS])
    def dag_history(
        dag_id: str,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=query.MAX_RUNS)] = 100,
    ) -> Response:
        # A computed history is reused until a record or a run of the DAG changes (per worker).
        key = (dag_id, limit, query.fingerprint(session, dag_id))
        body = pages.get(key)
        if body is None:
            history = query.dag_history(session, dag_id, limit=limit)
            body = encode_json(history)
            pages[key] = body
            while len(pages) > CACHED_PAGES:
                pages.popitem(last=False)
        else:
            pages.move_to_end(key)
        return Response(body, media_type="application/json")

    @app.get("/api/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/report", dependencies=[_READ_AUDITS])
    def report(dag_id: str, run_id: str, task_id: str, session: SessionDep) -> HTMLResponse:
        uri = query.report_uri(session, dag_id, run_id, task_id)
        if not uri:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{task_id} recorded no report for run {run_id}")
        try:
            body = _read_report(uri)
        except (FileNotFoundError, KeyError) as err:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"The report {uri} is not there any more") from err
        return HTMLResponse(body)

    return app
