"""The CreateProcessingJob request of the open engine on SageMaker's Spark processing image.

New AWS customers cannot use the Clarify image; ``compute="sagemaker_spark"`` runs the open engine's
Spark backend (``engine/spark``) as a SageMaker Processing job on the image the SDK's
``PySparkProcessor`` uses (``sagemaker-spark-processing:3.5-cpu-py312-v1``), with the request laid
out exactly as ``PySparkProcessor.run`` lays it out (``tests/data/sdk/make_spark_processing_fixtures.py``
captures the SDK's request; the tests compare field by field):

* ``AppSpecification``: the region's Spark image, ``ContainerEntrypoint`` ``["smspark-submit",
  "--py-files", "/opt/ml/processing/input/py-files", "/opt/ml/processing/input/code/clarify_spark_entry.py"]``;
* inputs, in the SDK's order: the caller's (``dataset`` at ``/opt/ml/processing/input/data``,
  ``analysis_config`` at ``.../input/config``, ``dependencies`` at ``.../input/dependencies``), then
  ``py-files`` (this package as one zip) and ``code`` (the entry script), staged under
  ``<config base>/<job name>/input/`` as the SDK stages them under ``s3://<bucket>/<job name>/input/``;
* one output ``analysis_result`` (``/opt/ml/processing/output``, ``EndOfJob``).

The job has no internet access: the third-party libraries the engine needs and the image lacks
(pyarrow, numpy >= 2.3, scikit-learn, jsonschema, ...; see :data:`BUNDLE_REQUIREMENTS`) travel as the
``dependencies`` input, a zip of manylinux wheels for CPython 3.12 (``spark_bundle.py`` builds it).

What the Spark backend computes is checked when the plan is built (``analysis/plan.py``, with the
engine's own rule :func:`~airflow_provider_clarify.analysis.capabilities.spark_problems`), so an
unsupported config fails before any upload or spend.

Pure Python: no Airflow, boto3 or numeric imports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr
from airflow_provider_clarify.analysis.processing_job import (
    _DATA_TYPES,
    CONFIG_LOCAL_PATH,
    DATASET_LOCAL_PATH,
    OUTPUT_LOCAL_PATH,
    _choice,
    _environment,
    _error,
    _experiment_config,
    _int_in_range,
    _network_config,
    _optional_text,
    _s3_input,
    _tags,
    _validate_s3_uri,
    validate_job_name,
    validate_role_arn,
)
from airflow_provider_clarify.analysis.spark_images import (
    SPARK_FRAMEWORK_VERSIONS,
    SPARK_IMAGE_REGISTRIES,
    SPARK_IMAGE_REPOSITORY,
)

__all__ = [
    "BUNDLE_PLATFORMS",
    "BUNDLE_PYTHON_VERSION",
    "BUNDLE_REQUIREMENTS",
    "ENTRY_FILE_NAME",
    "PACKAGE_ZIP_NAME",
    "SPARK_FRAMEWORK_VERSION",
    "bundle_key",
    "default_dependencies_uri",
    "spark_image_uri",
    "spark_processing_job_request",
    "staging_uris",
]

# --- the image -------------------------------------------------------------------------------------------

#: The Spark framework version the engine runs on: the only one with a Python >= 3.11 image (py312).
SPARK_FRAMEWORK_VERSION = "3.5"
#: Python of that image (``PySparkProcessor(py_version="py312")``); the package needs Python >= 3.11.
SPARK_PY_VERSION = "py312"
#: The image build (``PySparkProcessor(container_version="1")`` -> tag suffix ``-v1``).
SPARK_CONTAINER_VERSION = "1"


def spark_image_uri(region: str, version: str | None = None) -> str:
    """The SageMaker Spark processing image for ``region``: ``<registry>/sagemaker-spark-processing:3.5-cpu-py312-v1``.

    What ``PySparkProcessor(framework_version="3.5", py_version="py312", container_version="1")``
    picks. Older Spark images (2.4 to 3.3) have Python 3.7 or 3.9, which this package does not run on.

    :raises ClarifyConfigError: an unknown region (the message lists them) or another version.
    """
    if version is not None and str(version) != SPARK_FRAMEWORK_VERSION:
        others = ", ".join(v for v in SPARK_FRAMEWORK_VERSIONS if v != SPARK_FRAMEWORK_VERSION)
        raise ClarifyConfigError(
            f"version is {short_repr(version)}; the open engine runs on the Spark {SPARK_FRAMEWORK_VERSION} "
            f"image (Python 3.12). The SDK's other Spark images ({others}) have Python 3.7 or 3.9, "
            "which this package does not support. Leave version unset or pass '3.5'.",
            field="version",
            value=version,
            accepted=f"None or {SPARK_FRAMEWORK_VERSION!r}",
        )
    if not isinstance(region, str) or region not in SPARK_IMAGE_REGISTRIES:
        supported = ", ".join(sorted(SPARK_IMAGE_REGISTRIES))
        raise ClarifyConfigError(
            f"region is {short_repr(region)}, which has no SageMaker Spark processing image. Supported "
            f"region(s): {supported}. Pass one of them (region_name of the connection) or give image_uri.",
            field="region",
            value=region,
            accepted=f"one of: {supported}",
        )
    tag = f"{SPARK_FRAMEWORK_VERSION}-cpu-{SPARK_PY_VERSION}-v{SPARK_CONTAINER_VERSION}"
    return f"{SPARK_IMAGE_REGISTRIES[region]}/{SPARK_IMAGE_REPOSITORY}:{tag}"


# --- what travels with the job ---------------------------------------------------------------------------

INPUT_BASE = "/opt/ml/processing/input/"
CODE_INPUT = "code"
PY_FILES_INPUT = "py-files"
DEPENDENCIES_INPUT = "dependencies"
DEPENDENCIES_LOCAL_PATH = INPUT_BASE + DEPENDENCIES_INPUT
#: The entry script as uploaded (the source is ``engine/spark/sagemaker_entry.py``).
ENTRY_FILE_NAME = "clarify_spark_entry.py"
#: This package, zipped, for ``--py-files``.
PACKAGE_ZIP_NAME = "airflow_provider_clarify.zip"
#: The dependency bundle's file name inside the ``dependencies`` input.
BUNDLE_FILE_NAME = "clarify-spark-deps.zip"

#: Third-party libraries the engine's Spark path imports that the Spark 3.5 py312 image lacks (it has
#: numpy 1.26.4, pandas 3.0.2, jinja2, rich, psutil, joblib: smsparkbuild/py312/Pipfile.runtime.lock
#: of aws/sagemaker-spark-container) or has too old (numpy: the engine's floor is 2.3). pip resolves
#: their dependencies (scipy, threadpoolctl, attrs, referencing, rpds-py, ...) into the bundle too.
BUNDLE_REQUIREMENTS: tuple[str, ...] = (
    "numpy>=2.3",
    "pyarrow>=16",
    "scikit-learn>=1.4.2",
    "jsonschema>=4.26",
)
#: CPython of the image, and the wheel platforms of its x86_64 Amazon Linux 2023 (glibc 2.34).
BUNDLE_PYTHON_VERSION = "3.12"
BUNDLE_PLATFORMS: tuple[str, ...] = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")


def bundle_key(
    requirements: tuple[str, ...] = BUNDLE_REQUIREMENTS,
    python_version: str = BUNDLE_PYTHON_VERSION,
    platforms: tuple[str, ...] = BUNDLE_PLATFORMS,
) -> str:
    """16 hex digits naming a dependency bundle: the same requirements and platform, the same key."""
    text = json.dumps([list(requirements), python_version, list(platforms)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def default_dependencies_uri(config_base_uri: str) -> str:
    """Where the operator keeps the bundle it builds: ``<config base>/spark-dependencies/<key>/<file>``.

    Content-addressed, so it is built and uploaded once and shared by every later job.
    """
    return f"{str(config_base_uri).rstrip('/')}/spark-dependencies/{bundle_key()}/{BUNDLE_FILE_NAME}"


def staging_uris(config_base_uri: str, job_name: str) -> dict[str, str]:
    """The S3 URIs the job's code is staged at, as the SDK stages them (one place per job).

    ``code``: the entry script object; ``py-files``: the prefix holding the package zip (the input);
    ``package``: the zip object itself.
    """
    validate_job_name(job_name)
    base = f"{str(config_base_uri).rstrip('/')}/{job_name}/input"
    return {
        CODE_INPUT: f"{base}/{CODE_INPUT}/{ENTRY_FILE_NAME}",
        PY_FILES_INPUT: f"{base}/{PY_FILES_INPUT}",
        "package": f"{base}/{PY_FILES_INPUT}/{PACKAGE_ZIP_NAME}",
    }


# --- the request -----------------------------------------------------------------------------------------

#: The API's ceiling for a processing job's ``MaxRuntimeInSeconds`` (9 days; botocore's service model).
MAX_PROCESSING_RUNTIME_SECONDS = 777_600


def _isolation_allowed_network_config(network_config: Any) -> dict | None:
    """NetworkConfig in the API shape; unlike Clarify, the engine may run network-isolated."""
    if network_config is None:
        return None
    if hasattr(network_config, "to_request_dict"):
        network_config = network_config.to_request_dict()
    if not isinstance(network_config, Mapping):
        raise _error("network_config", network_config, "a dict in the API shape or an SDK NetworkConfig")
    isolation = network_config.get("EnableNetworkIsolation", False)
    if not isinstance(isolation, bool):
        raise _error("network_config.EnableNetworkIsolation", isolation, "True or False")
    request = _network_config({**network_config, "EnableNetworkIsolation": False})
    if request is not None:
        request["EnableNetworkIsolation"] = isolation
    return request


def spark_processing_job_request(
    *,
    job_name: str,
    role_arn: str,
    analysis_config_uri: str,
    dataset_uri: str,
    output_uri: str,
    dependencies_uri: str,
    staging_base_uri: str,
    instance_type: str,
    region: str | None = None,
    image_uri: str | None = None,
    version: str | None = None,
    instance_count: int = 1,
    volume_size_in_gb: int = 30,
    volume_kms_key: str | None = None,
    output_kms_key: str | None = None,
    max_runtime_in_seconds: int | None = None,
    env: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | list[dict[str, str]] | None = None,
    network_config: Any = None,
    experiment_config: Mapping[str, str] | None = None,
    s3_data_type: str = "S3Prefix",
) -> dict[str, Any]:
    """The CreateProcessingJob request of the open engine's Spark backend, as ``PySparkProcessor`` builds it.

    :param job_name: ProcessingJobName (1-63 letters, digits, hyphens).
    :param role_arn: IAM role ARN SageMaker assumes.
    :param analysis_config_uri: S3 URI of the job's ``analysis_config.json``.
    :param dataset_uri: S3 URI (prefix or object) of the dataset (CSV, JSON Lines or Parquet); copied to every instance.
    :param output_uri: S3 prefix for ``analysis.json`` (and ``report.html``).
    :param dependencies_uri: S3 URI of the dependency bundle (:data:`BUNDLE_REQUIREMENTS` as wheels).
    :param staging_base_uri: where the entry script and package zip are staged
        (``<base>/<job name>/input/...``, :func:`staging_uris`).
    :param instance_type: e.g. ``ml.m5.xlarge`` (x86_64: the bundle holds x86_64 wheels).
    :param region: picks the Spark image unless ``image_uri`` is given.
    :param image_uri: an explicit image (a private mirror of the Spark 3.5 py312 image).
    :param version: the Spark framework version; only ``"3.5"``.
    :param instance_count: 1-100 instances; the Spark cluster spans all of them.
    :param volume_size_in_gb: 1-16384 (each instance holds a full copy of the dataset).
    :param max_runtime_in_seconds: 1-777600 (the API's 9 days); unset: the 24 h service default.
    :param env, tags, network_config, experiment_config, volume_kms_key, output_kms_key: as for
        :func:`~airflow_provider_clarify.analysis.processing_job.processing_job_request`, except that
        network isolation is allowed (the engine calls no AWS service from inside the job).
    :param s3_data_type: ``S3Prefix`` or ``ManifestFile`` for the dataset input.
    :raises ClarifyConfigError: for any invalid argument, naming it.
    """
    validate_job_name(job_name)
    validate_role_arn(role_arn)
    _validate_s3_uri(analysis_config_uri, "analysis_config_uri")
    _validate_s3_uri(dataset_uri, "dataset_uri")
    _validate_s3_uri(output_uri, "output_uri")
    _validate_s3_uri(dependencies_uri, "spark_dependencies_uri")
    staged = staging_uris(_validate_s3_uri(staging_base_uri, "staging_base_uri"), job_name)
    if (
        not isinstance(instance_type, str)
        or not instance_type.startswith("ml.")
        or instance_type.count(".") != 2
    ):
        raise _error("instance_type", instance_type, "a SageMaker instance type such as 'ml.m5.xlarge'")
    instance_count = _int_in_range(instance_count, "instance_count", 1, 100)
    volume_size_in_gb = _int_in_range(volume_size_in_gb, "volume_size_in_gb", 1, 16384)
    if max_runtime_in_seconds is not None:
        max_runtime_in_seconds = _int_in_range(
            max_runtime_in_seconds, "max_runtime_in_seconds", 1, MAX_PROCESSING_RUNTIME_SECONDS
        )
    volume_kms_key = _optional_text(volume_kms_key, "volume_kms_key")
    output_kms_key = _optional_text(output_kms_key, "output_kms_key")
    if image_uri:
        image_uri = _optional_text(image_uri, "image_uri", 255)
    else:
        if region is None:
            raise _error(
                "region", None, "an AWS region name", "Give region (or image_uri) to pick the image."
            )
        image_uri = spark_image_uri(region, version)
    s3_data_type = _choice(s3_data_type, "s3_data_type", _DATA_TYPES)
    environment = _environment(env)
    tag_list = _tags(tags)
    network = _isolation_allowed_network_config(network_config)
    experiment = _experiment_config(experiment_config)

    cluster: dict[str, Any] = {
        "InstanceType": instance_type,
        "InstanceCount": instance_count,
        "VolumeSizeInGB": volume_size_in_gb,
    }
    if volume_kms_key:
        cluster["VolumeKmsKeyId"] = volume_kms_key
    replicated = ("S3Prefix", "FullyReplicated", "None")
    inputs = [
        # every instance gets the whole dataset: Spark's executors read their splits from local disk
        _s3_input("dataset", dataset_uri, DATASET_LOCAL_PATH, s3_data_type, "FullyReplicated", "None"),
        _s3_input("analysis_config", analysis_config_uri, CONFIG_LOCAL_PATH, *replicated),
        _s3_input(DEPENDENCIES_INPUT, dependencies_uri, DEPENDENCIES_LOCAL_PATH, *replicated),
        _s3_input(PY_FILES_INPUT, staged[PY_FILES_INPUT], INPUT_BASE + PY_FILES_INPUT, *replicated),
        _s3_input(CODE_INPUT, staged[CODE_INPUT], INPUT_BASE + CODE_INPUT, *replicated),
    ]
    output_config: dict[str, Any] = {
        "Outputs": [
            {
                "OutputName": "analysis_result",
                "AppManaged": False,
                "S3Output": {"S3Uri": output_uri, "LocalPath": OUTPUT_LOCAL_PATH, "S3UploadMode": "EndOfJob"},
            }
        ]
    }
    if output_kms_key:
        output_config["KmsKeyId"] = output_kms_key
    request: dict[str, Any] = {
        "ProcessingJobName": job_name,
        "ProcessingResources": {"ClusterConfig": cluster},
        "AppSpecification": {
            "ImageUri": image_uri,
            "ContainerEntrypoint": [
                "smspark-submit",
                "--py-files",
                INPUT_BASE + PY_FILES_INPUT,
                f"{INPUT_BASE}{CODE_INPUT}/{ENTRY_FILE_NAME}",
            ],
        },
        "RoleArn": role_arn,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": output_config,
    }
    # PySparkProcessor always sends Environment (``env or {}``), so an empty one is sent too
    request["Environment"] = environment or {}
    if network:
        request["NetworkConfig"] = network
    if max_runtime_in_seconds is not None:
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": max_runtime_in_seconds}
    if tag_list:
        request["Tags"] = tag_list
    if experiment:
        request["ExperimentConfig"] = experiment
    return request
