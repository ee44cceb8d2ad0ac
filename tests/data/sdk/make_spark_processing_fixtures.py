"""Write ``spark_processing_fixtures.json``: the requests the SDK's ``PySparkProcessor`` sends.

The oracle of ``tests/unit/analysis/test_spark_processing.py``: for each case, the keyword arguments
of our ``spark_processing_job_request`` and the CreateProcessingJob request the real SageMaker SDK
(v2) builds for the same job with ``PySparkProcessor(framework_version="3.5", py_version="py312",
container_version="1").run(submit_app=<entry script>, submit_py_files=[<package zip>], inputs=[dataset,
analysis_config, dependencies], outputs=[analysis_result])``; plus ``retrieve("spark", region, ...)``
for every region of the SDK's Spark config. No AWS call is made: the session is a real
``sagemaker.Session`` whose SageMaker client records the request and whose S3 resource swallows the
uploads (the SDK still computes every staged URI itself). Run in a scratch virtualenv:

    python3 -m venv /tmp/sdk-h27 && /tmp/sdk-h27/bin/pip install "sagemaker>=2.257,<3"
    SAGEMAKER_SUPPRESS_V2_WARNING=1 /tmp/sdk-h27/bin/python tests/data/sdk/make_spark_processing_fixtures.py

Never edit the JSON by hand and never regenerate it with our own code.
"""

from __future__ import annotations

import json
import tempfile
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from unittest import mock

import boto3
from sagemaker import image_uris
from sagemaker.network import NetworkConfig
from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.session import Session
from sagemaker.spark.processing import PySparkProcessor

HERE = Path(__file__).resolve().parent
COMMAND = (
    "SAGEMAKER_SUPPRESS_V2_WARNING=1 /tmp/sdk-h27/bin/python tests/data/sdk/make_spark_processing_fixtures.py"
)
ENTRY_FILE_NAME = "clarify_spark_entry.py"
PACKAGE_ZIP_NAME = "airflow_provider_clarify.zip"

BASE = {
    "job_name": "Clarify-Bias-0123456789ab",
    "role_arn": "arn:aws:iam::111122223333:role/ClarifyRole",
    "analysis_config_uri": "s3://stage-bucket/audits/Clarify-Bias-0123456789ab/analysis_config.json",
    "dataset_uri": "s3://data-bucket/credit/train.csv",
    "output_uri": "s3://data-bucket/audits/result",
    "dependencies_uri": "s3://stage-bucket/audits/spark-dependencies/abc/clarify-spark-deps.zip",
    "staging_bucket": "stage-bucket",
    "staging_prefix": "audits",
    "instance_type": "ml.m5.xlarge",
    "region": "us-east-1",
}
CASES = {
    "minimal": {},
    "every_option": {
        "region": "eu-west-1",
        "instance_count": 4,
        "volume_size_in_gb": 100,
        "volume_kms_key": "arn:aws:kms:eu-west-1:111122223333:key/vol",
        "output_kms_key": "arn:aws:kms:eu-west-1:111122223333:key/out",
        "max_runtime_in_seconds": 7200,
        "env": {"SPARK_LOG_LEVEL": "WARN"},
        "tags": [{"Key": "team", "Value": "fairness"}],
        "network_config": {
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1", "subnet-2"]},
        },
        "experiment_config": {"ExperimentName": "audits", "TrialName": "credit"},
        "s3_data_type": "ManifestFile",
    },
    "china_partition_folder_dataset": {
        "region": "cn-northwest-1",
        "dataset_uri": "s3://data-bucket/credit/parts/",
        "staging_prefix": "",
        "analysis_config_uri": "s3://stage-bucket/Clarify-Bias-0123456789ab/analysis_config.json",
    },
}


class _Uploads:
    """The S3 resource of the stub session: records uploads instead of sending them."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def Object(self, bucket: str, key: str):
        keys = self.keys

        class _Object:
            def upload_file(self, path, ExtraArgs=None, Callback=None):
                keys.append(f"s3://{bucket}/{key}")

        return _Object()


def sdk_request(arguments: dict) -> tuple[dict, list[str]]:
    boto = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=arguments["region"])
    client = mock.MagicMock()
    uploads = _Uploads()
    with mock.patch.object(Session, "default_bucket", return_value=arguments["staging_bucket"]):
        session = Session(
            boto_session=boto,
            sagemaker_client=client,
            default_bucket=arguments["staging_bucket"],
            default_bucket_prefix=arguments["staging_prefix"] or None,
        )
        session.s3_resource = uploads
        network = arguments.get("network_config")
        processor = PySparkProcessor(
            role=arguments["role_arn"],
            instance_type=arguments["instance_type"],
            instance_count=arguments.get("instance_count", 1),
            framework_version="3.5",
            py_version="py312",
            container_version="1",
            volume_size_in_gb=arguments.get("volume_size_in_gb", 30),
            volume_kms_key=arguments.get("volume_kms_key"),
            output_kms_key=arguments.get("output_kms_key"),
            max_runtime_in_seconds=arguments.get("max_runtime_in_seconds"),
            env=arguments.get("env"),
            tags=arguments.get("tags"),
            network_config=None
            if network is None
            else NetworkConfig(
                enable_network_isolation=network["EnableNetworkIsolation"],
                encrypt_inter_container_traffic=network["EnableInterContainerTrafficEncryption"],
                security_group_ids=network["VpcConfig"]["SecurityGroupIds"],
                subnets=network["VpcConfig"]["Subnets"],
            ),
            sagemaker_session=session,
        )
        with tempfile.TemporaryDirectory() as folder:
            app = Path(folder) / ENTRY_FILE_NAME
            app.write_text("print('entry')\n")
            package = Path(folder) / PACKAGE_ZIP_NAME
            package.write_bytes(b"PK\x05\x06" + bytes(18))
            processor.run(
                submit_app=str(app),
                submit_py_files=[str(package)],
                inputs=[
                    ProcessingInput(
                        source=arguments["dataset_uri"],
                        destination="/opt/ml/processing/input/data",
                        input_name="dataset",
                        s3_data_type=arguments.get("s3_data_type", "S3Prefix"),
                    ),
                    ProcessingInput(
                        source=arguments["analysis_config_uri"],
                        destination="/opt/ml/processing/input/config",
                        input_name="analysis_config",
                    ),
                    ProcessingInput(
                        source=arguments["dependencies_uri"],
                        destination="/opt/ml/processing/input/dependencies",
                        input_name="dependencies",
                    ),
                ],
                outputs=[
                    ProcessingOutput(
                        source="/opt/ml/processing/output",
                        destination=arguments["output_uri"],
                        output_name="analysis_result",
                    )
                ],
                job_name=arguments["job_name"],
                experiment_config=arguments.get("experiment_config"),
                wait=False,
                logs=False,
            )
    return client.create_processing_job.call_args.kwargs, uploads.keys


def main() -> None:
    config = json.loads((files("sagemaker") / "image_uri_config" / "spark.json").read_text())
    regions = sorted(config["processing"]["versions"]["3.5"]["registries"])
    fixtures = {
        "produced_by": {"sagemaker": version("sagemaker")},
        "command": COMMAND,
        "image_uris": {
            region: image_uris.retrieve(
                "spark",
                region,
                version="3.5",
                instance_type="ml.m5.xlarge",
                py_version="py312",
                container_version="v1",
            )
            for region in regions
        },
        "requests": {},
    }
    for name, overrides in CASES.items():
        arguments = {**BASE, **overrides}
        request, uploaded = sdk_request(arguments)
        fixtures["requests"][name] = {"arguments": arguments, "request": request, "uploaded": uploaded}
    (HERE / "spark_processing_fixtures.json").write_text(json.dumps(fixtures, indent=1) + "\n")
    print(f"wrote {HERE / 'spark_processing_fixtures.json'}")


if __name__ == "__main__":
    main()
