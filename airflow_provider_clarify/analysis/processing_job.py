"""The CreateProcessingJob request of a SageMaker Clarify job, built and checked before any AWS call.

What the SageMaker Python SDK's ``SageMakerClarifyProcessor`` sends (``docs/job-request.md``):

* the Clarify container image for the region (``docs/job-request.md#image-uris``): ``<account>.dkr.<ecr host>/sagemaker-clarify-processing:1.0``;
* two inputs, ``dataset`` (``/opt/ml/processing/input/data``) then ``analysis_config``
  (``/opt/ml/processing/input/config``);
* one output ``analysis_result`` (``/opt/ml/processing/output``), uploaded ``EndOfJob`` except for
  image datasets (``application/x-image``), where the SDK uses ``Continuous``;
* ``ClusterConfig``, optional ``NetworkConfig``, ``StoppingCondition`` (Clarify allows at most 7 days),
  ``RoleArn``, ``Environment``, ``Tags`` and ``ExperimentConfig``.

Every argument is validated here against the API limits, and a bad one raises
:class:`ClarifyConfigError` naming the keyword, the value and what is accepted, so a typo never costs
an upload or a job. Job names are deterministic per task instance (:func:`stable_job_name`), at most
63 characters. Pure Python: no Airflow, boto3 or numeric imports.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from airflow_provider_clarify.analysis import constants as C
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr

# --- container image (docs/job-request.md#image-uris) -----------------------------------------------------------

CLARIFY_IMAGE_REPOSITORY = "sagemaker-clarify-processing"
CLARIFY_IMAGE_VERSION = "1.0"

#: Region -> ECR registry account of the Clarify image (the SDK's ``clarify.json``; 28 regions).
CLARIFY_IMAGE_ACCOUNTS: dict[str, str] = {
    "af-south-1": "811711786498",
    "ap-east-1": "098760798382",
    "ap-northeast-1": "377024640650",
    "ap-northeast-2": "263625296855",
    "ap-northeast-3": "912233562940",
    "ap-south-1": "452307495513",
    "ap-southeast-1": "834264404009",
    "ap-southeast-2": "007051062584",
    "ap-southeast-3": "705930551576",
    "ca-central-1": "675030665977",
    "cn-north-1": "122526803553",
    "cn-northwest-1": "122578899357",
    "eu-central-1": "017069133835",
    "eu-central-2": "730335477804",
    "eu-north-1": "763603941244",
    "eu-south-1": "638885417683",
    "eu-west-1": "131013547314",
    "eu-west-2": "440796970383",
    "eu-west-3": "341593696636",
    "me-south-1": "835444307964",
    "sa-east-1": "520018980103",
    "us-east-1": "205585389593",
    "us-east-2": "211330385671",
    "us-gov-west-1": "598674086554",
    "us-isof-east-1": "579539705040",
    "us-isof-south-1": "411392592546",
    "us-west-1": "740489534195",
    "us-west-2": "306415355426",
}


def _ecr_hostname(region: str) -> str:
    """ECR endpoint host of a region: commercial/GovCloud, China and ISO-F partitions differ."""
    if region.startswith("cn-"):
        return f"ecr.{region}.amazonaws.com.cn"
    if region.startswith("us-isof-"):
        return f"ecr.{region}.csp.hci.ic.gov"
    return f"ecr.{region}.amazonaws.com"


def clarify_image_uri(region: str, version: str | None = None) -> str:
    """The SageMaker Clarify processing image for ``region``.

    There is a single image version, ``1.0``; ``version`` may be ``None`` or ``"1.0"``. (The SDK ignores
    any other version with a warning; here it is rejected so a typo is not silently replaced.)

    :raises ClarifyConfigError: for a region without a Clarify image (the message lists them all).
    """
    if not isinstance(region, str) or region not in CLARIFY_IMAGE_ACCOUNTS:
        supported = ", ".join(sorted(CLARIFY_IMAGE_ACCOUNTS))
        raise ClarifyConfigError(
            f"region is {short_repr(region)}, which has no SageMaker Clarify image. Supported region(s): {supported}. "
            "Pass one of them (region_name of the connection) or give image_uri explicitly.",
            field="region",
            value=region,
            accepted=f"one of: {supported}",
        )
    if version is not None and str(version) != CLARIFY_IMAGE_VERSION:
        raise ClarifyConfigError(
            f"version is {short_repr(version)}; the Clarify image has only version {CLARIFY_IMAGE_VERSION!r}. "
            "Leave version unset (None) or pass '1.0'.",
            field="version",
            value=version,
            accepted=f"None or {CLARIFY_IMAGE_VERSION!r}",
        )
    account = CLARIFY_IMAGE_ACCOUNTS[region]
    return f"{account}.dkr.{_ecr_hostname(region)}/{CLARIFY_IMAGE_REPOSITORY}:{CLARIFY_IMAGE_VERSION}"


# --- job names (docs/job-request.md#job-names) ------------------------------------------------------------------

MAX_JOB_NAME_LENGTH = 63
JOB_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def sagemaker_timestamp(moment: datetime | None = None) -> str:
    """UTC ``%Y-%m-%d-%H-%M-%S-<milliseconds>``, e.g. ``2021-06-17-22-29-54-685`` (23 characters).

    The SDK takes the first three fractional digits of ``repr(time.time())``; this always writes three
    digits (zero-padded), so the length is constant.
    """
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d-%H-%M-%S}-{moment.microsecond // 1000:03d}"


def name_from_base(base: str, moment: datetime | None = None) -> str:
    """``base`` truncated so that ``base-<timestamp>`` fits in 63 characters: the SDK's default names
    of Model Monitor job definitions and schedules (``analysis/monitoring/requests.py``)."""
    timestamp = sagemaker_timestamp(moment)
    return f"{base[: MAX_JOB_NAME_LENGTH - len(timestamp) - 1]}-{timestamp}"


def validate_job_name(name: Any, field: str = "job_name") -> str:
    """Return ``name`` if it is a valid ProcessingJobName (1-63 characters, letters/digits/hyphens)."""
    if not isinstance(name, str) or not JOB_NAME_PATTERN.fullmatch(name):
        raise ClarifyConfigError(
            f"{field} is {short_repr(name)}; a SageMaker processing job name must be 1-63 characters of "
            "letters, digits and hyphens, starting and ending with a letter or digit "
            "(no underscores, dots or spaces). Fix the name or the prefix it is built from.",
            field=field,
            value=name,
            accepted="1-63 characters matching [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        )
    return name


def stable_job_name(prefix: str, key: str) -> str:
    """A deterministic job name: ``<prefix truncated>-<12 hex digits of sha256(key)>``, <= 63 characters.

    Give the same ``key`` (e.g. ``"dag_id|task_id|run_id|map_index"``) and you get the same name, which is
    how a retried task finds the job its first try started instead of paying for a second one.
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    base = prefix[: MAX_JOB_NAME_LENGTH - len(digest) - 1].rstrip("-")
    return validate_job_name(f"{base}-{digest}", field="job_name_prefix")


# --- analysis config location (docs/job-request.md#where-the-analysis-config-goes) ---------------------------------------------------

ANALYSIS_CONFIG_FILE = "analysis_config.json"
_S3_URI = re.compile(r"(https|s3)://([^/]+)/?(.*)", re.DOTALL)
MAX_S3_URI_LENGTH = 1024


def _validate_s3_uri(uri: Any, field: str) -> str:
    if not isinstance(uri, str) or not _S3_URI.fullmatch(uri) or len(uri) > MAX_S3_URI_LENGTH:
        raise ClarifyConfigError(
            f"{field} is {short_repr(uri)}; expected an S3 URI such as 's3://bucket/prefix' "
            f"(at most {MAX_S3_URI_LENGTH} characters). Upload local files to S3 first.",
            field=field,
            value=uri,
            accepted="s3://bucket/key (or https://), at most 1024 characters",
        )
    return uri


def analysis_config_upload_uri(base_uri: str, job_name: str | None = None) -> str:
    """Where the analysis config is uploaded: ``<base_uri>/analysis_config.json``.

    ``base_uri`` is ``DataConfig.s3_analysis_config_output_path`` or, when unset, ``s3_output_path``
    (the SDK's layout, so the config sits next to ``analysis.json``). Trailing slashes are stripped,
    avoiding the SDK's ``prefix//analysis_config.json`` key that breaks jobs. ``job_name`` is only used
    to name the job in the error message; the key does not depend on it (as in the SDK).
    """
    field = "s3_analysis_config_output_path or s3_output_path"
    if job_name is not None:
        field = f"{field} (job {job_name})"
    uri = _validate_s3_uri(base_uri, field)
    scheme, rest = uri.split("://", 1)
    bucket, _, key = rest.partition("/")
    key = "/".join(part for part in key.split("/") if part)
    return (
        f"{scheme}://{bucket}/{key}/{ANALYSIS_CONFIG_FILE}"
        if key
        else f"{scheme}://{bucket}/{ANALYSIS_CONFIG_FILE}"
    )


def job_analysis_config_uri(base_uri: str, job_name: str) -> str:
    """Where the config of job ``job_name`` is uploaded: ``<base_uri>/<job_name>/analysis_config.json``.

    One location per job, written only by the attempt that creates that job, so a later attempt
    (with a changed config) never rewrites what an earlier job was started with: re-attaching reads
    the config each job really ran.
    """
    validate_job_name(job_name)
    return analysis_config_upload_uri(f"{str(base_uri).rstrip('/')}/{job_name}", job_name)


def validate_role_arn(role_arn: Any) -> str:
    """Return ``role_arn`` if it is an IAM role ARN (what CreateProcessingJob accepts as ``RoleArn``)."""
    if not isinstance(role_arn, str) or not 20 <= len(role_arn) <= 2048 or not _ROLE_ARN.fullmatch(role_arn):
        raise _error(
            "role_arn",
            role_arn,
            "an IAM role ARN such as 'arn:aws:iam::111122223333:role/ClarifyRole'",
            "Pass the full ARN (operators expand a bare role name through IAM).",
        )
    return role_arn


def result_uri_from_description(description: Mapping[str, Any]) -> str | None:
    """The ``analysis_result`` output URI of a DescribeProcessingJob response (``None`` when absent)."""
    outputs = (description.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    for output in outputs:
        if output.get("OutputName") == "analysis_result":
            return (output.get("S3Output") or {}).get("S3Uri")
    return None


# --- the request (docs/job-request.md#what-the-request-contains) ---------------------------------------------------------

MAX_CLARIFY_RUNTIME_SECONDS = 604_800  # 7 days: the Clarify ceiling from the Developer Guide
DATASET_LOCAL_PATH = "/opt/ml/processing/input/data"
CONFIG_LOCAL_PATH = "/opt/ml/processing/input/config"
OUTPUT_LOCAL_PATH = "/opt/ml/processing/output"

_ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
_ENV_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_EXPERIMENT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}")
_EXPERIMENT_KEYS = ("ExperimentName", "TrialName", "TrialComponentDisplayName", "RunName")
_NETWORK_KEYS = ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "VpcConfig")
_DISTRIBUTION_TYPES = ("FullyReplicated", "ShardedByS3Key")
_DATA_TYPES = ("S3Prefix", "ManifestFile")


def _error(field: str, value: Any, accepted: str, hint: str = "") -> ClarifyConfigError:
    message = f"{field} is {short_repr(value)}; expected {accepted}."
    return ClarifyConfigError(f"{message} {hint}".strip(), field=field, value=value, accepted=accepted)


def _int_in_range(value: Any, field: str, low: int, high: int, hint: str = "") -> int:
    """An int within [low, high]; numeric strings (what Jinja renders) are accepted and converted."""
    number = value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise _error(field, value, f"an integer from {low} to {high}", hint)
    return number


def _optional_text(value: Any, field: str, max_length: int = 2048) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise _error(field, value, f"None or a non-empty string of at most {max_length} characters")
    return value


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _error(field, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def _environment(env: Any) -> dict[str, str] | None:
    if env is None:
        return None
    if not isinstance(env, Mapping):
        raise _error("env", env, "a dict of environment variable names to string values")
    if len(env) > 100:
        raise _error("env", f"<{len(env)} entries>", "at most 100 entries")
    for key, value in env.items():
        if not isinstance(key, str) or not _ENV_KEY.fullmatch(key) or len(key) > 256:
            raise _error(
                f"env[{key!r}]", key, "a variable name matching [a-zA-Z_][a-zA-Z0-9_]* (<= 256 chars)"
            )
        if not isinstance(value, str) or len(value) > 256:
            raise _error(f"env[{key!r}]", value, "a string of at most 256 characters", "Quote numbers.")
    return dict(env) or None


def _tags(tags: Any) -> list[dict[str, str]] | None:
    """Tags as the API list ``[{"Key", "Value"}]``; a plain ``{key: value}`` dict is converted."""
    if tags is None:
        return None
    if isinstance(tags, Mapping):
        items = [{"Key": k, "Value": v} for k, v in tags.items()]
    elif isinstance(tags, list | tuple):
        items = []
        for index, tag in enumerate(tags):
            if not isinstance(tag, Mapping) or set(tag) != {"Key", "Value"}:
                raise _error(f"tags[{index}]", tag, 'a dict {"Key": ..., "Value": ...}')
            items.append({"Key": tag["Key"], "Value": tag["Value"]})
    else:
        raise _error("tags", tags, 'a dict {key: value} or a list of {"Key": ..., "Value": ...}')
    if len(items) > 50:
        raise _error("tags", f"<{len(items)} tags>", "at most 50 tags")
    for item in items:
        key, value = item["Key"], item["Value"]
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise _error(f"tags[{key!r}]", key, "a key of 1-128 characters")
        if not isinstance(value, str) or len(value) > 256:
            raise _error(f"tags[{key!r}]", value, "a string value of at most 256 characters")
    return items or None


def _network_config(network_config: Any) -> dict | None:
    """NetworkConfig in the API shape (a dict, or an object with ``to_request_dict()`` like the SDK's)."""
    if network_config is None:
        return None
    if hasattr(network_config, "to_request_dict"):
        network_config = network_config.to_request_dict()
    if not isinstance(network_config, Mapping):
        raise _error("network_config", network_config, "a dict in the API shape or an SDK NetworkConfig")
    unknown = sorted(set(network_config) - set(_NETWORK_KEYS))
    if unknown:
        raise _error(
            f"network_config.{unknown[0]}", network_config[unknown[0]], "keys " + ", ".join(_NETWORK_KEYS)
        )
    isolation = network_config.get("EnableNetworkIsolation", False)
    if isolation is not False:
        raise _error(
            "network_config.EnableNetworkIsolation",
            isolation,
            "False",
            "Clarify calls SageMaker to create and invoke a shadow endpoint, so it cannot run isolated.",
        )
    request: dict[str, Any] = {"EnableNetworkIsolation": False}
    encryption = network_config.get("EnableInterContainerTrafficEncryption")
    if encryption is not None:
        if not isinstance(encryption, bool):
            raise _error("network_config.EnableInterContainerTrafficEncryption", encryption, "True or False")
        request["EnableInterContainerTrafficEncryption"] = encryption
    vpc = network_config.get("VpcConfig")
    if vpc is not None:
        if not isinstance(vpc, Mapping) or set(vpc) != {"SecurityGroupIds", "Subnets"}:
            raise _error(
                "network_config.VpcConfig", vpc, 'a dict {"SecurityGroupIds": [...], "Subnets": [...]}'
            )
        for key, high in (("SecurityGroupIds", 5), ("Subnets", 16)):
            ids = vpc[key]
            if (
                not isinstance(ids, list | tuple)
                or not 1 <= len(ids) <= high
                or not all(isinstance(i, str) and i for i in ids)
            ):
                raise _error(f"network_config.VpcConfig.{key}", ids, f"a list of 1-{high} id strings")
        request["VpcConfig"] = {
            "SecurityGroupIds": list(vpc["SecurityGroupIds"]),
            "Subnets": list(vpc["Subnets"]),
        }
    return request


def _experiment_config(experiment_config: Any) -> dict[str, str] | None:
    if experiment_config is None:
        return None
    if not isinstance(experiment_config, Mapping):
        raise _error(
            "experiment_config", experiment_config, "a dict with keys " + ", ".join(_EXPERIMENT_KEYS)
        )
    request: dict[str, str] = {}
    for key, value in experiment_config.items():
        if key not in _EXPERIMENT_KEYS:
            raise _error(f"experiment_config.{key}", value, "keys " + ", ".join(_EXPERIMENT_KEYS))
        if value is None:
            continue
        if key == "TrialComponentDisplayName":
            valid = isinstance(value, str) and 1 <= len(value) <= 120
        else:
            valid = isinstance(value, str) and bool(_EXPERIMENT_NAME.fullmatch(value))
        if not valid:
            raise _error(
                f"experiment_config.{key}",
                value,
                "1-120 letters, digits and hyphens (starting with a letter/digit)",
            )
        request[key] = value
    return request or None


def _s3_input(
    name: str, uri: str, local_path: str, data_type: str, distribution: str, compression: str
) -> dict:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": data_type,
            "S3InputMode": "File",
            "S3DataDistributionType": distribution,
            "S3CompressionType": compression,
        },
    }


def processing_job_request(
    *,
    job_name: str,
    role_arn: str,
    analysis_config_uri: str,
    dataset_uri: str | None,
    output_uri: str,
    instance_type: str,
    dataset_type: str = "text/csv",
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
    s3_data_distribution_type: str = "FullyReplicated",
    s3_compression_type: str = "None",
    s3_data_type: str = "S3Prefix",
) -> dict[str, Any]:
    """The CreateProcessingJob request for a Clarify job, as the SDK's ``SageMakerClarifyProcessor`` builds it.

    :param job_name: ProcessingJobName (1-63 letters, digits, hyphens); see :func:`stable_job_name`.
    :param role_arn: IAM role ARN SageMaker assumes (expand a bare role name to an ARN first).
    :param analysis_config_uri: S3 URI of the uploaded ``analysis_config.json``.
    :param dataset_uri: S3 URI (prefix or object) of the dataset; ``None`` omits the ``dataset`` input,
        which the service allows only when the analysis config itself carries ``dataset_uri``.
    :param output_uri: S3 prefix where the job writes ``analysis.json`` (``DataConfig.s3_output_path``).
    :param instance_type: e.g. ``ml.c5.xlarge`` (Clarify does not use GPUs).
    :param dataset_type: the config's ``dataset_type``; ``application/x-image`` switches the output to
        ``Continuous`` upload, as the SDK does.
    :param region: region of the job, used to pick the Clarify image unless ``image_uri`` is given.
    :param image_uri: an explicit image (e.g. a mirror in a private registry).
    :param version: image version; only ``"1.0"`` exists.
    :param instance_count: 1-100; more than 1 runs Clarify's Spark-distributed mode.
    :param volume_size_in_gb: 1-16384 (default 30).
    :param volume_kms_key: KMS key for the instance volume (``ClusterConfig.VolumeKmsKeyId``).
    :param output_kms_key: KMS key for the outputs (``ProcessingOutputConfig.KmsKeyId``).
    :param max_runtime_in_seconds: ``StoppingCondition``, 1-604800 (7 days); unset means the service
        default of 24 hours.
    :param env: container environment (<= 100 entries, string values).
    :param tags: ``{key: value}`` or the API list of ``{"Key", "Value"}`` (<= 50).
    :param network_config: API-shaped dict or an object with ``to_request_dict()``; network isolation
        must stay off for Clarify.
    :param experiment_config: ``ExperimentName`` / ``TrialName`` / ``TrialComponentDisplayName`` / ``RunName``.
    :param s3_data_distribution_type: dataset input distribution (``FullyReplicated`` or ``ShardedByS3Key``).
    :param s3_compression_type: dataset compression (``None`` or ``Gzip``).
    :param s3_data_type: ``S3Prefix`` or ``ManifestFile`` for the dataset input.
    :raises ClarifyConfigError: for any invalid argument, naming it.
    """
    validate_job_name(job_name)
    validate_role_arn(role_arn)
    _validate_s3_uri(analysis_config_uri, "analysis_config_uri")
    if dataset_uri is not None:
        _validate_s3_uri(dataset_uri, "dataset_uri")
    _validate_s3_uri(output_uri, "output_uri")
    if not isinstance(instance_type, str) or not re.fullmatch(r"ml\.[a-z0-9]+\.[a-z0-9]+", instance_type):
        raise _error("instance_type", instance_type, "a SageMaker instance type such as 'ml.c5.xlarge'")
    instance_count = _int_in_range(instance_count, "instance_count", 1, 100)
    volume_size_in_gb = _int_in_range(volume_size_in_gb, "volume_size_in_gb", 1, 16384)
    if max_runtime_in_seconds is not None:
        max_runtime_in_seconds = _int_in_range(
            max_runtime_in_seconds,
            "max_runtime_in_seconds",
            1,
            MAX_CLARIFY_RUNTIME_SECONDS,
            "A Clarify job may run at most 7 days (604800 s); leave it unset for the 24 h service default.",
        )
    volume_kms_key = _optional_text(volume_kms_key, "volume_kms_key")
    output_kms_key = _optional_text(output_kms_key, "output_kms_key")
    if image_uri is None:
        if region is None:
            raise _error(
                "region", None, "an AWS region name", "Give region (or image_uri) to pick the Clarify image."
            )
        image_uri = clarify_image_uri(region, version)
    else:
        image_uri = _optional_text(image_uri, "image_uri", 255)
    if not isinstance(dataset_type, str) or not dataset_type:
        raise _error("dataset_type", dataset_type, "the analysis config's dataset_type, e.g. 'text/csv'")
    distribution = _choice(s3_data_distribution_type, "s3_data_distribution_type", _DISTRIBUTION_TYPES)
    compression = _choice(s3_compression_type, "s3_compression_type", C.S3_COMPRESSION_TYPES)
    data_type = _choice(s3_data_type, "s3_data_type", _DATA_TYPES)
    environment = _environment(env)
    tag_list = _tags(tags)
    network = _network_config(network_config)
    experiment = _experiment_config(experiment_config)

    cluster: dict[str, Any] = {
        "InstanceType": instance_type,
        "InstanceCount": instance_count,
        "VolumeSizeInGB": volume_size_in_gb,
    }
    if volume_kms_key:
        cluster["VolumeKmsKeyId"] = volume_kms_key

    inputs = []
    if dataset_uri is not None:
        inputs.append(
            _s3_input("dataset", dataset_uri, DATASET_LOCAL_PATH, data_type, distribution, compression)
        )
    inputs.append(
        _s3_input(
            "analysis_config", analysis_config_uri, CONFIG_LOCAL_PATH, "S3Prefix", "FullyReplicated", "None"
        )
    )

    output_config: dict[str, Any] = {
        "Outputs": [
            {
                "OutputName": "analysis_result",
                "AppManaged": False,
                "S3Output": {
                    "S3Uri": output_uri,
                    "LocalPath": OUTPUT_LOCAL_PATH,
                    "S3UploadMode": "Continuous" if dataset_type == C.IMAGE else "EndOfJob",
                },
            }
        ]
    }
    if output_kms_key:
        output_config["KmsKeyId"] = output_kms_key

    request: dict[str, Any] = {
        "ProcessingJobName": job_name,
        "ProcessingResources": {"ClusterConfig": cluster},
        "AppSpecification": {"ImageUri": image_uri},
        "RoleArn": role_arn,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": output_config,
    }
    if max_runtime_in_seconds is not None:
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": max_runtime_in_seconds}
    if environment:
        request["Environment"] = environment
    if network:
        request["NetworkConfig"] = network
    if tag_list:
        request["Tags"] = tag_list
    if experiment:
        request["ExperimentConfig"] = experiment
    return request
