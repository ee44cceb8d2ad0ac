"""Write ``airflow_provider_clarify/analysis/spark_images.py``: the SageMaker Spark processing image
registries, generated from the SageMaker Python SDK's own image-URI configuration.

The SDK's ``sagemaker/image_uri_config/spark.json`` lists, per Spark framework version, the ECR
registry account of every region; ``sagemaker.image_uris.retrieve("spark", region, ...)`` turns it
into a URI (the ECR host differs by partition). This script writes both, for the framework version
the open engine runs on (its Python image), so nothing in the table is typed by hand:

    python3 -m venv /tmp/sdk-h27 && /tmp/sdk-h27/bin/pip install "sagemaker>=2.257,<3"
    SAGEMAKER_SUPPRESS_V2_WARNING=1 /tmp/sdk-h27/bin/python tests/data/sdk/make_spark_images.py

``tests/unit/analysis/test_spark_processing.py`` checks every region's URI against the SDK's
``retrieve`` output stored by ``make_spark_processing_fixtures.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

from sagemaker import image_uris

REPO = Path(__file__).resolve().parents[3]
TARGET = REPO / "airflow_provider_clarify" / "analysis" / "spark_images.py"
FRAMEWORK_VERSION = "3.5"
PY_VERSION = "py312"
CONTAINER_VERSION = "v1"
COMMAND = "SAGEMAKER_SUPPRESS_V2_WARNING=1 /tmp/sdk-h27/bin/python tests/data/sdk/make_spark_images.py"


def main() -> None:
    config = json.loads((files("sagemaker") / "image_uri_config" / "spark.json").read_text())
    block = config["processing"]["versions"][FRAMEWORK_VERSION]
    registries: dict[str, str] = {}
    for region, account in sorted(block["registries"].items()):
        uri = image_uris.retrieve(
            "spark",
            region,
            version=FRAMEWORK_VERSION,
            instance_type="ml.m5.xlarge",
            py_version=PY_VERSION,
            container_version=CONTAINER_VERSION,
        )
        host, _, _ = uri.partition("/")
        assert host.startswith(f"{account}.dkr."), (region, uri)
        registries[region] = host
    lines = [
        '"""SageMaker Spark processing image registries (GENERATED: do not edit).',
        "",
        f"Made by ``tests/data/sdk/make_spark_images.py`` from sagemaker {version('sagemaker')}'s",
        f"``image_uri_config/spark.json`` (framework version {FRAMEWORK_VERSION}, {len(registries)} regions) and",
        "``sagemaker.image_uris.retrieve``. Regenerate with:",
        "",
        f"    {COMMAND}",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"SPARK_IMAGE_REPOSITORY = {json.dumps(block['repository'])}",
        "SPARK_FRAMEWORK_VERSIONS = ("
        + ", ".join(json.dumps(v) for v in config["processing"]["versions"])
        + ")",
        "SPARK_PY_VERSIONS = (" + ", ".join(json.dumps(v) for v in block["py_versions"]) + ")",
        "",
        f"#: Region -> ECR registry host of the Spark {FRAMEWORK_VERSION} processing image.",
        "SPARK_IMAGE_REGISTRIES: dict[str, str] = {",
        *(f'    "{region}": "{host}",' for region, host in registries.items()),
        "}",
        "",
    ]
    TARGET.write_text("\n".join(lines))
    subprocess.run([sys.executable, "-c", f"import ast; ast.parse(open({str(TARGET)!r}).read())"], check=True)
    print(f"wrote {TARGET} ({len(registries)} regions)")


if __name__ == "__main__":
    main()
