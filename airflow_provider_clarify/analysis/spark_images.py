"""SageMaker Spark processing image registries (GENERATED: do not edit).

Made by ``tests/data/sdk/make_spark_images.py`` from sagemaker 2.257.7's
``image_uri_config/spark.json`` (framework version 3.5, 37 regions) and
``sagemaker.image_uris.retrieve``. Regenerate with:

    SAGEMAKER_SUPPRESS_V2_WARNING=1 /tmp/sdk-h27/bin/python tests/data/sdk/make_spark_images.py
"""

from __future__ import annotations

SPARK_IMAGE_REPOSITORY = "sagemaker-spark-processing"
SPARK_FRAMEWORK_VERSIONS = ("2.4", "3.0", "3.1", "3.2", "3.3", "3.5")
SPARK_PY_VERSIONS = ("py39", "py312")

#: Region -> ECR registry host of the Spark 3.5 processing image.
SPARK_IMAGE_REGISTRIES: dict[str, str] = {
    "af-south-1": "309385258863.dkr.ecr.af-south-1.amazonaws.com",
    "ap-east-1": "732049463269.dkr.ecr.ap-east-1.amazonaws.com",
    "ap-east-2": "533267296287.dkr.ecr.ap-east-2.amazonaws.com",
    "ap-northeast-1": "411782140378.dkr.ecr.ap-northeast-1.amazonaws.com",
    "ap-northeast-2": "860869212795.dkr.ecr.ap-northeast-2.amazonaws.com",
    "ap-northeast-3": "102471314380.dkr.ecr.ap-northeast-3.amazonaws.com",
    "ap-south-1": "105495057255.dkr.ecr.ap-south-1.amazonaws.com",
    "ap-south-2": "873151114052.dkr.ecr.ap-south-2.amazonaws.com",
    "ap-southeast-1": "759080221371.dkr.ecr.ap-southeast-1.amazonaws.com",
    "ap-southeast-2": "440695851116.dkr.ecr.ap-southeast-2.amazonaws.com",
    "ap-southeast-3": "800295151634.dkr.ecr.ap-southeast-3.amazonaws.com",
    "ap-southeast-4": "819679513684.dkr.ecr.ap-southeast-4.amazonaws.com",
    "ap-southeast-5": "841784149062.dkr.ecr.ap-southeast-5.amazonaws.com",
    "ap-southeast-7": "471112967968.dkr.ecr.ap-southeast-7.amazonaws.com",
    "ca-central-1": "446299261295.dkr.ecr.ca-central-1.amazonaws.com",
    "ca-west-1": "000907499111.dkr.ecr.ca-west-1.amazonaws.com",
    "cn-north-1": "671472414489.dkr.ecr.cn-north-1.amazonaws.com.cn",
    "cn-northwest-1": "844356804704.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
    "eu-central-1": "906073651304.dkr.ecr.eu-central-1.amazonaws.com",
    "eu-central-2": "142351485170.dkr.ecr.eu-central-2.amazonaws.com",
    "eu-north-1": "330188676905.dkr.ecr.eu-north-1.amazonaws.com",
    "eu-south-1": "753923664805.dkr.ecr.eu-south-1.amazonaws.com",
    "eu-south-2": "833944533722.dkr.ecr.eu-south-2.amazonaws.com",
    "eu-west-1": "571004829621.dkr.ecr.eu-west-1.amazonaws.com",
    "eu-west-2": "836651553127.dkr.ecr.eu-west-2.amazonaws.com",
    "eu-west-3": "136845547031.dkr.ecr.eu-west-3.amazonaws.com",
    "il-central-1": "408426139102.dkr.ecr.il-central-1.amazonaws.com",
    "me-central-1": "395420993607.dkr.ecr.me-central-1.amazonaws.com",
    "me-south-1": "750251592176.dkr.ecr.me-south-1.amazonaws.com",
    "mx-central-1": "211125459255.dkr.ecr.mx-central-1.amazonaws.com",
    "sa-east-1": "737130764395.dkr.ecr.sa-east-1.amazonaws.com",
    "us-east-1": "173754725891.dkr.ecr.us-east-1.amazonaws.com",
    "us-east-2": "314815235551.dkr.ecr.us-east-2.amazonaws.com",
    "us-gov-east-1": "260923028637.dkr.ecr.us-gov-east-1.amazonaws.com",
    "us-gov-west-1": "271483468897.dkr.ecr.us-gov-west-1.amazonaws.com",
    "us-west-1": "667973535471.dkr.ecr.us-west-1.amazonaws.com",
    "us-west-2": "153931337802.dkr.ecr.us-west-2.amazonaws.com",
}
