"""``python -m airflow_provider_clarify.engine explain-server``: run the open explainer with uvicorn.

    python -m airflow_provider_clarify.engine explain-server \
        --explainer-config explainer.json --model-url http://127.0.0.1:8080 [--port 8081] \
        [--data-capture-config capture.json] [--endpoint-name NAME] [--endpoint-url URL]

``--explainer-config`` is the ``ExplainerConfig`` request dict sent to ``CreateEndpointConfig``
(``ExplainerConfig(...).to_request_dict()`` saved as JSON), or JSON text. Exit code 2 when it is
invalid, 0 after a clean shutdown.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from airflow_provider_clarify.engine.exit_codes import EXIT_CONFIG


def _json_arg(value: str) -> dict:
    text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
    return json.loads(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_clarify.engine explain-server",
        description="Serve SageMaker Clarify online explanations (ExplainerConfig) for any model server.",
    )
    parser.add_argument("--explainer-config", required=True, metavar="FILE_OR_JSON")
    parser.add_argument("--model-url", required=True, metavar="URL", help="model server (POST /invocations)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--data-capture-config", default=None, metavar="FILE_OR_JSON")
    parser.add_argument("--endpoint-name", default="open-explainer", help="name used in capture paths")
    parser.add_argument("--endpoint-url", default=None, metavar="URL", help="S3 endpoint (baseline, capture)")
    parser.add_argument("--model-timeout", type=float, default=60.0, help="seconds per model call")
    parser.add_argument("--invocation-timeout", type=float, default=60.0, help="seconds per invocation")
    parser.add_argument("--model-concurrency", type=int, default=16, help="model calls in flight")
    parser.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import uvicorn

    from airflow_provider_clarify.engine.explain_server.app import create_app
    from airflow_provider_clarify.engine.explain_server.errors import ExplainerConfigError

    try:
        app = create_app(
            _json_arg(args.explainer_config),
            args.model_url,
            data_capture_config=_json_arg(args.data_capture_config) if args.data_capture_config else None,
            endpoint_name=args.endpoint_name,
            model_timeout=args.model_timeout,
            invocation_timeout=args.invocation_timeout,
            model_concurrency=args.model_concurrency,
            storage_options={"endpoint_url": args.endpoint_url} if args.endpoint_url else None,
        )
    except (ExplainerConfigError, OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot start the explainer: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower())
    return 0
