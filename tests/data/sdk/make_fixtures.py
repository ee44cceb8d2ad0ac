"""Write ``sdk_fixtures.json``: what the SageMaker Python SDK builds and accepts, for the tests.

The tests compare our configs' output with it byte for byte (key order included) and our schema's
verdicts with the SDK's. Run it with the SDK v2 (``sagemaker.clarify``; the project's parity claims
were checked against it) in a scratch virtualenv, never in the project's environment:

    python3 -m venv /tmp/sdkvenv && /tmp/sdkvenv/bin/pip install "sagemaker>=2.257,<3"
    SAGEMAKER_SUPPRESS_V2_WARNING=1 /tmp/sdkvenv/bin/python tests/data/sdk/make_fixtures.py

Never edit ``sdk_fixtures.json`` by hand and never regenerate it with our own code: it is the oracle.
"""

from __future__ import annotations

import copy
import json
import sys
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cases  # noqa: E402  (the shared case definitions beside this script)
import schema_cases  # noqa: E402
from sagemaker import clarify  # noqa: E402

COMMAND = "SAGEMAKER_SUPPRESS_V2_WARNING=1 /tmp/sdkvenv/bin/python tests/data/sdk/make_fixtures.py"


def compose(kind: str, **kw) -> dict:
    """Our factory names and keywords, called on the SDK's ``_AnalysisConfigGenerator``."""
    generator = clarify._AnalysisConfigGenerator
    if kind == "pre_training_bias":
        return generator.bias_pre_training(kw["data_config"], kw["bias_config"], kw.get("methods", "all"))
    if kind == "post_training_bias":
        return generator.bias_post_training(
            kw["data_config"], kw["bias_config"], kw.get("model_predicted_label_config"),
            kw.get("methods", "all"), kw.get("model_config"),
        )  # fmt: skip
    if kind == "explainability":
        return generator.explainability(
            kw["data_config"], kw["model_config"], kw.get("model_scores"), kw["explainability_config"]
        )
    return getattr(generator, kind)(**kw)  # bias, bias_and_explainability: same keywords


def sdk_verdict(config: dict) -> bool:
    try:
        clarify.ANALYSIS_CONFIG_SCHEMA_V1_0.validate(copy.deepcopy(config))
    except Exception:  # the schema library's SchemaError
        return False
    return True


def main() -> None:
    fixtures = {
        "produced_by": {"sagemaker": version("sagemaker"), "schema": version("schema")},
        "command": COMMAND,
        "composition": {name: config for name, config in cases.composition_cases(clarify, compose)},
        "configs": {name: cases.emit(config) for name, config in cases.config_cases(clarify)},
        "schema": {
            "base": schema_cases.FULL,
            "verdicts": [
                {
                    "path": path,
                    "value": value,
                    "valid": sdk_verdict(schema_cases.with_(path, value, schema_cases.FULL)),
                }
                for path, value in schema_cases.mutations()
            ],
        },
    }
    out = HERE / "sdk_fixtures.json"
    # one line per verdict keeps the file short and diffable
    verdicts = fixtures["schema"]["verdicts"]
    fixtures["schema"]["verdicts"] = "@VERDICTS@"
    lines = ",\n   ".join(json.dumps(case, ensure_ascii=False) for case in verdicts)
    text = json.dumps(fixtures, indent=1, ensure_ascii=False).replace('"@VERDICTS@"', f"[\n   {lines}\n  ]")
    fixtures["schema"]["verdicts"] = verdicts
    out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(fixtures['composition'])} compositions, {len(fixtures['configs'])} configs, "
          f"{len(fixtures['schema']['verdicts'])} schema verdicts")  # fmt: skip


if __name__ == "__main__":
    main()
