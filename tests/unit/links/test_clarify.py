"""Console links: URL formats, quoting and what ``persist`` stores for the job and the results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_clarify.links.clarify import (
    ClarifyAnalysisResultLink,
    ClarifyProcessingJobLink,
)
from airflow_provider_clarify.locations import split_s3_uri


class _TI:
    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


class _Operator:
    def __init__(self, do_xcom_push: bool = True) -> None:
        self.do_xcom_push = do_xcom_push


def _persisted(persist: Callable[..., None], *, do_xcom_push: bool = True, **params: Any) -> dict[str, Any]:
    """Call a link's ``persist_*`` classmethod for one task instance; return the XComs it pushed."""
    ti = _TI()
    persist(context={"ti": ti}, operator=_Operator(do_xcom_push), **params)
    return ti.xcoms


def test_job_link_points_at_the_sagemaker_console_processing_job():
    stored = _persisted(
        ClarifyProcessingJobLink.persist_job,
        region_name="eu-west-1",
        aws_partition="aws",
        job_name="Clarify-Bias-1a2b",
    )[ClarifyProcessingJobLink.key]
    assert stored == {
        "region_name": "eu-west-1",
        "aws_domain": "aws.amazon.com",
        "job_name": "Clarify-Bias-1a2b",
    }
    assert (
        ClarifyProcessingJobLink().format_link(**stored)
        == "https://console.aws.amazon.com/sagemaker/home?region=eu-west-1#/processing-jobs/Clarify-Bias-1a2b"
    )


def test_job_link_uses_the_partition_domain():
    stored = _persisted(
        ClarifyProcessingJobLink.persist_job, region_name="cn-north-1", aws_partition="aws-cn", job_name="j"
    )
    url = ClarifyProcessingJobLink().format_link(**stored[ClarifyProcessingJobLink.key])
    assert url == "https://console.amazonaws.cn/sagemaker/home?region=cn-north-1#/processing-jobs/j"


def test_result_link_points_at_the_s3_console_prefix():
    stored = _persisted(
        ClarifyAnalysisResultLink.persist_result,
        region_name="us-east-1",
        aws_partition="aws",
        result_uri="s3://audit-bucket/clarify/2024-03-01/pre training/",
    )[ClarifyAnalysisResultLink.key]
    assert stored["bucket"] == "audit-bucket"
    assert stored["prefix"] == "clarify/2024-03-01/pre%20training/"
    assert ClarifyAnalysisResultLink().format_link(**stored) == (
        "https://console.aws.amazon.com/s3/buckets/audit-bucket?region=us-east-1"
        "&prefix=clarify/2024-03-01/pre%20training/"
    )


def test_result_link_is_not_stored_for_local_results_or_without_xcom():
    persist = ClarifyAnalysisResultLink.persist_result
    stored: dict[str, Any] = {}
    for uri in ("/tmp/clarify/out", "file:///tmp/clarify/out"):
        stored |= _persisted(persist, region_name="us-east-1", aws_partition="aws", result_uri=uri)
    stored |= _persisted(
        persist, do_xcom_push=False, region_name="us-east-1", aws_partition="aws", result_uri="s3://b/p"
    )
    assert stored == {}


def test_missing_parameters_give_an_empty_link():
    assert ClarifyProcessingJobLink().format_link(region_name="us-east-1") == ""


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://b/a/b/", ("b", "a/b")),
        ("s3://b", ("b", "")),
        ("s3://b/", ("b", "")),
        ("s3://b/k.json", ("b", "k.json")),
    ],
)
def test_split_s3_uri(uri, expected):
    assert split_s3_uri(uri) == expected


@pytest.mark.parametrize("uri", ["/local/path", "s3://", "s3:///key", "https://b/k"])
def test_split_s3_uri_rejects_non_s3(uri):
    with pytest.raises(ValueError, match="s3://"):
        split_s3_uri(uri)


class _Lookups(list):
    """Keys looked up, in order; ``stored`` answers them."""

    stored: dict[str, Any]


@pytest.fixture
def xcom_lookups(monkeypatch) -> _Lookups:
    """Keys the links look up in XCom (Airflow's XCom.get_value, answered from a dict)."""
    from airflow.sdk.bases.xcom import BaseXCom

    looked_up = _Lookups()
    stored: dict[str, Any] = {}

    def get_value(cls, *, ti_key: Any, key: str) -> Any:
        looked_up.append(key)
        return stored.get(key)

    monkeypatch.setattr(BaseXCom, "get_value", classmethod(get_value))
    looked_up.stored = stored
    return looked_up


def test_links_that_this_run_did_not_store_are_not_looked_up(xcom_lookups):
    """compute='local' tasks have no job; failed tasks may have neither link: no '[error] XCom not found'."""
    operator = _Operator()
    for link in (ClarifyProcessingJobLink(), ClarifyAnalysisResultLink()):
        assert link.get_link(operator, ti_key=object()) == ""
    assert xcom_lookups == []


def test_a_stored_link_is_formatted_from_its_xcom(xcom_lookups):
    operator = _Operator()
    ti = _TI()
    ClarifyProcessingJobLink.persist_job(
        context={"ti": ti}, operator=operator, region_name="us-east-1", aws_partition="aws", job_name="j-1"
    )
    xcom_lookups.stored.update(ti.xcoms)

    url = ClarifyProcessingJobLink().get_link(operator, ti_key=object())

    assert url == "https://console.aws.amazon.com/sagemaker/home?region=us-east-1#/processing-jobs/j-1"
    assert xcom_lookups == [ClarifyProcessingJobLink.key]
    assert ClarifyAnalysisResultLink().get_link(operator, ti_key=object()) == ""  # not stored: no lookup
    assert xcom_lookups == [ClarifyProcessingJobLink.key]


def test_links_stored_before_a_deferral_are_formatted_after_it(xcom_lookups):
    from airflow_provider_clarify.links.clarify import record_persisted_links

    resumed = _Operator()  # the task resumes in a new process, with a fresh operator
    record_persisted_links(resumed, ClarifyProcessingJobLink)
    xcom_lookups.stored[ClarifyProcessingJobLink.key] = {
        "region_name": "us-east-1",
        "aws_domain": "aws.amazon.com",
        "job_name": "j-2",
    }
    assert ClarifyProcessingJobLink().get_link(resumed, ti_key=object()).endswith("/processing-jobs/j-2")
