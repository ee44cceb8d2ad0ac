"""``compute="sagemaker_spark"``: stage what the open engine's Spark job needs, before it starts.

The job itself is a SageMaker Processing job like the Clarify one, so it goes through the same
lifecycle (``_job_lifecycle``: deterministic name, re-attach on retry, input checks, deferrable wait,
stop on kill) and the same hook and trigger; only two things differ, both done here just before
``CreateProcessingJob``:

* the job's code is staged under ``<config base>/<job name>/input/`` as the SDK's ``PySparkProcessor``
  stages it: ``code/clarify_spark_entry.py`` (``engine/spark/sagemaker_entry.py``) and
  ``py-files/airflow_provider_clarify.zip`` (this package, the same version as the worker's);
* the dependency bundle (the libraries the Spark image lacks; the job has no internet) must exist at
  the request's ``dependencies`` input: a bundle given as ``spark_dependencies_uri`` is checked,
  otherwise the worker builds the default one once (``pip download``) and keeps it at a
  content-addressed location that later jobs reuse.

See ``docs/scale-out.md`` ("On SageMaker without Clarify"). No numeric import.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.spark_processing import (
    DEPENDENCIES_INPUT,
    default_dependencies_uri,
    staging_uris,
)

if TYPE_CHECKING:
    from airflow_provider_clarify.analysis.plan import AnalysisPlan
    from airflow_provider_clarify.hooks.clarify import ClarifyHook

__all__ = ["dependencies_uri", "ensure_dependency_bundle", "stage_job_code"]


def dependencies_uri(request: Mapping[str, Any]) -> str:
    """The ``dependencies`` input URI of a Spark job request."""
    for item in request["ProcessingInputs"]:
        if item["InputName"] == DEPENDENCIES_INPUT:
            return item["S3Input"]["S3Uri"]
    raise KeyError(f"the request has no {DEPENDENCIES_INPUT!r} input")


def stage_job_code(
    hook: ClarifyHook, plan: AnalysisPlan, job_name: str, *, kms_key: str | None, log: logging.Logger
) -> dict[str, str]:
    """Upload the entry script and the package zip where job ``job_name``'s request points; their URIs."""
    from airflow_provider_clarify.spark_bundle import entry_script, package_zip

    staged = staging_uris(plan.config_base_uri, job_name)
    hook.write_bytes(staged["code"], entry_script(), kms_key=kms_key)
    hook.write_bytes(staged["package"], package_zip(), kms_key=kms_key)
    log.info(
        "Staged the Spark job's entry script at %s and this package at %s", staged["code"], staged["package"]
    )
    return staged


def ensure_dependency_bundle(
    hook: ClarifyHook,
    plan: AnalysisPlan,
    request: Mapping[str, Any],
    *,
    kms_key: str | None,
    log: logging.Logger,
    pip_args: tuple[str, ...] = (),
) -> str:
    """Make sure the request's dependency bundle exists (build and upload the default one if needed).

    :raises ClarifyConfigError: a given ``spark_dependencies_uri`` has no object (not retried).
    :raises BundleBuildError: the worker could not download the wheels (retried: often transient).
    """
    uri = dependencies_uri(request)
    if hook.exists(uri):
        log.info("Dependency bundle of the Spark job: %s", uri)
        return uri
    if uri != default_dependencies_uri(plan.config_base_uri):
        raise ClarifyConfigError(
            f"spark_dependencies_uri is {uri!r}, but there is no object there, so no job was started. "
            "Build the bundle with `python -m airflow_provider_clarify.spark_bundle --output "
            "clarify-spark-deps.zip`, upload it there, or leave spark_dependencies_uri unset so the "
            "worker builds it.",
            field="spark_dependencies_uri",
            value=uri,
            accepted="the S3 URI of an existing dependency bundle zip, or None",
        )
    from airflow_provider_clarify.spark_bundle import build_dependency_bundle

    log.info("Building the Spark job's dependency bundle with pip (once; kept at %s)", uri)
    with tempfile.TemporaryDirectory(prefix="clarify-bundle-") as folder:
        archive = build_dependency_bundle(Path(folder) / "bundle.zip", pip_args=pip_args)
        hook.write_bytes(uri, archive.read_bytes(), kms_key=kms_key)
    return uri
