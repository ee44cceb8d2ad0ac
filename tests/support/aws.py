"""Fake AWS for tests: moto's ThreadedMotoServer on 127.0.0.1 behind a real ``aws`` connection.

boto3, aiobotocore, the amazon provider's hooks and our trigger all talk HTTP to the server, as they
would to AWS. Because the server runs in a thread of the test process, tests can reach into moto's
in-memory SageMaker backend to make processing jobs *run* (moto creates them ``Completed``).

Fixtures:

* ``moto_endpoint``: ``http://127.0.0.1:<port>`` of a session-wide server.
* ``aws_conn``: sets ``AIRFLOW_CONN_AWS_DEFAULT`` to an ``aws`` connection with that ``endpoint_url``
  and resets the server's state after the test.
* ``s3_bucket``: a fresh bucket name created on the server (``clarify-test-bucket``).
* ``sm_backend``: moto's SageMaker backend for us-east-1 (``backend.processing_jobs[name]``).
* ``scripted_status``: ``scripted_status(job_name, ["InProgress", "InProgress", "Completed"],
  failure_reason=None)``; each DescribeProcessingJob of that job takes the next status (the last sticks).
  Also counts the calls: ``scripted_status.calls[job_name]``.
* ``jobs_start_in_progress``: every processing job is created ``InProgress``.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
BUCKET = "clarify-test-bucket"


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _reset_moto(endpoint_url: str) -> None:
    """Forget every bucket, object and job the test made (moto's reset API)."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST")).close()


def aws_connection_json(endpoint_url: str) -> str:
    """The ``aws`` connection, as Airflow reads it from ``AIRFLOW_CONN_AWS_DEFAULT``."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": endpoint_url, "region_name": REGION},
        }
    )


@pytest.fixture
def aws_conn(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_connection_json(moto_endpoint))
    yield "aws_default"
    _reset_moto(moto_endpoint)


@pytest.fixture
def s3_bucket(aws_conn, moto_endpoint):
    import boto3

    boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION).create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def sm_backend(moto_endpoint):
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[ACCOUNT_ID][REGION]


@pytest.fixture
def jobs_start_in_progress(monkeypatch):
    from moto.sagemaker.models import FakeProcessingJob

    original = FakeProcessingJob.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.processing_job_status = "InProgress"

    monkeypatch.setattr(FakeProcessingJob, "__init__", init)


class _StatusScript:
    def __init__(self) -> None:
        self.scripts: dict[str, list[str]] = {}
        self.reasons: dict[str, str | None] = {}
        self.calls: dict[str, int] = defaultdict(int)
        self.seen: dict[str, list[str]] = defaultdict(list)

    def __call__(self, job_name: str, statuses: list[str], failure_reason: str | None = None) -> None:
        self.scripts[job_name] = list(statuses)
        self.reasons[job_name] = failure_reason


@pytest.fixture
def scripted_status(monkeypatch, sm_backend, jobs_start_in_progress):
    from moto.sagemaker.models import SageMakerModelBackend

    script = _StatusScript()
    original = SageMakerModelBackend.describe_processing_job

    def describe(self, processing_job_name):
        if processing_job_name in script.scripts and processing_job_name in self.processing_jobs:
            statuses = script.scripts[processing_job_name]
            index = min(script.calls[processing_job_name], len(statuses) - 1)
            status = statuses[index]
            job = self.processing_jobs[processing_job_name]
            job.processing_job_status = status
            if status == "Failed" and script.reasons[processing_job_name]:
                job.failure_reason = script.reasons[processing_job_name]
            script.calls[processing_job_name] += 1
            script.seen[processing_job_name].append(status)
        return original(self, processing_job_name)

    monkeypatch.setattr(SageMakerModelBackend, "describe_processing_job", describe)
    return script


class _RequestLog(list):
    """``(method, path, operation)`` of every request the fake AWS server received, in order."""

    def operations(self) -> list[str]:
        return [operation for _, _, operation in self if operation]

    def count(self, operation: str) -> int:  # type: ignore[override]
        return sum(1 for _, _, op in self if op == operation)


@pytest.fixture
def aws_requests(moto_endpoint, monkeypatch):
    """Record the requests the moto server receives from now on (counted on the server, not a client).

    ``operation`` is the JSON target (``SageMaker.CreateProcessingJob``) or query ``Action``, else ``""``
    (plain S3 REST calls: see ``method`` and ``path``). Call ``.clear()`` to start counting afresh.
    """
    from urllib.parse import parse_qs

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    log = _RequestLog()
    original = DomainDispatcherApplication.__call__

    def record(self, environ, start_response):
        operation = environ.get("HTTP_X_AMZ_TARGET", "")
        if not operation:
            operation = (parse_qs(environ.get("QUERY_STRING", "")).get("Action") or [""])[0]
        if not environ.get("PATH_INFO", "").startswith("/moto-api"):
            log.append((environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), operation))
        return original(self, environ, start_response)

    monkeypatch.setattr(DomainDispatcherApplication, "__call__", record)
    return log
