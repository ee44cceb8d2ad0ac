"""Console links shown on Clarify tasks: the SageMaker processing job and the analysis results in S3.

Airflow 3 style: while the task runs, the operator calls ``<Link>.persist(...)`` which stores the
link's parameters in XCom under the link's ``key``; when the task finishes the worker formats the
URL once (``get_link``) and stores it, so the API server never has to import this module.

A link is only looked up when this run stored it: a ``compute="local"`` task has no processing job,
a task that failed before starting one has neither, and looking up an XCom that does not exist makes
the worker log ``[error] XCom not found``. The operator remembers which links it stored
(:func:`record_persisted_links`); for the others ``get_link`` returns ``""`` without a lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.providers.amazon.aws.links.base_aws import BASE_AWS_CONSOLE_LINK, BaseAwsLink

from airflow_provider_clarify.locations import split_s3_uri

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

__all__ = ["ClarifyAnalysisResultLink", "ClarifyProcessingJobLink"]

#: Operator attribute holding the keys of the links this run stored.
_PERSISTED = "_clarify_persisted_links"


def record_persisted_links(operator: Any, *links: type[BaseAwsLink]) -> None:
    """Note on ``operator`` that ``links`` were stored for this task instance (e.g. before a deferral)."""
    if getattr(operator, "do_xcom_push", True):
        keys = set(getattr(operator, _PERSISTED, ()) or ())
        setattr(operator, _PERSISTED, keys | {link.key for link in links})


class _StoredLink(BaseAwsLink):
    """A console link that is formatted only when this run stored its parameters."""

    @classmethod
    def persist(
        cls, context: Context, operator: BaseOperator, region_name: str, aws_partition: str, **kwargs
    ):
        super().persist(
            context=context, operator=operator, region_name=region_name, aws_partition=aws_partition, **kwargs
        )
        record_persisted_links(operator, cls)

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        if self.key not in (getattr(operator, _PERSISTED, None) or ()):
            return ""
        return super().get_link(operator, ti_key=ti_key)


class ClarifyProcessingJobLink(_StoredLink):
    """Link to the Clarify processing job's page in the SageMaker console."""

    name = "Clarify processing job"
    key = "clarify_processing_job"
    format_str = BASE_AWS_CONSOLE_LINK + "/sagemaker/home?region={region_name}#/processing-jobs/{job_name}"

    @classmethod
    def persist_job(
        cls, *, context: Context, operator: BaseOperator, region_name: str, aws_partition: str, job_name: str
    ) -> None:
        """Store the link parameters for ``job_name`` (quoted, so any name yields a valid URL).

        :param context: the task's context.
        :param operator: the operator pushing the link (nothing is stored when it does not push XCom).
        :param region_name: the job's AWS region.
        :param aws_partition: ``aws``, ``aws-cn`` or ``aws-us-gov``; selects the console domain.
        :param job_name: the processing job name.
        """
        cls.persist(
            context=context,
            operator=operator,
            region_name=region_name,
            aws_partition=aws_partition,
            job_name=quote(job_name, safe=""),
        )


class ClarifyAnalysisResultLink(_StoredLink):
    """Link to the ``analysis_result`` prefix (``analysis.json``, reports, local SHAP values) in the S3 console."""

    name = "Clarify analysis results"
    key = "clarify_analysis_result"
    format_str = BASE_AWS_CONSOLE_LINK + "/s3/buckets/{bucket}?region={region_name}&prefix={prefix}"

    @classmethod
    def persist_result(
        cls,
        *,
        context: Context,
        operator: BaseOperator,
        region_name: str,
        aws_partition: str,
        result_uri: str,
    ) -> None:
        """Store the link parameters for an ``s3://`` result URI; other URIs (local runs) get no link.

        :param context: the task's context.
        :param operator: the operator pushing the link.
        :param region_name: the bucket's AWS region.
        :param aws_partition: ``aws``, ``aws-cn`` or ``aws-us-gov``.
        :param result_uri: the ``analysis_result`` URI the task returns.
        """
        try:
            bucket, key = split_s3_uri(result_uri)
        except ValueError:
            return
        prefix = f"{key}/" if key else ""
        cls.persist(
            context=context,
            operator=operator,
            region_name=region_name,
            aws_partition=aws_partition,
            bucket=quote(bucket, safe=""),
            prefix=quote(prefix, safe="/"),
        )
